// CVE-2026-33540: token realm pointing at cloud metadata (SSRF), in every IPv4/IPv6 spelling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { BasicCredential, buildTokenRequest, parseWwwAuthenticate } from '../../src/registry/auth/index.js';

const REGISTRY = new URL('https://registry.example');

const METADATA_SPELLINGS = [
  'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'https://169.254.169.254/',
  'http://2852039166/',
  'http://0xA9FEA9FE/',
  'http://0xa9.0xfe.0xa9.0xfe/',
  'http://0251.0376.0251.0376/',
  'http://169.254.43518/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://[0:0:0:0:0:ffff:a9fe:a9fe]/',
  'https://[fe80::a9fe:a9fe]/',
  'https://[fd00:ec2::254]/',
  'https://metadata.google.internal/computeMetadata/v1/',
  'https://METADATA.GOOGLE.INTERNAL./',
];

for (const realm of METADATA_SPELLINGS) {
  test(`a Bearer challenge with realm ${realm} builds no token request`, () => {
    const [challenge] = parseWwwAuthenticate(`Bearer realm="${realm}",service="registry.example"`);
    assert.ok(challenge);
    for (const credential of [undefined, new BasicCredential('alice', 'pw')]) {
      assert.throws(
        () => buildTokenRequest(challenge, ['repository:a:pull'], credential, REGISTRY),
        (e: unknown) => e instanceof CustomsError && e.code === 'TOKEN_REALM_REFUSED',
      );
    }
  });
}

test('a second realm parameter smuggling the metadata address is refused at parse time', () => {
  assert.throws(
    () => parseWwwAuthenticate('Bearer realm="https://auth.example/token",realm="http://169.254.169.254/"'),
    (e: unknown) => e instanceof CustomsError && e.code === 'UNAUTHORIZED',
  );
});
