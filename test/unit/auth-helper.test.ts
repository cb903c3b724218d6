import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomsError } from '../../src/errors.js';
import {
  DOCKER_HUB_INDEX_URL,
  authFileSource,
  credentialHelperSource,
  getFromCredentialHelper,
  type Credential,
} from '../../src/registry/auth/index.js';

// A real executable speaking the docker-credential-helpers protocol: reads the server URL on stdin, answers on
// stdout, and records what it was asked so tests can check the protocol.
const FAKE_HELPER = `#!/bin/sh
read -r server
printf '%s' "$server" > "$FAKE_LOG_DIR/last-server"
printf '%s' "$1" > "$FAKE_LOG_DIR/last-arg"
printf '%s|%s' "\${NODE_EXTRA_CA_CERTS-unset}" "\${CUSTOMS_EXTRA_CA_CERTS-unset}" > "$FAKE_LOG_DIR/last-ca-env"
case "$server" in
  quay.io) printf '{"ServerURL":"quay.io","Username":"alice","Secret":"helper-pw-1"}' ;;
  ${DOCKER_HUB_INDEX_URL}) printf '{"ServerURL":"x","Username":"<token>","Secret":"refresh-tok-9"}\\n' ;;
  empty.example) printf '{"ServerURL":"","Username":"","Secret":""}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

let dir = '';
let env: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'customs-helper-'));
  await writeFile(join(dir, 'docker-credential-fake'), FAKE_HELPER);
  await chmod(join(dir, 'docker-credential-fake'), 0o755);
  env = { PATH: `${dir}:/usr/bin:/bin`, FAKE_LOG_DIR: dir };
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function pair(c: Credential | undefined): [string, string, string] | undefined {
  if (c === undefined) return undefined;
  return c.kind === 'basic' ? ['basic', c.username, c.password] : ['identity-token', c.username, c.token];
}

test('a credential helper answer becomes a basic credential; the helper gets `get` and the server on stdin', async () => {
  assert.deepEqual(pair(await getFromCredentialHelper('fake', 'quay.io', env)), ['basic', 'alice', 'helper-pw-1']);
  const { readFile } = await import('node:fs/promises');
  assert.equal(await readFile(join(dir, 'last-server'), 'utf8'), 'quay.io');
  assert.equal(await readFile(join(dir, 'last-arg'), 'utf8'), 'get');
});

test('a helper gets NODE_EXTRA_CA_CERTS back as the user set it, whatever bin/customs did with it', async () => {
  // bin/customs moves the variable to CUSTOMS_EXTRA_CA_CERTS for customs' own start-up (src/internal/extra-ca.ts);
  // a helper that is itself a Node program calling an HTTPS API must still see the user's extra CAs.
  const { readFile } = await import('node:fs/promises');
  await getFromCredentialHelper('fake', 'quay.io', { ...env, CUSTOMS_EXTRA_CA_CERTS: '/etc/extra-cas.pem' });
  assert.equal(await readFile(join(dir, 'last-ca-env'), 'utf8'), '/etc/extra-cas.pem|unset');
  await getFromCredentialHelper('fake', 'quay.io', env);
  assert.equal(await readFile(join(dir, 'last-ca-env'), 'utf8'), 'unset|unset');
});

test('Username "<token>" marks an identity token; Docker Hub is asked for by its index URL', async () => {
  const src = credentialHelperSource('fake', env);
  assert.equal(src.name, 'docker-credential-fake');
  assert.deepEqual(pair(await src.lookup('docker.io')), ['identity-token', '', 'refresh-tok-9']);
});

test('"credentials not found in native keychain" and an empty answer mean no credential', async () => {
  assert.equal(await getFromCredentialHelper('fake', 'unknown.example', env), undefined);
  assert.equal(await getFromCredentialHelper('fake', 'empty.example', env), undefined);
});

test('the helper is found through the PATH of the env passed in, not the process PATH', async () => {
  await assert.rejects(
    getFromCredentialHelper('fake', 'quay.io', { PATH: '/usr/bin:/bin' }),
    (e: unknown) => e instanceof CustomsError && e.code === 'CREDENTIAL_HELPER' && /not found on PATH/.test(e.message),
  );
});

test('credHelpers beats credsStore beats auths in a docker config', async () => {
  const path = join(dir, 'config.json');
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  await writeFile(
    path,
    JSON.stringify({
      auths: { 'quay.io': { auth: b64('file:pw') }, 'other.example': { auth: b64('file2:pw') } },
      credsStore: 'missing-store',
      credHelpers: { 'quay.io': 'fake' },
    }),
  );
  const src = authFileSource(path, { env });
  assert.deepEqual(pair(await src.lookup('quay.io')), ['basic', 'alice', 'helper-pw-1']);
  // credsStore is used for everything else, even where auths has an entry (docker does the same).
  await assert.rejects(
    src.lookup('other.example'),
    (e: unknown) => e instanceof CustomsError && e.code === 'CREDENTIAL_HELPER' && /missing-store/.test(e.message),
  );
  await writeFile(
    path,
    JSON.stringify({ auths: { 'other.example': { auth: b64('file2:pw') } }, credHelpers: { 'quay.io': 'fake' } }),
  );
  assert.deepEqual(pair(await src.lookup('other.example')), ['basic', 'file2', 'pw']);
});

test('an aborted signal stops the lookup', async () => {
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await assert.rejects(getFromCredentialHelper('fake', 'quay.io', env, ac.signal), /stop/);
});
