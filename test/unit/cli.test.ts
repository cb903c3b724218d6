// The CLI in-process: exit codes and messages for the paths that need no registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'customs-cli-'));
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { HOME: dir, CUSTOMS_CONFIG: join(dir, 'config'), CUSTOMS_STORE: join(dir, 'store') },
    isTTY: false,
    readStdin: () => Promise.resolve(''),
  });
  return { code, stdout, stderr };
}

test('--help lists every command and the exit codes', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['pull', 'images', 'inspect', 'rm', 'gc', 'fsck', 'login', 'logout'])
    assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  assert.match(r.stdout, /Exit codes/);
});

test('each command has its own --help', async () => {
  const r = await cli(['pull', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--all-platforms/);
});

test('an unknown command or flag is a usage error (exit 2)', async () => {
  assert.equal((await cli(['frobnicate'])).code, 2);
  const r = await cli(['images', '--no-such-flag']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no-such-flag/);
});

test('a short name is refused with exit 3 and the fully qualified form to use', async () => {
  const r = await cli(['pull', 'alpine:3.19', '--insecure-policy']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /docker\.io\/library\/alpine:3\.19/);
});

test('a reference without tag or digest is a usage error, not an implicit :latest', async () => {
  const r = await cli(['pull', '127.0.0.1:5000/busybox', '--insecure-policy']);
  assert.equal(r.code, 2, r.stderr);
});

test('an empty store lists nothing and inspect of a missing image exits 9', async () => {
  const images = await cli(['images', '--json']);
  assert.equal(images.code, 0);
  assert.deepEqual(JSON.parse(images.stdout), []);
  const r = await cli(['inspect', '127.0.0.1:5000/busybox:1', '--json']);
  assert.equal(r.code, 9);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'IMAGE_NOT_IN_STORE');
});

test('--platform is validated before any connection', async () => {
  const r = await cli(['pull', '127.0.0.1:9/x:1', '--platform', 'linux', '--insecure-policy']);
  assert.equal(r.code, 2);
});

test('untrusted text in an error never reaches the terminal as escape or bidi control characters', async () => {
  // Terminal escape injection (CVE-2021-25743 kubectl class) and Trojan Source bidi (CVE-2021-42574).
  const r = await cli(['images', '--\x1b]0;pwned\x07\x1b[2J\u202ex']);
  assert.equal(r.code, 2);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(r.stderr, /[\x1b\x07\u202e]/);
  assert.match(r.stderr, /pwned/);
});
