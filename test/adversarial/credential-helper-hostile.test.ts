// Attack: a hostile or broken docker credential helper (or a config naming one) tries to run arbitrary programs, exhaust memory, or get the secret echoed into error output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { CustomsError } from '../../src/errors.js';
import { authFileSource, getFromCredentialHelper } from '../../src/registry/auth/index.js';

const SECRET = 'TOPSECRET-helper-value-42';

const HOSTILE_HELPER = `#!/bin/sh
read -r server
case "$server" in
  fail.example) echo "error: token ${SECRET} rejected" >&2; echo "${SECRET}"; exit 3 ;;
  garbage.example) printf 'not json ${SECRET}' ;;
  dup.example) printf '{"Username":"a","Secret":"x","Secret":"${SECRET}"}' ;;
  noSecret.example) printf '{"Username":"a"}' ;;
  huge.example) head -c 200000 /dev/zero ;;
  *) exit 1 ;;
esac
`;

let dir = '';
let env: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'customs-hostile-helper-'));
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin', 'docker-credential-evil'), HOSTILE_HELPER);
  await chmod(join(dir, 'bin', 'docker-credential-evil'), 0o755);
  env = { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` };
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function isSecretFreeHelperError(e: unknown): boolean {
  if (!(e instanceof CustomsError) || e.code !== 'CREDENTIAL_HELPER') return false;
  const all = `${e.message} ${e.hint ?? ''} ${JSON.stringify(e.toJSON())} ${inspect(e.cause)}`;
  return !all.includes(SECRET);
}

for (const server of ['fail.example', 'garbage.example', 'dup.example', 'noSecret.example', 'huge.example']) {
  test(`a helper misbehaving for ${server} yields a secret-free CREDENTIAL_HELPER error`, async () => {
    await assert.rejects(getFromCredentialHelper('evil', server, env), isSecretFreeHelperError);
  });
}

test('a helper name with a path separator or shell metacharacters is refused before anything runs', async () => {
  const canary = join(dir, 'canary');
  for (const name of ['../../bin/sh', 'x;touch ' + canary, '$(touch ' + canary + ')', 'a b', '']) {
    await assert.rejects(
      getFromCredentialHelper(name, 'quay.io', env),
      (e: unknown) => e instanceof CustomsError && e.code === 'CREDENTIAL_HELPER',
    );
  }
  assert.deepEqual((await readdir(dir)).sort(), ['bin']);
});

test('a credsStore in a config file naming a path is refused', async () => {
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({ credsStore: '../bin/evil' }));
  try {
    await assert.rejects(
      authFileSource(path, { env }).lookup('quay.io'),
      (e: unknown) => e instanceof CustomsError && e.code === 'CREDENTIAL_HELPER',
    );
  } finally {
    await rm(path);
  }
});

test('a relative PATH entry is never searched (no planted helper in the working directory)', async () => {
  // docker-credential-evil exists in `bin`, reachable only through the relative entry.
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    await assert.rejects(
      getFromCredentialHelper('evil', 'fail.example', { PATH: 'bin::.' }),
      (e: unknown) =>
        e instanceof CustomsError && e.code === 'CREDENTIAL_HELPER' && /not found on PATH/.test(e.message),
    );
  } finally {
    process.chdir(cwd);
  }
});
