// Attacks on `customs notary verify` at its edges (files, Notary servers, the --digest check); one per test,
// each test's first line naming the attack. Hostile servers are real node:http servers on 127.0.0.1:0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { MAX_NOTARY_METADATA_BYTES } from '../../src/trust/index.js';
import { buildRepo, runNotaryCli, writeRepoDir, type Repo } from '../helpers/notary-fixtures.js';

const GUN = 'registry.example/team/app';
const GOOD = Buffer.from('{"schemaVersion":2,"layers":["good"]}');
const EVIL = Buffer.from('{"schemaVersion":2,"layers":["evil"]}');
const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const NOW = new Date();

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'customs-notary-adv-'));
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function fileFor(repo: Repo, path: string): Buffer | undefined {
  const m = /\/_trust\/tuf\/(.+)\.json$/.exec(path);
  const name = m?.[1];
  if (name === 'root') return repo.files.root;
  if (name === 'timestamp') return repo.files.timestamp;
  if (name === 'snapshot') return repo.files.snapshot;
  if (name === 'targets') return repo.files.targets;
  if (name === 'targets/releases') return repo.files.releases;
  return undefined;
}

test('digest substitution: --digest of another manifest than the signed one exits 6', async () => {
  // Docker Content Trust's purpose: an image whose digest differs from the signed tag's must be refused.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const dir = writeRepoDir(tmp(), repo.files);
  const r = await runNotaryCli([
    'verify',
    dir,
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--root',
    join(dir, 'root.json'),
    '--digest',
    sha(EVIL),
  ]);
  assert.equal(r.code, 6);
  assert.equal(r.errorCode, 'SIGNATURE_INVALID');
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`expected ${sha(EVIL)}, got ${sha(GOOD)}`));
});

test('endless data: an oversized metadata file in DIR is refused with exit 6 without reading it all', async () => {
  // TUF spec "endless data attack" against the offline form.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const dir = writeRepoDir(tmp(), repo.files);
  writeFileSync(join(dir, 'targets.json'), Buffer.alloc(MAX_NOTARY_METADATA_BYTES + 10, 0x20));
  const r = await runNotaryCli(['verify', dir, '--gun', GUN, '--tag', 'v1']);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /targets\.json: too large/);
});

test('endless data: a Notary server streaming an endless targets.json is cut off at the cap (exit 6)', async () => {
  // TUF spec "endless data attack" against the online form: the body never ends and has no length.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  let sent = 0;
  const { url, server } = await serve((req, res) => {
    if (req.url?.endsWith('/targets.json') === true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (sent < 64 * MAX_NOTARY_METADATA_BYTES && res.write(chunk)) sent += chunk.length;
        if (sent < 64 * MAX_NOTARY_METADATA_BYTES) res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
      return;
    }
    const body = fileFor(repo, req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  try {
    const r = await runNotaryCli([
      'verify',
      '--server',
      url,
      '--gun',
      GUN,
      '--tag',
      'v1',
      '--root-key-id',
      repo.keys.root[0]!.id,
    ]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /targets\.json: too large/);
    assert.ok(sent < 16 * MAX_NOTARY_METADATA_BYTES, `read far past the cap: ${sent} bytes sent`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('endless data: a declared Content-Length over the cap is refused before the body is read', async () => {
  // TUF spec "endless data attack": the server announces a huge file.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const { url, server } = await serve((req, res) => {
    if (req.url?.endsWith('/snapshot.json') === true) {
      res.writeHead(200, { 'content-length': String(MAX_NOTARY_METADATA_BYTES * 100) });
      res.write('{');
      return;
    }
    const body = fileFor(repo, req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  try {
    const r = await runNotaryCli([
      'verify',
      '--server',
      url,
      '--gun',
      GUN,
      '--tag',
      'v1',
      '--root-key-id',
      repo.keys.root[0]!.id,
    ]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /snapshot\.json: too large/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('redirect to another origin: a Notary server redirect is not followed', async () => {
  // Cross-origin redirect (SSRF / metadata from a host the user did not name): 3xx is an error, never followed.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  let followed = false;
  const other = await serve((_req, res) => {
    followed = true;
    res.writeHead(200).end(repo.files.root);
  });
  const { url, server } = await serve((req, res) => {
    if (req.url?.endsWith('/root.json') === true) {
      res.writeHead(302, { location: `${other.url}${req.url}` }).end();
      return;
    }
    const body = fileFor(repo, req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  try {
    const r = await runNotaryCli([
      'verify',
      '--server',
      url,
      '--gun',
      GUN,
      '--tag',
      'v1',
      '--root-key-id',
      repo.keys.root[0]!.id,
    ]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /expected 200, got 302/);
    assert.equal(followed, false);
  } finally {
    server.close();
    other.server.close();
  }
});

test('plain-HTTP downgrade: a non-loopback http:// Notary server is refused before any request', async () => {
  // Cleartext metadata fetch (integrity rests on signatures, but the pinned-root rule and privacy do not).
  const r = await runNotaryCli([
    'verify',
    '--server',
    'http://notary.example.invalid',
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--root-key-id',
    'a'.repeat(64),
  ]);
  assert.equal(r.code, 4);
  assert.equal(r.errorCode, 'INSECURE_TRANSPORT');
});

test('credential leak: a Notary server URL with userinfo is refused and the password is never printed', async () => {
  // CWE-532 (credentials in output): customs sends no credentials to Notary servers and never echoes them.
  const r = await runNotaryCli([
    'verify',
    '--server',
    'https://user:s3cr3t-pw@127.0.0.1:1',
    '--gun',
    GUN,
    '--tag',
    'v1',
    '--root-key-id',
    'a'.repeat(64),
  ]);
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.stderr + r.stdout, /s3cr3t-pw/);
});

test('mix-and-match over the network: a server serving a targets.json from another state is refused', async () => {
  // TUF spec "mix-and-match attack", online: snapshot names one targets.json, the server sends another.
  const keys = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } }).keys;
  const honest = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD }, keys });
  const other = buildRepo({ gun: GUN, now: NOW, tags: { v1: EVIL }, keys, versions: { targets: 2 } });
  const { url, server } = await serve((req, res) => {
    const body = req.url?.endsWith('/targets.json') === true ? other.files.targets : fileFor(honest, req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  try {
    const r = await runNotaryCli([
      'verify',
      '--server',
      url,
      '--gun',
      GUN,
      '--tag',
      'v1',
      '--root-key-id',
      keys.root[0]!.id,
    ]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /targets\.json: (length|sha256) does not match snapshot\.json/);
  } finally {
    server.close();
  }
});
