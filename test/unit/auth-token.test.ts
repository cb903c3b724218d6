import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import {
  BasicCredential,
  IdentityTokenCredential,
  MAX_TOKEN_BYTES,
  buildTokenRequest,
  parseTokenResponse,
  parseWwwAuthenticate,
  pullScope,
  type Challenge,
} from '../../src/registry/auth/index.js';

const HUB = new URL('https://registry-1.docker.io');

function bearer(header: string): Challenge {
  const [c] = parseWwwAuthenticate(header);
  assert.ok(c);
  return c;
}

const hubChallenge = bearer('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"');

test('pullScope formats repository:NAME:pull and refuses names that break the scope grammar', () => {
  assert.equal(pullScope('library/debian'), 'repository:library/debian:pull');
  for (const bad of ['a:b', 'a b', 'A', '', 'a//b', '../x']) {
    assert.throws(
      () => pullScope(bad),
      (e: unknown) => e instanceof CustomsError && e.code === 'REFERENCE_INVALID',
    );
  }
});

test('buildTokenRequest builds an anonymous GET with service and scope', () => {
  const req = buildTokenRequest(hubChallenge, [pullScope('library/debian')], undefined, HUB);
  assert.equal(req.method, 'GET');
  assert.equal(req.url.origin, 'https://auth.docker.io');
  assert.equal(req.url.searchParams.get('service'), 'registry.docker.io');
  assert.deepEqual(req.url.searchParams.getAll('scope'), ['repository:library/debian:pull']);
  assert.equal(req.headers.authorization, undefined);
  assert.equal(req.body, undefined);
});

test('buildTokenRequest repeats scope for several repositories and keeps realm query params', () => {
  const c = bearer('Bearer realm="https://auth.example/token?account=x",service="s"');
  const req = buildTokenRequest(c, ['repository:a:pull', 'repository:b:pull'], undefined, new URL('https://r.example'));
  assert.equal(req.url.searchParams.get('account'), 'x');
  assert.deepEqual(req.url.searchParams.getAll('scope'), ['repository:a:pull', 'repository:b:pull']);
});

test('buildTokenRequest sends Basic auth for a username/password credential', () => {
  const req = buildTokenRequest(
    hubChallenge,
    ['repository:a:pull'],
    new BasicCredential('alice', 'pw:with:colons'),
    HUB,
  );
  assert.equal(req.method, 'GET');
  assert.equal(req.headers.authorization, `Basic ${Buffer.from('alice:pw:with:colons').toString('base64')}`);
});

test('buildTokenRequest uses the OAuth2 refresh-token grant for an identity token', () => {
  const req = buildTokenRequest(
    hubChallenge,
    ['repository:a:pull', 'repository:b:pull'],
    new IdentityTokenCredential('alice', 'refresh-123'),
    HUB,
  );
  assert.equal(req.method, 'POST');
  assert.equal(req.url.search, '');
  assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(req.headers.authorization, undefined);
  const form = new URLSearchParams(req.body);
  assert.equal(form.get('grant_type'), 'refresh_token');
  assert.equal(form.get('refresh_token'), 'refresh-123');
  assert.equal(form.get('service'), 'registry.docker.io');
  assert.equal(form.get('client_id'), 'customs');
  assert.equal(form.get('scope'), 'repository:a:pull repository:b:pull');
});

test('buildTokenRequest accepts a structural credential literal', () => {
  const req = buildTokenRequest(hubChallenge, [], { kind: 'basic', username: 'u', password: 'p' }, HUB);
  assert.ok(req.headers.authorization?.startsWith('Basic '));
});

test('buildTokenRequest checks the realm before building anything', () => {
  const c = bearer('Bearer realm="http://169.254.169.254/latest",service="s"');
  assert.throws(
    () => buildTokenRequest(c, [], new BasicCredential('u', 'p'), HUB),
    (e: unknown) => e instanceof CustomsError && e.code === 'TOKEN_REALM_REFUSED',
  );
});

test('buildTokenRequest refuses a Basic challenge and a Bearer challenge without realm', () => {
  for (const h of ['Basic realm="x"', 'Bearer service="s"']) {
    assert.throws(
      () => buildTokenRequest(bearer(h), [], undefined, HUB),
      (e: unknown) => e instanceof CustomsError && e.code === 'UNAUTHORIZED',
    );
  }
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('parseTokenResponse accepts token or access_token', () => {
  assert.deepEqual(parseTokenResponse(enc('{"token":"abc.def","expires_in":300}')), {
    token: 'abc.def',
    expiresInSeconds: 300,
  });
  assert.deepEqual(parseTokenResponse(enc('{"access_token":"xyz"}')), { token: 'xyz', expiresInSeconds: 60 });
  assert.deepEqual(parseTokenResponse(enc('{"token":"t","access_token":"t","issued_at":"2020-01-01T00:00:00Z"}')), {
    token: 't',
    expiresInSeconds: 60,
  });
});

test('parseTokenResponse raises a short lifetime to 60 s and caps a long one at a day', () => {
  assert.equal(parseTokenResponse(enc('{"token":"t","expires_in":5}')).expiresInSeconds, 60);
  assert.equal(parseTokenResponse(enc('{"token":"t","expires_in":-1}')).expiresInSeconds, 60);
  assert.equal(parseTokenResponse(enc('{"token":"t","expires_in":1e12}')).expiresInSeconds, 86400);
});

const badResponses: [string, string | Uint8Array][] = [
  ['bad JSON', '{"token":'],
  ['trailing data', '{"token":"t"} x'],
  ['duplicate keys', '{"token":"a","token":"b"}'],
  ['a missing token', '{"expires_in":60}'],
  ['an empty token', '{"token":""}'],
  ['a non-string token', '{"token":42}'],
  ['differing token and access_token', '{"token":"a","access_token":"b"}'],
  ['a token with a space', '{"token":"a b"}'],
  ['a token with CRLF', '{"token":"a\\r\\nX-Evil: 1"}'],
  ['a non-ASCII token', '{"token":"tök"}'],
  ['a huge token', `{"token":"${'a'.repeat(MAX_TOKEN_BYTES + 1)}"}`],
  ['a non-numeric expires_in', '{"token":"t","expires_in":"60"}'],
  ['an array', '["t"]'],
  ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
  ['a body over 64 KiB', `{"token":"t","pad":"${'a'.repeat(70000)}"}`],
];

for (const [name, body] of badResponses) {
  test(`parseTokenResponse refuses ${name} with UNAUTHORIZED`, () => {
    assert.throws(
      () => parseTokenResponse(typeof body === 'string' ? enc(body) : body),
      (e: unknown) => e instanceof CustomsError && e.code === 'UNAUTHORIZED',
    );
  });
}

test('parseTokenResponse never quotes the body in its error', () => {
  try {
    parseTokenResponse(enc('{"token":"SECRET-TOKEN-VALUE" garbage}'));
    assert.fail('expected a refusal');
  } catch (e) {
    assert.ok(e instanceof CustomsError);
    assert.doesNotMatch(e.message, /SECRET-TOKEN-VALUE/);
    assert.equal(e.cause, undefined);
  }
});
