import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNotaryGun, parseNotaryServerUrl } from '../../src/trust/index.js';
import { isCustomsError } from '../../src/errors.js';
import { REAL_NOTARY_CAPTURE, buildRepo, runNotaryCli, writeRepoDir } from '../helpers/notary-fixtures.js';

const GUN = 'registry.example/team/app';
const M1 = Buffer.from('{"schemaVersion":2,"layers":[1]}');
const M2 = Buffer.from('{"schemaVersion":2,"layers":[2]}');
const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const NOW = new Date();

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'customs-notary-'));
}

function realDir(): string {
  const dir = tmp();
  const f = REAL_NOTARY_CAPTURE.files;
  return writeRepoDir(dir, {
    root: Buffer.from(f['root.json']),
    timestamp: Buffer.from(f['timestamp.json']),
    snapshot: Buffer.from(f['snapshot.json']),
    targets: Buffer.from(f['targets.json']),
    releases: Buffer.from(f['targets/releases.json']),
  });
}

test('notary verify DIR prints the digest bound to the tag, and only that on stdout', async () => {
  const dir = realDir();
  const r = await runNotaryCli([
    'verify',
    dir,
    '--gun',
    REAL_NOTARY_CAPTURE.gun,
    '--tag',
    'v2',
    '--now',
    REAL_NOTARY_CAPTURE.validAt,
    '--root',
    join(dir, 'root.json'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${REAL_NOTARY_CAPTURE.v2.digest}\n`);
  assert.match(r.stderr, /role targets\/releases/);
  assert.doesNotMatch(r.stderr, /not pinned/);
});

test('notary verify without --root warns that DIR/root.json was trusted as found', async () => {
  const r = await runNotaryCli([
    'verify',
    realDir(),
    '--gun',
    REAL_NOTARY_CAPTURE.gun,
    '--tag',
    'v1',
    '--now',
    REAL_NOTARY_CAPTURE.validAt,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${REAL_NOTARY_CAPTURE.v1.digest}\n`);
  assert.match(r.stderr, /warning: root not pinned/);
});

test('notary verify --digest exits 0 when the signed digest is the given one', async () => {
  const r = await runNotaryCli([
    'verify',
    realDir(),
    '--gun',
    REAL_NOTARY_CAPTURE.gun,
    '--tag',
    'v1',
    '--now',
    REAL_NOTARY_CAPTURE.validAt,
    '--digest',
    REAL_NOTARY_CAPTURE.v1.digest,
    '-q',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('notary verify --json reports role, versions and pin state', async () => {
  const r = await runNotaryCli([
    'verify',
    realDir(),
    '--gun',
    REAL_NOTARY_CAPTURE.gun,
    '--tag',
    'v1',
    '--now',
    REAL_NOTARY_CAPTURE.validAt,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(doc['digest'], REAL_NOTARY_CAPTURE.v1.digest);
  assert.equal(doc['role'], 'targets');
  assert.equal(doc['rootPinned'], false);
  assert.deepEqual(doc['versions'], {
    root: 1,
    timestamp: 3,
    snapshot: 4,
    targets: 3,
    delegations: { 'targets/releases': 1 },
  });
});

test('notary verify --trusted-state accepts the same versions and reads missing roles as none', async () => {
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: M1 }, versions: { timestamp: 4, snapshot: 3, targets: 2 } });
  const dir = writeRepoDir(tmp(), repo.files);
  const state = join(tmp(), 'state.json');
  writeFileSync(state, JSON.stringify({ timestamp: 4, targets: 2 }));
  const r = await runNotaryCli([
    'verify',
    dir,
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--trusted-state',
    state,
    '--root',
    join(dir, 'root.json'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${sha(M1)}\n`);
});

test('notary verify refuses a malformed trusted-state file as a usage error', async () => {
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: M1 } });
  const dir = writeRepoDir(tmp(), repo.files);
  const state = join(tmp(), 'state.json');
  writeFileSync(state, JSON.stringify({ targets: 1, delegations: 2 }));
  const r = await runNotaryCli(['verify', dir, '--gun', GUN, '--tag', 'v1', '--trusted-state', state]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown key/);
});

test('notary verify reads targets/releases.json from DIR', async () => {
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: M1 }, releaseTags: { v2: M2 } });
  const dir = writeRepoDir(tmp(), repo.files);
  const r = await runNotaryCli(['verify', dir, '--gun', GUN, '--tag', 'v2', '--root', join(dir, 'root.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${sha(M2)}\n`);
});

test('notary verify with a directory without metadata is SIGNATURE_MISSING (exit 6)', async () => {
  const r = await runNotaryCli(['verify', tmp(), '--gun', GUN, '--tag', 'v1']);
  assert.equal(r.code, 6);
  assert.equal(r.errorCode, 'SIGNATURE_MISSING');
});

test('notary verify usage errors exit 2: missing flags, bad --now, unknown subcommand, both DIR and --server', async () => {
  const dir = realDir();
  for (const args of [
    ['verify', dir, '--tag', 'v1'],
    ['verify', dir, '--gun', GUN],
    ['verify', dir, '--gun', GUN, '--tag', 'v1', '--now', 'yesterday'],
    ['verify', dir, '--gun', GUN, '--tag', 'v1', '--now', '2026-01-01T00:00:00'],
    ['sign', dir, '--gun', GUN, '--tag', 'v1'],
    ['verify', dir, '--gun', GUN, '--tag', 'v1', '--server', 'https://127.0.0.1:1'],
    ['verify', '--gun', GUN, '--tag', 'v1'],
    ['verify', dir, '--gun', GUN, '--tag', 'v1', '--ca', '/dev/null'],
    ['verify', dir, '--gun', GUN, '--tag', 'v1', '--root-key-id', 'nothex'],
    ['verify', dir, '--gun', GUN, '--tag', 'v1', '--digest', 'sha256:nothex'],
  ]) {
    const r = await runNotaryCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('notary verify --server requires a pinned root: a root from the same server proves nothing', async () => {
  const r = await runNotaryCli(['verify', '--server', 'https://127.0.0.1:1', '--gun', GUN, '--tag', 'v1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pinned root/);
});

test('Notary server URLs: https anywhere, http only to loopback, never userinfo, query or fragment', () => {
  assert.equal(parseNotaryServerUrl('https://notary.docker.io').host, 'notary.docker.io');
  assert.equal(parseNotaryServerUrl('http://127.0.0.1:4443').port, '4443');
  assert.equal(parseNotaryServerUrl('http://[::1]:4443').hostname, '[::1]');
  const code = (u: string): string | undefined => {
    try {
      parseNotaryServerUrl(u);
      return undefined;
    } catch (e) {
      return isCustomsError(e) ? e.code : 'other';
    }
  };
  assert.equal(code('http://notary.example'), 'INSECURE_TRANSPORT');
  assert.equal(code('https://user:pw@notary.example'), 'USAGE');
  assert.equal(code('https://notary.example/?token=x'), 'USAGE');
  assert.equal(code('ftp://notary.example'), 'USAGE');
  assert.equal(code('not a url'), 'USAGE');
});

test('GUNs are repository names; path tricks are refused before they reach a URL', () => {
  assertNotaryGun('docker.io/library/alpine');
  assertNotaryGun('127.0.0.1:5000/customs/hello');
  for (const bad of ['', '../etc', 'a/../b', 'a//b', 'a/b?x', 'a/b#x', 'a%2fb', 'a b', '/abs']) {
    assert.throws(
      () => assertNotaryGun(bad),
      (e: unknown) => isCustomsError(e) && e.code === 'USAGE',
      bad,
    );
  }
});
