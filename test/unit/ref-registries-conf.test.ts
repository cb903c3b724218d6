import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomsError } from '../../src/errors.js';
import {
  EMPTY_REGISTRIES_CONF,
  MAX_REGISTRIES_CONF_BYTES,
  assertNotBlocked,
  findRegistryConfig,
  loadRegistriesConf,
  parseRegistriesConf,
  rewriteToLocation,
  type Reference,
} from '../../src/ref/index.js';

function configInvalid(text: string, message: RegExp): CustomsError {
  try {
    parseRegistriesConf(text, '/etc/customs/registries.conf');
  } catch (err) {
    assert.ok(err instanceof CustomsError);
    assert.equal(err.code, 'CONFIG_INVALID', err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail('expected CONFIG_INVALID');
}

const GOOD = `
unqualified-search-registries = ["Quay.io", "docker.io"]
short-name-mode = "permissive"

[aliases]
alpine = "docker.io/library/alpine"

[[registry]]
prefix = "example.com"
location = "mirror.internal:5000/example"
insecure = true

[[registry.mirror]]
location = "cache.internal/example"
pull-from-mirror = "digest-only"

[[registry]]
location = "evil.example"
blocked = true
`;

test('parses a version 2 registries.conf', () => {
  const conf = parseRegistriesConf(GOOD, '/etc/customs/registries.conf');
  assert.equal(conf.sourcePath, '/etc/customs/registries.conf');
  assert.deepEqual(conf.unqualifiedSearchRegistries, ['quay.io', 'docker.io']);
  assert.equal(conf.shortNameMode, 'permissive');
  assert.deepEqual([...conf.aliases], [['alpine', { registry: 'docker.io', repository: 'library/alpine' }]]);
  assert.deepEqual(conf.registries, [
    {
      prefix: 'example.com',
      location: 'mirror.internal:5000/example',
      insecure: true,
      blocked: false,
      mirrors: [{ location: 'cache.internal/example', insecure: false, pullFromMirror: 'digest-only' }],
      mirrorByDigestOnly: false,
    },
    {
      prefix: 'evil.example',
      location: 'evil.example',
      insecure: false,
      blocked: true,
      mirrors: [],
      mirrorByDigestOnly: false,
    },
  ]);
});

test('an empty file is the empty configuration', () => {
  const conf = parseRegistriesConf('', '/r');
  assert.deepEqual(conf.unqualifiedSearchRegistries, []);
  assert.equal(conf.shortNameMode, 'enforcing');
  assert.equal(conf.registries.length, 0);
});

test('refuses an unknown top-level key by name', () => {
  const err = configInvalid(
    'unqualified-search-registry = ["quay.io"]\n',
    /unknown key: expected one of .*, got "unqualified-search-registry"/,
  );
  assert.equal(err.exitCode, 2);
});

test('refuses unknown keys inside [[registry]] and [[registry.mirror]]', () => {
  configInvalid('[[registry]]\nlocation = "a.io"\nblock = true\n', /registry\[0\]: unknown key: .* got "block"/);
  configInvalid(
    '[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "b.io"\nweight = 1\n',
    /mirror\[0\]: unknown key/,
  );
});

test('refuses containers keys customs does not implement', () => {
  configInvalid('credential-helpers = ["x"]\n', /unsupported key "credential-helpers"/);
});

test('refuses the version 1 format with a hint to convert', () => {
  const err = configInvalid('[registries.search]\nregistries = ["docker.io"]\n', /version 1 format not supported/);
  assert.match(err.hint ?? '', /unqualified-search-registries/);
});

test('refuses invalid TOML, wrong types and invalid values', () => {
  configInvalid('unqualified-search-registries = [', /invalid TOML/);
  configInvalid('unqualified-search-registries = "quay.io"\n', /expected an array, got a string/);
  configInvalid(
    '[[registry]]\nlocation = "a.io"\nblocked = "yes"\n',
    /blocked: wrong type: expected true or false, got a string/,
  );
  configInvalid('short-name-mode = "lenient"\n', /short-name-mode: invalid value/);
  configInvalid('unqualified-search-registries = ["quay.io/ns"]\n', /invalid registry host/);
  configInvalid('[[registry]]\ninsecure = true\n', /missing key: expected prefix or location/);
});

test('refuses alias values that are not fully qualified and alias keys that are', () => {
  configInvalid('[aliases]\nalpine = "library/alpine"\n', /alias value is not fully qualified/);
  configInvalid('[aliases]\nalpine = "docker.io/library/alpine:3"\n', /unexpected tag or digest/);
  configInvalid('[aliases]\nalpine = "docker.io/alpine"\n', /library/);
  configInvalid('[aliases]\n"quay.io/alpine" = "docker.io/library/alpine"\n', /alias key is qualified/);
  configInvalid('[aliases]\nAlpine = "docker.io/library/alpine"\n', /lowercase/);
});

test('refuses duplicate prefixes, tag prefixes and malformed wildcards', () => {
  configInvalid(
    '[[registry]]\nlocation = "a.io"\n[[registry]]\nprefix = "A.io"\nlocation = "b.io"\n',
    /duplicate \[\[registry\]\] prefix/,
  );
  configInvalid('[[registry]]\nprefix = "a.io/x:1"\nlocation = "b.io"\n', /tag not supported/);
  configInvalid('[[registry]]\nprefix = "*.a.io/x"\nblocked = true\n', /invalid wildcard prefix/);
  configInvalid('[[registry]]\nprefix = "a.*.io"\nblocked = true\n', /invalid registry host/);
});

const ref = (registry: string, repository: string): Reference => ({ registry, repository, tag: '1' });

test('findRegistryConfig picks the longest matching prefix', () => {
  const conf = parseRegistriesConf(
    `
[[registry]]
location = "a.io"
[[registry]]
prefix = "a.io/team"
location = "b.io/mirror"
[[registry]]
prefix = "a.io/team/secret"
location = "a.io/team/secret"
blocked = true
`,
    '/r',
  );
  assert.equal(findRegistryConfig(conf, ref('a.io', 'x'))?.prefix, 'a.io');
  assert.equal(findRegistryConfig(conf, ref('a.io', 'team'))?.prefix, 'a.io/team');
  assert.equal(findRegistryConfig(conf, ref('a.io', 'team/x'))?.prefix, 'a.io/team');
  assert.equal(findRegistryConfig(conf, ref('a.io', 'teammate/x'))?.prefix, 'a.io');
  assert.equal(findRegistryConfig(conf, ref('a.io', 'team/secret/x'))?.prefix, 'a.io/team/secret');
  assert.equal(findRegistryConfig(conf, ref('a.io:5000', 'x')), undefined);
  assert.equal(findRegistryConfig(conf, ref('b.io', 'x')), undefined);
});

test('a non-wildcard prefix without location is its own location', () => {
  const conf = parseRegistriesConf('[[registry]]\nprefix = "a.io/x"\nblocked = true\n', '/r');
  assert.equal(conf.registries[0]?.location, 'a.io/x');
});

test('a wildcard prefix matches subdomains on any port but not the domain itself', () => {
  const conf = parseRegistriesConf('[[registry]]\nprefix = "*.Example.com"\nblocked = true\n', '/r');
  assert.equal(conf.registries[0]?.prefix, '*.example.com');
  assert.equal(conf.registries[0]?.location, undefined);
  assert.equal(findRegistryConfig(conf, ref('a.example.com', 'x'))?.blocked, true);
  assert.equal(findRegistryConfig(conf, ref('a.b.example.com:5000', 'x'))?.blocked, true);
  assert.equal(findRegistryConfig(conf, ref('example.com', 'x')), undefined);
  assert.equal(findRegistryConfig(conf, ref('notexample.com', 'x')), undefined);
});

test('an exact prefix beats a wildcard of the same length', () => {
  const conf = parseRegistriesConf(
    '[[registry]]\nprefix = "*.b.io"\nblocked = true\n[[registry]]\nprefix = "xy.b.io"\nlocation = "xy.b.io"\n',
    '/r',
  );
  assert.equal(findRegistryConfig(conf, ref('xy.b.io', 'x'))?.blocked, false);
});

test('rewriteToLocation replaces the prefix with the location', () => {
  const conf = parseRegistriesConf(
    `
[[registry]]
prefix = "example.com"
location = "mirror.internal:5000/example"
[[registry]]
prefix = "a.io/team"
location = "b.io"
[[registry]]
prefix = "c.io/x"
location = "d.io/y"
[[registry]]
prefix = "*.e.io"
location = "f.io/all"
[[registry]]
prefix = "*.g.io"
`,
    '/r',
  );
  assert.deepEqual(rewriteToLocation(conf, ref('example.com', 'lib/a')), {
    registry: 'mirror.internal:5000',
    repository: 'example/lib/a',
  });
  assert.deepEqual(rewriteToLocation(conf, ref('a.io', 'team/tool')), { registry: 'b.io', repository: 'tool' });
  assert.deepEqual(rewriteToLocation(conf, ref('c.io', 'x')), { registry: 'd.io', repository: 'y' });
  assert.deepEqual(rewriteToLocation(conf, ref('c.io', 'x/z')), { registry: 'd.io', repository: 'y/z' });
  assert.deepEqual(rewriteToLocation(conf, ref('q.e.io', 'z')), { registry: 'f.io', repository: 'all/z' });
  assert.deepEqual(rewriteToLocation(conf, ref('q.g.io', 'z')), { registry: 'q.g.io', repository: 'z' });
  assert.deepEqual(rewriteToLocation(conf, ref('other.io', 'z')), { registry: 'other.io', repository: 'z' });
  assert.throws(
    () => rewriteToLocation(conf, ref('a.io', 'team')),
    (err: unknown) =>
      err instanceof CustomsError && err.code === 'CONFIG_INVALID' && /leaves no repository/.test(err.message),
  );
});

test('assertNotBlocked refuses a blocked registry and a location that leads into one', () => {
  const conf = parseRegistriesConf(
    `
[[registry]]
location = "evil.example"
blocked = true
[[registry]]
prefix = "innocent.example"
location = "evil.example/proxy"
[[registry]]
prefix = "evil.example/allowed"
location = "evil.example/allowed"
`,
    '/etc/customs/registries.conf',
  );
  assert.throws(
    () => assertNotBlocked(conf, ref('evil.example', 'x')),
    (err: unknown) =>
      err instanceof CustomsError &&
      err.code === 'REGISTRY_BLOCKED' &&
      err.exitCode === 3 &&
      /reference "evil\.example\/x:1": registry blocked: .* prefix "evil\.example" with blocked = true/.test(
        err.message,
      ),
  );
  assert.throws(
    () => assertNotBlocked(conf, ref('innocent.example', 'x')),
    (err: unknown) =>
      err instanceof CustomsError &&
      err.code === 'REGISTRY_BLOCKED' &&
      /location evil\.example\/proxy\/x/.test(err.message),
  );
  assertNotBlocked(conf, ref('evil.example', 'allowed/x'));
  assertNotBlocked(conf, ref('quay.io', 'x'));
  assertNotBlocked(EMPTY_REGISTRIES_CONF, ref('evil.example', 'x'));
});

test('loadRegistriesConf reads the default path, treats a missing default as empty and a missing explicit path as an error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'customs-ref-'));
  try {
    const env = { CUSTOMS_CONFIG: dir };
    assert.equal(await loadRegistriesConf({ env }), EMPTY_REGISTRIES_CONF);
    await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = ["quay.io"]\n');
    const conf = await loadRegistriesConf({ env });
    assert.deepEqual(conf.unqualifiedSearchRegistries, ['quay.io']);
    assert.equal(conf.sourcePath, join(dir, 'registries.conf'));
    await assert.rejects(
      loadRegistriesConf({ env, path: join(dir, 'missing.conf') }),
      (err: unknown) =>
        err instanceof CustomsError && err.code === 'CONFIG_INVALID' && /cannot open: ENOENT/.test(err.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadRegistriesConf refuses directories, oversized files and invalid UTF-8', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'customs-ref-'));
  try {
    const env = {};
    await mkdir(join(dir, 'sub'));
    const isConfigInvalid = (re: RegExp) => (err: unknown) =>
      err instanceof CustomsError && err.code === 'CONFIG_INVALID' && re.test(err.message);
    await assert.rejects(
      loadRegistriesConf({ env, path: join(dir, 'sub') }),
      isConfigInvalid(/not a regular file|cannot/),
    );
    await writeFile(join(dir, 'big.conf'), Buffer.alloc(MAX_REGISTRIES_CONF_BYTES + 1, 0x20));
    await assert.rejects(loadRegistriesConf({ env, path: join(dir, 'big.conf') }), isConfigInvalid(/file too large/));
    await writeFile(join(dir, 'bad.conf'), Buffer.from([0x23, 0xff, 0xfe, 0x0a]));
    await assert.rejects(loadRegistriesConf({ env, path: join(dir, 'bad.conf') }), isConfigInvalid(/expected UTF-8/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
