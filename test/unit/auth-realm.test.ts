import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { checkTokenRealm, isLinkLocalOrUnsafeHost, isLoopbackHost } from '../../src/registry/auth/index.js';

const REMOTE = new URL('https://registry.example');
const LOCAL = new URL('http://127.0.0.1:5000');

const refused: [string, string, URL][] = [
  ['the metadata address', 'http://169.254.169.254/latest/meta-data/', REMOTE],
  ['the metadata address over https', 'https://169.254.169.254/token', REMOTE],
  ['a link-local IPv6 host', 'https://[fe80::1]/token', REMOTE],
  ['an IPv4-mapped metadata address', 'https://[::ffff:169.254.169.254]/token', REMOTE],
  ['a NAT64 metadata address', 'https://[64:ff9b::a9fe:a9fe]/token', REMOTE],
  ['AWS IPv6 metadata', 'https://[fd00:ec2::254]/token', REMOTE],
  ['GCP metadata by name', 'https://metadata.google.internal/token', REMOTE],
  ['a decimal-integer IPv4 spelling', 'https://2852039166/token', REMOTE],
  ['a hex-integer IPv4 spelling', 'https://0xA9FEA9FE/token', REMOTE],
  ['a dotted-octal IPv4 spelling', 'https://0251.0376.0251.0376/token', REMOTE],
  ['the unspecified IPv4 address', 'https://0.0.0.0/token', REMOTE],
  ['the unspecified IPv6 address', 'https://[::]/token', REMOTE],
  ['a multicast address', 'https://224.0.0.1/token', REMOTE],
  ['an IPv6 multicast address', 'https://[ff02::1]/token', REMOTE],
  ['a cross-origin plain-HTTP realm (other port)', 'http://127.0.0.1:5001/token', LOCAL],
  ['a cross-origin plain-HTTP realm (other host)', 'http://auth.example/token', LOCAL],
  ['a plain-HTTP realm for an https registry', 'http://registry.example/token', REMOTE],
  ['userinfo in the realm', 'https://registry.example@evil.example/token', REMOTE],
  ['user and password in the realm', 'https://u:p@auth.example/token', REMOTE],
  ['a relative realm', '/token', REMOTE],
  ['a file: realm', 'file:///etc/passwd', REMOTE],
  ['garbage', 'not a url at all', REMOTE],
  ['a loopback realm from a remote registry', 'https://127.0.0.1:2375/token', REMOTE],
  ['localhost from a remote registry', 'https://localhost/token', REMOTE],
];

for (const [name, realm, registry] of refused) {
  test(`checkTokenRealm refuses ${name}`, () => {
    assert.throws(
      () => checkTokenRealm(realm, registry, { hasCredentials: true }),
      (err: unknown) =>
        err instanceof CustomsError && err.code === 'TOKEN_REALM_REFUSED' && /refused: /.test(err.message),
    );
  });
}

test('checkTokenRealm allows a cross-origin HTTPS realm and sends credentials (Docker Hub)', () => {
  const r = checkTokenRealm('https://auth.docker.io/token', new URL('https://registry-1.docker.io'), {
    hasCredentials: true,
  });
  assert.equal(r.url.href, 'https://auth.docker.io/token');
  assert.equal(r.sendCredentials, true);
});

test('checkTokenRealm allows a plain-HTTP realm on the loopback registry origin', () => {
  const r = checkTokenRealm('http://127.0.0.1:5000/auth/token?x=1#frag', LOCAL, { hasCredentials: true });
  assert.equal(r.url.href, 'http://127.0.0.1:5000/auth/token?x=1');
  assert.equal(r.sendCredentials, true);
});

test('checkTokenRealm allows a loopback HTTPS realm for a loopback registry', () => {
  const r = checkTokenRealm('https://localhost:5001/token', LOCAL, { hasCredentials: false });
  assert.equal(r.sendCredentials, false);
});

test('checkTokenRealm names the redacted realm and the rule in its message', () => {
  try {
    checkTokenRealm('http://169.254.169.254/?token=SECRETVALUE', REMOTE, { hasCredentials: true });
    assert.fail('expected a refusal');
  } catch (err) {
    assert.ok(err instanceof CustomsError);
    assert.match(err.message, /169\.254\.169\.254/);
    assert.match(err.message, /link-local/);
    assert.doesNotMatch(err.message, /SECRETVALUE/);
  }
});

test('isLoopbackHost recognizes loopback spellings', () => {
  for (const h of [
    '127.0.0.1',
    '127.9.9.9',
    '[::1]',
    '::1',
    'localhost',
    'LOCALHOST',
    'a.localhost',
    '[::ffff:7f00:1]',
  ]) {
    assert.equal(isLoopbackHost(h), true, h);
  }
  for (const h of ['128.0.0.1', 'example.com', '[::2]', 'localhost.example.com', '10.0.0.1']) {
    assert.equal(isLoopbackHost(h), false, h);
  }
});

test('isLinkLocalOrUnsafeHost classifies addresses', () => {
  for (const h of [
    '169.254.0.1',
    'fe80::1',
    '[febf::1]',
    '0.0.0.0',
    '0.1.2.3',
    '::',
    '239.1.1.1',
    '255.255.255.255',
    '::ffff:169.254.169.254',
    '::169.254.169.254',
  ]) {
    assert.equal(isLinkLocalOrUnsafeHost(h), true, h);
  }
  for (const h of [
    '1.1.1.1',
    '10.0.0.1',
    '127.0.0.1',
    '::1',
    'fec0::1',
    '2001:db8::1',
    'registry.example',
    '::ffff:1.2.3.4',
  ]) {
    assert.equal(isLinkLocalOrUnsafeHost(h), false, h);
  }
});
