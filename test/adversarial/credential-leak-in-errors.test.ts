// Attack: credential disclosure through error messages, logs and --json output (secrets echoed by parsers, printed credential objects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { CustomsError } from '../../src/errors.js';
import {
  BasicCredential,
  IdentityTokenCredential,
  authFileSource,
  buildTokenRequest,
  describeCredential,
  parseTokenResponse,
  parseWwwAuthenticate,
  saveLogin,
} from '../../src/registry/auth/index.js';

const PASSWORD = 'canary-P4ssw0rd-xyz';
const b64 = Buffer.from(`alice:${PASSWORD}`).toString('base64');

function everything(e: unknown): string {
  assert.ok(e instanceof CustomsError, `expected CustomsError, got ${String(e)}`);
  return [e.message, e.hint ?? '', JSON.stringify(e.toJSON()), inspect(e, { depth: 10 })].join('\n');
}

async function expectSecretFree(p: Promise<unknown> | (() => unknown), secrets: string[]): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, 'expected a failure');
  const text = everything(caught);
  for (const s of secrets) assert.ok(!text.includes(s), `secret leaked: ${text}`);
}

test('malformed auth files never echo the secret in any error form', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'customs-leak-'));
  try {
    const path = join(dir, 'auth.json');
    const bodies = [
      `{"auths": {"quay.io": {"auth": "${b64}"}`, // truncated JSON: V8 would quote the text
      `{"auths": {"quay.io": {"auth": "${b64}" "x": 1}}}`,
      `{"auths": {"quay.io": {"auth": "${b64}"}, "quay.io": {"auth": "${b64}"}}}`,
      `{"auths": {"quay.io": {"auth": "${Buffer.from(PASSWORD).toString('base64')}"}}}`, // no colon
      `{"auths": {"quay.io": {"username": "alice", "password": ["${PASSWORD}"]}}}`,
      `{"auths": {"quay.io": {"username": "alice", "password": "${PASSWORD}", "auth": "%%${PASSWORD}"}}}`,
    ];
    for (const body of bodies) {
      await writeFile(path, body);
      await expectSecretFree(authFileSource(path, { env: {} }).lookup('quay.io'), [PASSWORD, b64]);
    }
    await writeFile(path, '{"auths": ');
    await expectSecretFree(saveLogin(dir, 'quay.io', 'alice', PASSWORD), [PASSWORD]);
    await expectSecretFree(saveLogin(dir, 'quay.io', 'al:ice', PASSWORD), [PASSWORD]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('token response failures never echo the token', async () => {
  const token = 'eyJhbGciOiJIUzI1NiJ9.canary-token-body.sig';
  for (const body of [
    `{"token": "${token}",}`,
    `{"token": "${token}" "x"}`,
    `{"token": "${token} x"}`,
    `{"token": "${token}", "access_token": "other"}`,
  ]) {
    await expectSecretFree(() => parseTokenResponse(new TextEncoder().encode(body)), [token]);
  }
});

test('a refused realm does not leak the credential offered with it', async () => {
  const [c] = parseWwwAuthenticate(`Bearer realm="http://evil.example/?password=${PASSWORD}"`);
  assert.ok(c);
  await expectSecretFree(
    () => buildTokenRequest(c, [], new BasicCredential('alice', PASSWORD), new URL('https://r.example')),
    [PASSWORD],
  );
});

test('describeCredential, JSON and inspect show the username only', () => {
  for (const c of [new BasicCredential('alice', PASSWORD), new IdentityTokenCredential('alice', PASSWORD)]) {
    assert.equal(describeCredential(c), 'alice');
    for (const text of [
      JSON.stringify(c),
      inspect(c),
      inspect([c], { depth: 9, showHidden: true }),
      String(Object.keys(c)),
    ]) {
      assert.ok(!text.includes(PASSWORD), text);
    }
  }
  assert.equal(describeCredential(new IdentityTokenCredential('', PASSWORD)), '(identity token)');
});
