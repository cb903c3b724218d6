// Attack: a registry names a cross-origin plain-HTTP (or userinfo-disguised) token realm so the user's Basic credentials travel in clear text to a host it chooses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { BasicCredential, buildTokenRequest, parseWwwAuthenticate } from '../../src/registry/auth/index.js';

const PASSWORD = 'cleartext-canary-pw';

const cases: [string, URL, string][] = [
  ['a public registry', new URL('https://registry.example'), 'http://collector.example/token'],
  ['a public registry (same host, http)', new URL('https://registry.example'), 'http://registry.example/token'],
  ['a loopback registry (other port)', new URL('http://127.0.0.1:5000'), 'http://127.0.0.1:6000/token'],
  ['a loopback registry (other loopback host)', new URL('http://127.0.0.1:5000'), 'http://localhost:5000/token'],
  ['a loopback registry (remote realm)', new URL('http://127.0.0.1:5000'), 'http://collector.example/token'],
  [
    'a public registry (userinfo disguise)',
    new URL('https://registry.example'),
    'https://registry.example@collector.example/t',
  ],
];

for (const [name, registry, realm] of cases) {
  test(`${name} cannot get credentials sent to ${realm}`, () => {
    const [challenge] = parseWwwAuthenticate(`Bearer realm="${realm}"`);
    assert.ok(challenge);
    try {
      buildTokenRequest(challenge, [], new BasicCredential('alice', PASSWORD), registry);
      assert.fail('a request was built');
    } catch (e) {
      assert.ok(e instanceof CustomsError);
      assert.equal(e.code, 'TOKEN_REALM_REFUSED');
      assert.ok(!JSON.stringify(e.toJSON()).includes(PASSWORD));
    }
  });
}

test('the registry-origin plain-HTTP loopback realm is the one plain-HTTP case allowed', () => {
  const [challenge] = parseWwwAuthenticate('Bearer realm="http://127.0.0.1:5000/auth"');
  assert.ok(challenge);
  const req = buildTokenRequest(
    challenge,
    [],
    new BasicCredential('alice', PASSWORD),
    new URL('http://127.0.0.1:5000'),
  );
  assert.equal(req.url.origin, 'http://127.0.0.1:5000');
});
