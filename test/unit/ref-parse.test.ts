import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import {
  apiHostFor,
  formatReference,
  parseQualifiedReference,
  parseReference,
  parseRepositoryName,
} from '../../src/ref/index.js';

const D64 = 'a'.repeat(64);
const SHA = `sha256:${D64}`;

function expectCode(fn: () => unknown, code: string, messagePart?: RegExp): CustomsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CustomsError, `expected a CustomsError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (messagePart !== undefined) assert.match(caught.message, messagePart);
  return caught;
}

const VALID_QUALIFIED: readonly [string, string, string, string | undefined, string | undefined][] = [
  ['docker.io/library/alpine:3', 'docker.io', 'library/alpine', '3', undefined],
  ['quay.io/a/b/c:v1.2-rc_3', 'quay.io', 'a/b/c', 'v1.2-rc_3', undefined],
  ['localhost/a:1', 'localhost', 'a', '1', undefined],
  ['localhost:5000/a/b:t', 'localhost:5000', 'a/b', 't', undefined],
  ['127.0.0.1:5000/x:latest', '127.0.0.1:5000', 'x', 'latest', undefined],
  ['[::1]:5000/a/b:t', '[::1]:5000', 'a/b', 't', undefined],
  ['[2001:db8::1]/a:t', '[2001:db8::1]', 'a', 't', undefined],
  ['Registry.Example.COM/a:t', 'registry.example.com', 'a', 't', undefined],
  ['r.io/a__b/c-d--e/f.g:T', 'r.io', 'a__b/c-d--e/f.g', 'T', undefined],
  [`r.io/a@${SHA}`, 'r.io', 'a', undefined, SHA],
  [`r.io/a:t@${SHA}`, 'r.io', 'a', 't', SHA],
  [`xn--bcher-kva.example:65535/a:${'t'.repeat(128)}`, 'xn--bcher-kva.example:65535', 'a', 't'.repeat(128), undefined],
];

for (const [input, registry, repository, tag, digest] of VALID_QUALIFIED) {
  test(`parses ${input} as a qualified reference`, () => {
    const parsed = parseReference(input);
    assert.equal(parsed.kind, 'qualified');
    if (parsed.kind !== 'qualified') return;
    const want = {
      registry,
      repository,
      ...(tag === undefined ? {} : { tag }),
      ...(digest === undefined ? {} : { digest }),
    };
    assert.deepEqual(parsed.reference, want);
    assert.deepEqual(parseReference(formatReference(parsed.reference)), parsed);
  });
}

test('a name whose first component has no dot, colon or localhost is short', () => {
  assert.deepEqual(parseReference('alpine:3'), { kind: 'short', name: { repository: 'alpine', tag: '3' } });
  assert.deepEqual(parseReference(`library/alpine@${SHA}`), {
    kind: 'short',
    name: { repository: 'library/alpine', digest: SHA },
  });
  assert.deepEqual(parseReference('localhost:5000'), { kind: 'short', name: { repository: 'localhost', tag: '5000' } });
});

const INVALID: readonly [string, RegExp][] = [
  ['', /empty reference/],
  ['quay.io/a', /missing tag or digest: expected quay\.io\/a:TAG or quay\.io\/a@sha256:…, got neither/],
  ['alpine', /missing tag or digest/],
  ['quay.io/Alpine:3', /repository must be lowercase: expected "alpine", got "Alpine"/],
  ['Alpine:3', /repository must be lowercase/],
  ['a//b:1', /empty component/],
  ['quay.io/a/:1', /trailing "\/"/],
  ['quay.io/:1', /missing repository|leading/],
  ['/a:1', /leading "\/"/],
  ['quay.io/a_-b:1', /invalid repository path component/],
  ['quay.io/a___b:1', /invalid repository path component/],
  ['quay.io/-a:1', /invalid repository path component/],
  ['quay.io/a:', /invalid tag: .* got an empty tag/],
  ['quay.io/a:-t', /invalid tag/],
  ['quay.io/a:.t', /invalid tag/],
  [`quay.io/a:${'t'.repeat(129)}`, /tag too long: expected at most 128 characters, got 129/],
  [`quay.io/${'a'.repeat(248)}:1`, /name too long: expected at most 255 characters, got 256/],
  ['quay.io/a@sha256:', /digest/],
  ['quay.io/a@sha256:abc', /expected 64 lowercase hex characters/],
  [`quay.io/a@sha256:${'A'.repeat(64)}`, /lowercase hex/],
  [`quay.io/a@md5:${'a'.repeat(32)}`, /unsupported digest algorithm/],
  [`quay.io/a@${SHA}@${SHA}`, /invalid digest/],
  ['quay.io/a@', /digest/],
  [`@${SHA}`, /missing repository/],
  ['quay.io:0/a:1', /invalid registry port/],
  ['quay.io:65536/a:1', /invalid registry port/],
  ['quay.io:05000/a:1', /without leading zeros/],
  ['quay.io:/a:1', /invalid registry port/],
  ['-quay.io/a:1', /invalid registry host/],
  ['quay..io/a:1', /empty label/],
  ['quay_io.x/a:1', /invalid registry host/],
  ['[::1/a:1', /invalid registry|IPv6/],
  ['[zz::1]:5000/a:1', /invalid IPv6 registry address/],
  ['[1:2:3]/a:1', /invalid IPv6 registry address/],
  ['[::1]x/a:1', /invalid registry/],
  ['0x7f.1/a:1', /ambiguous numeric registry host/],
  ['1.2.3/a:1', /ambiguous numeric registry host/],
  ['256.0.0.1/a:1', /ambiguous numeric registry host/],
  ['2130706433:80/a:1', /ambiguous numeric registry host/],
  ['quay.io/a b:1', /invalid repository path component/],
  ['quay.io/a\u202e:1', /"a\\u202e"/],
  ['quay.io/a\n:1', /"a\\u000a"/],
];

for (const [input, message] of INVALID) {
  test(`refuses ${JSON.stringify(input)} with REFERENCE_INVALID`, () => {
    const err = expectCode(() => parseReference(input), 'REFERENCE_INVALID', message);
    assert.equal(err.exitCode, 2);
    assert.ok(err.message.startsWith('reference "'), err.message);
  });
}

test('a missing tag is a usage error that says to add :TAG or @sha256', () => {
  const err = expectCode(() => parseReference('quay.io/a'), 'REFERENCE_INVALID');
  assert.equal(err.family, 'usage');
  assert.match(err.hint ?? '', /:TAG or @sha256:…/);
  assert.match(err.hint ?? '', /never assumes :latest/);
});

test('docker.io with a single-component repository is refused with the library/ form suggested', () => {
  const err = expectCode(() => parseReference('docker.io/alpine:3'), 'SHORT_NAME_REFUSED');
  assert.equal(err.exitCode, 3);
  assert.match(err.message, /expected docker\.io\/library\/alpine:3, got docker\.io\/alpine:3/);
  expectCode(
    () => parseReference(`docker.io/alpine@${SHA}`),
    'SHORT_NAME_REFUSED',
    /docker\.io\/library\/alpine@sha256:/,
  );
});

test('a registry with a 255-character name is accepted and 256 is refused', () => {
  const repo = 'a'.repeat(255 - 'quay.io/'.length);
  assert.equal(parseReference(`quay.io/${repo}:1`).kind, 'qualified');
  expectCode(() => parseReference(`quay.io/${repo}a:1`), 'REFERENCE_INVALID', /name too long/);
});

test('messages quote long input truncated', () => {
  const err = expectCode(() => parseReference('A'.repeat(10_000)), 'REFERENCE_INVALID');
  assert.ok(err.message.length < 1000, `message is ${err.message.length} characters`);
  assert.match(err.message, /…\(10000 characters\)/);
});

test('parseQualifiedReference refuses short names', () => {
  assert.deepEqual(parseQualifiedReference('quay.io/a:1'), { registry: 'quay.io', repository: 'a', tag: '1' });
  expectCode(() => parseQualifiedReference('a:1'), 'SHORT_NAME_REFUSED');
});

test('parseRepositoryName accepts names without tag or digest and refuses pins', () => {
  assert.deepEqual(parseRepositoryName('quay.io/a/b'), { kind: 'qualified', registry: 'quay.io', repository: 'a/b' });
  assert.deepEqual(parseRepositoryName('localhost:5000/a'), {
    kind: 'qualified',
    registry: 'localhost:5000',
    repository: 'a',
  });
  assert.deepEqual(parseRepositoryName('library/alpine'), { kind: 'short', repository: 'library/alpine' });
  expectCode(() => parseRepositoryName('quay.io/a:1'), 'REFERENCE_INVALID', /unexpected tag or digest/);
  expectCode(() => parseRepositoryName(`quay.io/a@${SHA}`), 'REFERENCE_INVALID', /unexpected tag or digest/);
});

test('apiHostFor maps docker.io to registry-1.docker.io and leaves other registries alone', () => {
  assert.equal(apiHostFor('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHostFor('quay.io'), 'quay.io');
  assert.equal(apiHostFor('localhost:5000'), 'localhost:5000');
});
