import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { EMPTY_REGISTRIES_CONF, parseRegistriesConf, resolveName } from '../../src/ref/index.js';

const SHA = `sha256:${'b'.repeat(64)}`;

function refusal(fn: () => unknown): CustomsError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CustomsError);
    assert.equal(err.code, 'SHORT_NAME_REFUSED', err.message);
    assert.equal(err.exitCode, 3);
    return err;
  }
  assert.fail('expected SHORT_NAME_REFUSED');
}

test('a fully qualified reference resolves to itself', () => {
  assert.deepEqual(resolveName('quay.io/a/b:1', EMPTY_REGISTRIES_CONF), {
    registry: 'quay.io',
    repository: 'a/b',
    tag: '1',
  });
});

test('a short name is refused with a fully qualified example and never guessed', () => {
  const err = refusal(() => resolveName('alpine:3', EMPTY_REGISTRIES_CONF));
  assert.equal(
    err.message,
    'reference "alpine:3": short name refused: expected a fully qualified name such as docker.io/library/alpine:3, got no registry',
  );
  assert.match(err.hint ?? '', /"alpine" = "docker\.io\/library\/alpine"/);
});

test('a two-component short name is refused without adding library/', () => {
  const err = refusal(() => resolveName('library/alpine:3', EMPTY_REGISTRIES_CONF));
  assert.match(err.message, /such as docker\.io\/library\/alpine:3/);
  const err2 = refusal(() => resolveName(`someone/tool@${SHA}`, EMPTY_REGISTRIES_CONF));
  assert.match(err2.message, new RegExp(`such as docker\\.io/someone/tool@${SHA}`));
});

test('the refusal lists unqualified-search-registries candidates in order', () => {
  const conf = parseRegistriesConf('unqualified-search-registries = ["quay.io", "docker.io"]\n', '/etc/r.conf');
  const err = refusal(() => resolveName('alpine:3', conf));
  assert.match(err.message, /such as quay\.io\/alpine:3/);
  assert.match(
    err.message,
    /candidates from unqualified-search-registries: quay\.io\/alpine:3, docker\.io\/library\/alpine:3$/,
  );
  assert.deepEqual(err.details['candidates'], ['quay.io/alpine:3', 'docker.io/library/alpine:3']);
});

for (const mode of ['enforcing', 'permissive', 'disabled']) {
  test(`short-name-mode ${mode} with one search registry still refuses`, () => {
    const conf = parseRegistriesConf(
      `short-name-mode = "${mode}"\nunqualified-search-registries = ["quay.io"]\n`,
      '/r',
    );
    assert.equal(conf.shortNameMode, mode);
    refusal(() => resolveName('alpine:3', conf));
  });
}

test('an alias resolves a short name and keeps tag and digest', () => {
  const conf = parseRegistriesConf(
    '[aliases]\nalpine = "docker.io/library/alpine"\n"team/tool" = "registry.example.com:5000/team/tool"\n',
    '/r',
  );
  assert.deepEqual(resolveName('alpine:3', conf), { registry: 'docker.io', repository: 'library/alpine', tag: '3' });
  assert.deepEqual(resolveName(`team/tool:v1@${SHA}`, conf), {
    registry: 'registry.example.com:5000',
    repository: 'team/tool',
    tag: 'v1',
    digest: SHA,
  });
});

test('an alias is looked up by the name exactly as written', () => {
  const conf = parseRegistriesConf('[aliases]\nalpine = "docker.io/library/alpine"\n', '/r');
  refusal(() => resolveName('library/alpine:3', conf));
});

test('an aliased name still needs a tag or digest', () => {
  const conf = parseRegistriesConf('[aliases]\nalpine = "docker.io/library/alpine"\n', '/r');
  assert.throws(
    () => resolveName('alpine', conf),
    (err: unknown) => err instanceof CustomsError && err.code === 'REFERENCE_INVALID',
  );
});

test('docker.io/alpine is refused even with an alias for alpine', () => {
  const conf = parseRegistriesConf('[aliases]\nalpine = "docker.io/library/alpine"\n', '/r');
  const err = refusal(() => resolveName('docker.io/alpine:3', conf));
  assert.match(err.message, /docker\.io\/library\/alpine:3/);
});
