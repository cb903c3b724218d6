import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { configDir, registriesConfPath, storeDir } from '../../src/ref/index.js';

test('configDir prefers CUSTOMS_CONFIG, then an absolute XDG_CONFIG_HOME, then HOME/.config', () => {
  assert.equal(configDir({ CUSTOMS_CONFIG: '/c', XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/c');
  assert.equal(configDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/x/customs');
  assert.equal(configDir({ XDG_CONFIG_HOME: 'relative', HOME: '/h' }), '/h/.config/customs');
  assert.equal(configDir({ CUSTOMS_CONFIG: '', XDG_CONFIG_HOME: '', HOME: '/h' }), '/h/.config/customs');
  assert.equal(registriesConfPath({ HOME: '/h' }), '/h/.config/customs/registries.conf');
});

test('storeDir prefers the flag, then CUSTOMS_STORE, then XDG_DATA_HOME, then HOME/.local/share', () => {
  const env = { CUSTOMS_STORE: '/s', XDG_DATA_HOME: '/d', HOME: '/h' };
  assert.equal(storeDir('/flag', env), '/flag');
  assert.equal(storeDir(undefined, env), '/s');
  assert.equal(storeDir('', { XDG_DATA_HOME: '/d', HOME: '/h' }), '/d/customs/store');
  assert.equal(storeDir(undefined, { HOME: '/h' }), '/h/.local/share/customs/store');
});

test('configDir and storeDir refuse to guess when HOME is needed and missing', () => {
  assert.throws(
    () => configDir({}),
    (err: unknown) => err instanceof CustomsError && err.code === 'USAGE',
  );
  assert.throws(
    () => storeDir(undefined, { HOME: 'rel' }),
    (err: unknown) => err instanceof CustomsError && err.code === 'USAGE',
  );
});
