// customs notary verify against Debian's notary 0.7 (notary-server + notary-signer on 127.0.0.1, started by
// scripts/notary-up.sh) and metadata published by the real `notary` client: online from the server and offline
// from the client's trust directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { accessSync, constants, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from './helpers/repo-root.js';
import { run } from './helpers/run.js';
import { runNotaryCli } from '../helpers/notary-fixtures.js';

const GUN = '127.0.0.1:5000/customs/notary-it';
const PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'customs-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'customs-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'customs-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'customs-delegation-pass',
};

/** A missing peer is a broken test machine, never a reason to skip. */
function requireBinary(name: string): void {
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin']) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return;
    } catch {
      // keep looking
    }
  }
  throw new Error(
    `peer '${name}' not found on PATH: the Notary integration tests need Debian's notary package; run: bash scripts/install-peers.sh (or: apt-get install -y --no-install-recommends notary openssl curl)`,
  );
}

const work = mkdtempSync(join(tmpdir(), 'customs-notary-it-'));
const serverDir = join(work, 'server');
const trustDir = join(work, 'trust');
const metaDir = join(trustDir, 'tuf', GUN, 'metadata');
let url = '';
const manifests = {
  v1: Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":["v1"]}'),
  v2: Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":["v2"]}'),
  v3: Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":["v3"]}'),
};
const digestOf = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function notary(...args: string[]): Promise<string> {
  const r = await run('notary', ['-s', url, '-d', trustDir, '--tlscacert', join(serverDir, 'ca.crt'), ...args], {
    env: { ...process.env, ...PASSPHRASES },
    timeoutMs: 60_000,
    // `key rotate … root` asks for confirmation.
    input: 'yes\n',
  });
  assert.equal(r.code, 0, `notary ${args.join(' ')} failed (${String(r.code)}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function pidOf(name: string): number | undefined {
  try {
    return Number(readFileSync(join(serverDir, name), 'utf8').trim());
  } catch {
    return undefined;
  }
}

let oldMetaDir = '';
let rootV1 = '';

before(async () => {
  for (const b of ['notary', 'notary-server', 'notary-signer', 'openssl', 'curl']) requireBinary(b);
  const up = await run('bash', [join(REPO_ROOT, 'scripts', 'notary-up.sh'), serverDir], { timeoutMs: 60_000 });
  assert.equal(up.code, 0, `notary-up.sh failed: ${up.stderr}`);
  url = up.stdout.trim();
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  for (const [tag, bytes] of Object.entries(manifests)) writeFileSync(join(work, `${tag}.json`), bytes);

  // What `docker trust sign` does: init (root, targets, snapshot keys; server-managed timestamp), a tag in
  // targets, then a targets/releases delegation holding another tag.
  await notary('init', GUN);
  await notary('add', GUN, 'v1', join(work, 'v1.json'));
  await notary('publish', GUN);
  const del = await run(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-nodes',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-keyout',
      join(work, 'releases.key'),
      '-out',
      join(work, 'releases.crt'),
      '-days',
      '365',
      '-subj',
      '/CN=releases',
    ],
    { timeoutMs: 30_000 },
  );
  assert.equal(del.code, 0, del.stderr);
  await notary('delegation', 'add', GUN, 'targets/releases', join(work, 'releases.crt'), '--all-paths');
  await notary('publish', GUN);
  await notary('key', 'import', join(work, 'releases.key'), '--role', 'targets/releases');
  await notary('add', GUN, 'v2', join(work, 'v2.json'), '--roles', 'targets/releases');
  await notary('publish', GUN);
  // Keep this state: it becomes the "old" metadata of the rollback test.
  oldMetaDir = join(work, 'old-metadata');
  cpSync(metaDir, oldMetaDir, { recursive: true });
  rootV1 = join(work, 'root-v1.json');
  cpSync(join(metaDir, 'root.json'), rootV1);
});

after(() => {
  for (const p of [pidOf('server.pid'), pidOf('signer.pid')]) {
    if (p !== undefined && Number.isInteger(p) && p > 1) {
      try {
        process.kill(p);
      } catch {
        // already gone
      }
    }
  }
});

test('the notary client lists what it published (sanity check of the peer)', async () => {
  const out = await notary('list', GUN);
  assert.match(out, new RegExp(digestOf(manifests.v1).slice(7)));
  assert.match(out, /targets\/releases/);
});

test('online: customs verifies a tag signed in targets on a real notary-server', async () => {
  const r = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--root',
    rootV1,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${digestOf(manifests.v1)}\n`);
  assert.match(r.stderr, /role targets;/);
});

test('online: customs verifies a tag signed in targets/releases (docker trust sign) with --digest', async () => {
  const r = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    GUN,
    '--tag',
    'v2',
    '--root',
    rootV1,
    '--digest',
    digestOf(manifests.v2),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${digestOf(manifests.v2)}\n`);
  assert.match(r.stderr, /role targets\/releases/);
});

test('online: a pin by root key ID works against the server', async () => {
  const root = JSON.parse(readFileSync(rootV1, 'utf8')) as { signed: { roles: { root: { keyids: string[] } } } };
  const args = root.signed.roles.root.keyids.flatMap((id) => ['--root-key-id', id]);
  const r = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    GUN,
    '--tag',
    'v1',
    ...args,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${digestOf(manifests.v1)}\n`);
});

test('offline: customs verifies from the notary client trust dir (tuf/GUN/metadata)', async () => {
  for (const tag of ['v1', 'v2'] as const) {
    const r = await runNotaryCli([
      'verify',
      metaDir,
      '--gun',
      GUN,
      '--tag',
      tag,
      '--root',
      rootV1,
      '--digest',
      digestOf(manifests[tag]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${digestOf(manifests[tag])}\n`);
  }
});

test('offline: a digest other than the signed one exits 6', async () => {
  const r = await runNotaryCli([
    'verify',
    metaDir,
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--root',
    rootV1,
    '--digest',
    digestOf(manifests.v3),
  ]);
  assert.equal(r.code, 6);
  assert.equal(r.errorCode, 'SIGNATURE_INVALID');
  assert.match(r.stderr, /signed digest does not match/);
});

test('online: a tag that was never signed, and a GUN the server does not know, are SIGNATURE_MISSING', async () => {
  const a = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    GUN,
    '--tag',
    'unsigned',
    '--root',
    rootV1,
  ]);
  assert.equal(a.code, 6);
  assert.equal(a.errorCode, 'SIGNATURE_MISSING');
  const b = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    '127.0.0.1:5000/customs/never',
    '--tag',
    'v1',
    '--root',
    rootV1,
  ]);
  assert.equal(b.code, 6);
  assert.equal(b.errorCode, 'SIGNATURE_MISSING');
});

test('online: without the CA the server certificate is not trusted (exit 4, nothing verified)', async () => {
  const r = await runNotaryCli(['verify', '--server', url, '--gun', GUN, '--tag', 'v1', '--root', rootV1]);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.stdout, '');
});

test('freeze: the server-signed timestamp expires in 14 days; verifying as of later is refused', async () => {
  const later = new Date(Date.now() + 15 * 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await runNotaryCli(['verify', metaDir, '--gun', GUN, '--tag', 'v1', '--root', rootV1, '--now', later]);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /timestamp\.json: expired/);
});

test('rollback: after a new publish, the old trust dir is refused against the new trusted state', async () => {
  await notary('add', GUN, 'v3', join(work, 'v3.json'));
  await notary('publish', GUN);
  const online = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    GUN,
    '--tag',
    'v3',
    '--root',
    rootV1,
    '--json',
  ]);
  assert.equal(online.code, 0, online.stderr);
  const doc = JSON.parse(online.stdout) as {
    digest: string;
    versions: { root: number; timestamp: number; snapshot: number; targets: number };
  };
  assert.equal(doc.digest, digestOf(manifests.v3));
  const state = join(work, 'trusted-state.json');
  const { root, timestamp, snapshot, targets } = doc.versions;
  writeFileSync(state, JSON.stringify({ root, timestamp, snapshot, targets }));
  // The old metadata still verifies on its own…
  const plain = await runNotaryCli(['verify', oldMetaDir, '--gun', GUN, '--tag', 'v1', '--root', rootV1]);
  assert.equal(plain.code, 0, plain.stderr);
  // …but not once newer versions are trusted.
  const r = await runNotaryCli([
    'verify',
    oldMetaDir,
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--root',
    rootV1,
    '--trusted-state',
    state,
  ]);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /version rolled back/);
});

test('root rotation: after notary rotates the root key, the new root chains from the pinned old root', async () => {
  await notary('key', 'rotate', GUN, 'root');
  const r = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--root',
    rootV1,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { versions: { root: number }; rootPinned: boolean };
  assert.ok(doc.versions.root >= 2, `expected a rotated root, got version ${doc.versions.root}`);
  assert.equal(doc.rootPinned, true);
  // Pinning the old root's key IDs alone no longer suffices: the new root is not signed by them.
  const old = JSON.parse(readFileSync(rootV1, 'utf8')) as { signed: { roles: { root: { keyids: string[] } } } };
  const byId = await runNotaryCli([
    'verify',
    '--server',
    url,
    '--ca',
    join(serverDir, 'ca.crt'),
    '--gun',
    GUN,
    '--tag',
    'v1',
    ...old.signed.roles.root.keyids.flatMap((id) => ['--root-key-id', id]),
  ]);
  assert.equal(byId.code, 6, byId.stderr);
});
