// Issue 7 signature sources end to end with real peers (docker-registry, skopeo, gpg) and real node:http
// servers on 127.0.0.1: GPG simple signatures read through an http:// lookaside, through the
// X-Registry-Supports-Signatures extension and from --signatures-from; the trust store round trip; a
// customsThreshold policy that counts distinct keys, not signatures.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { pushImages, requirePeer, runOk, startRegistry, type Registry } from './helpers/registry.js';
import type { PushedImage } from './helpers/images.js';
import { listing, sandbox, type Sandbox } from './helpers/customs.js';
import { gnupgHome, type GnupgHome } from '../helpers/trust-fixtures.js';

let reg: Registry;
let busybox: PushedImage;
let gpg: GnupgHome;
let otherGpg: GnupgHome;
const servers: Server[] = [];

before(async () => {
  requirePeer('skopeo');
  requirePeer('gpg');
  reg = await startRegistry();
  const pushed = await pushImages(reg, ['busybox']);
  const b = pushed.find((p) => p.name === 'busybox:latest');
  assert.ok(b, 'busybox:latest was not pushed');
  busybox = b;
  gpg = gnupgHome();
  otherGpg = gnupgHome('other signer <o@example.test>');
});

after(async () => {
  for (const s of servers) s.close();
  gpg.cleanup();
  otherGpg.cleanup();
  await reg.stop();
});

/** Listen on 127.0.0.1:0; the server is closed after all tests. */
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return `127.0.0.1:${addr.port}`;
}

/** A read-only static server over `root` (GET only, no path outside root); records every path asked for. */
async function staticServer(root: string, seen: string[]): Promise<string> {
  return listen((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    seen.push(path);
    const file = normalize(join(root, path));
    if (req.method !== 'GET' || !file.startsWith(root + sep)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (bytes) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes),
      () => res.writeHead(404).end(),
    );
  });
}

/** Copy busybox:latest to `repo:tag` in the registry (a fresh repository per test keeps signatures apart). */
async function copyTo(
  repoTag: string,
  opts: { global?: string[]; copy?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const target = `${reg.host}/${repoTag}`;
  await runOk(
    'skopeo',
    [
      ...(opts.global ?? []),
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      ...(opts.copy ?? []),
      `docker://${busybox.reference}`,
      `docker://${target}`,
    ],
    opts.env === undefined ? {} : { env: opts.env },
  );
  return target;
}

async function policyFile(sb: Sandbox, name: string, policy: unknown): Promise<string> {
  const p = join(sb.dir, name);
  await writeFile(p, `${JSON.stringify(policy, null, 2)}\n`);
  return p;
}

function signedByPolicy(scope: string, keyPath: string): unknown {
  return {
    default: [{ type: 'reject' }],
    transports: { docker: { [scope]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath }] } },
  };
}

/** registries.d with one file: `lookaside` (read) and optionally `lookaside-staging` (write) for `host`. */
async function registriesD(sb: Sandbox, name: string, host: string, read: string, write?: string): Promise<string> {
  const dir = join(sb.dir, name);
  await mkdir(dir, { recursive: true });
  const staging = write === undefined ? '' : `    lookaside-staging: ${write}\n`;
  await writeFile(join(dir, 'local.yaml'), `docker:\n  ${host}:\n    lookaside: ${read}\n${staging}`);
  return dir;
}

async function publicKeyFile(sb: Sandbox, name: string, home: GnupgHome): Promise<string> {
  const p = join(sb.dir, name);
  await writeFile(p, home.publicKeyArmored());
  return p;
}

describe('GPG signatures through an http:// lookaside', () => {
  test('a skopeo --sign-by signature served by an HTTP lookaside lets pull pass a signedBy policy', async () => {
    const sb = await sandbox();
    const sigdir = join(sb.dir, 'sigstore');
    await mkdir(sigdir, { recursive: true });
    const signRegd = await registriesD(sb, 'sign.d', reg.host, `file://${sigdir}`, `file://${sigdir}`);
    const target = await copyTo('lookaside-http:v1', {
      global: ['--registries.d', signRegd],
      copy: ['--sign-by', gpg.fingerprint],
      env: { ...process.env, GNUPGHOME: gpg.dir },
    });
    const seen: string[] = [];
    const lookaside = await staticServer(sigdir, seen);
    const regd = await registriesD(sb, 'read.d', reg.host, `http://${lookaside}`);
    const policy = await policyFile(
      sb,
      'policy.json',
      signedByPolicy(`${reg.host}/lookaside-http`, await publicKeyFile(sb, 'k.asc', gpg)),
    );
    const r = await sb.customs(['pull', target, '--policy', policy, '--registries.d', regd, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const digest = (JSON.parse(r.stdout) as { descriptor: { digest: string } }).descriptor.digest;
    assert.ok(seen.includes(`/lookaside-http@sha256=${digest.slice(7)}/signature-1`), seen.join(', '));
  });

  test('an HTTP lookaside without a signature for the image refuses the pull with exit 6 and tags nothing', async () => {
    const sb = await sandbox();
    const target = await copyTo('lookaside-http-empty:v1');
    const empty = join(sb.dir, 'empty');
    await mkdir(empty, { recursive: true });
    const seen: string[] = [];
    const lookaside = await staticServer(empty, seen);
    const regd = await registriesD(sb, 'read.d', reg.host, `http://${lookaside}`);
    const policy = await policyFile(
      sb,
      'policy.json',
      signedByPolicy(`${reg.host}/lookaside-http-empty`, await publicKeyFile(sb, 'k.asc', gpg)),
    );
    const r = await sb.customs(['pull', target, '--policy', policy, '--registries.d', regd, '--json']);
    assert.equal(r.code, 6, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'SIGNATURE_MISSING');
    assert.ok(seen.length > 0, 'the lookaside was asked');
    const imgs = await sb.customs(['images', '--json']);
    assert.deepEqual(JSON.parse(imgs.stdout), []);
  });
});

describe('the X-Registry-Supports-Signatures extension', () => {
  test('a signature served by /extensions/v2/<repo>/signatures/<digest> behind an advertising proxy lets pull pass', async () => {
    const sb = await sandbox();
    const repo = 'extension';
    await copyTo(`${repo}:v1`);
    let signatures: Buffer[] = [];
    const asked: string[] = [];
    const proxy = await listen((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const ext = /^\/extensions\/v2\/(.+)\/signatures\/(sha256:[0-9a-f]{64})$/.exec(path);
      if (ext !== null) {
        asked.push(path);
        const body = {
          signatures: signatures.map((s, i) => ({
            version: 2,
            type: 'atomic',
            name: `${ext[2]}@${i}`,
            content: s.toString('base64'),
          })),
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return;
      }
      const upstream = httpRequest(
        { host: '127.0.0.1', port: reg.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const headers = { ...up.headers };
          if (path === '/v2/' || path === '/v2') headers['x-registry-supports-signatures'] = '1';
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    const ref = `${proxy}/${repo}:v1`;
    // Sign the name as seen through the proxy, with customs sign --gpg-key into a staging dir, then serve that
    // signature through the extension only.
    const staging = join(sb.dir, 'staging');
    const signRegd = await registriesD(sb, 'sign.d', proxy, `file://${staging}`, `file://${staging}`);
    assert.equal((await sb.customs(['pull', ref, '-q', '--insecure-policy'])).code, 0);
    const s = await sb.customs(['sign', ref, '--gpg-key', gpg.fingerprint, '--registries.d', signRegd, '--json'], {
      env: { GNUPGHOME: gpg.dir },
    });
    assert.equal(s.code, 0, s.stderr);
    signatures = [await readFile((JSON.parse(s.stdout) as { path: string }).path)];
    assert.equal((await sb.customs(['rm', ref])).code, 0);
    assert.equal((await sb.customs(['gc', '-q'])).code, 0);
    const noLookaside = join(sb.dir, 'none.d');
    await mkdir(noLookaside, { recursive: true });
    const policy = await policyFile(
      sb,
      'policy.json',
      signedByPolicy(`${proxy}/${repo}`, await publicKeyFile(sb, 'k.asc', gpg)),
    );
    const r = await sb.customs(['pull', ref, '--policy', policy, '--registries.d', noLookaside]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(asked.length, 1, 'the extension endpoint was asked once');
  });
});

describe('customs verify --signatures-from', () => {
  async function signedInStore(sb: Sandbox, repo: string): Promise<{ ref: string; staging: string }> {
    const ref = await copyTo(`${repo}:v1`);
    const staging = join(sb.dir, 'staging');
    const regd = await registriesD(sb, 'sign.d', reg.host, `file://${staging}`, `file://${staging}`);
    assert.equal((await sb.customs(['pull', ref, '-q', '--insecure-policy'])).code, 0);
    const s = await sb.customs(['sign', ref, '--gpg-key', gpg.fingerprint, '--registries.d', regd], {
      env: { GNUPGHOME: gpg.dir },
    });
    assert.equal(s.code, 0, s.stderr);
    return { ref, staging };
  }

  test('verify --signatures-from DIR accepts a stored image signed in DIR, with no registries.d', async () => {
    const sb = await sandbox();
    const { ref, staging } = await signedInStore(sb, 'sigfrom');
    const policy = await policyFile(
      sb,
      'policy.json',
      signedByPolicy(`${reg.host}/sigfrom`, await publicKeyFile(sb, 'k.asc', gpg)),
    );
    const r = await sb.customs(['verify', ref, '--policy', policy, '--signatures-from', staging]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('verify --signatures-from an empty DIR refuses with exit 6 even when the registry is reachable', async () => {
    const sb = await sandbox();
    const { ref } = await signedInStore(sb, 'sigfrom-empty');
    const empty = join(sb.dir, 'empty');
    await mkdir(empty, { recursive: true });
    const policy = await policyFile(
      sb,
      'policy.json',
      signedByPolicy(`${reg.host}/sigfrom-empty`, await publicKeyFile(sb, 'k.asc', gpg)),
    );
    const r = await sb.customs(['verify', ref, '--policy', policy, '--signatures-from', empty, '--json']);
    assert.equal(r.code, 6, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'SIGNATURE_MISSING');
  });
});

describe('customs trust add --gpg-key', () => {
  test('a key added for one scope lets that scope pull, and a signature by it does not satisfy another scope (exit 6)', async () => {
    const sb = await sandbox();
    const sigdir = join(sb.dir, 'sigstore');
    await mkdir(sigdir, { recursive: true });
    const regd = await registriesD(sb, 'regs.d', reg.host, `file://${sigdir}`, `file://${sigdir}`);
    const signed = {
      global: ['--registries.d', regd],
      copy: ['--sign-by', gpg.fingerprint],
      env: { ...process.env, GNUPGHOME: gpg.dir },
    };
    const mine = await copyTo('trusted-gpg:v1', signed);
    const theirs = await copyTo('other-gpg:v1', signed);
    const policyPath = join(sb.dir, 'trust-policy.json');
    assert.equal((await sb.customs(['policy', 'init', '--policy', policyPath])).code, 0);
    const key = await publicKeyFile(sb, 'mine.asc', gpg);
    const otherKey = await publicKeyFile(sb, 'other.asc', otherGpg);
    const a = await sb.customs(['trust', 'add', `${reg.host}/trusted-gpg`, '--gpg-key', key, '--policy', policyPath]);
    assert.equal(a.code, 0, a.stderr);
    const b = await sb.customs([
      'trust',
      'add',
      `${reg.host}/other-gpg`,
      '--gpg-key',
      otherKey,
      '--policy',
      policyPath,
    ]);
    assert.equal(b.code, 0, b.stderr);
    const list = await sb.customs(['trust', 'list', '--policy', policyPath]);
    assert.match(list.stdout, /trusted-gpg/);
    const ok = await sb.customs(['pull', mine, '--policy', policyPath, '--registries.d', regd]);
    assert.equal(ok.code, 0, ok.stderr);
    const before = await listing(sb.store);
    const refused = await sb.customs(['pull', theirs, '--policy', policyPath, '--registries.d', regd]);
    assert.equal(refused.code, 6, refused.stderr);
    assert.equal(await listing(sb.store), before, 'store unchanged by the refused pull');
  });
});

describe('customsThreshold counts distinct keys', () => {
  /** Three key pairs, and a 2-of-3 policy whose every member accepts any of the three keys. */
  async function thresholdSetup(sb: Sandbox, repo: string): Promise<{ ref: string; keys: string[]; policy: string }> {
    const ref = await copyTo(`${repo}:v1`);
    assert.equal((await sb.customs(['pull', ref, '-q', '--insecure-policy'])).code, 0);
    const keys: string[] = [];
    for (const k of ['k1', 'k2', 'k3']) {
      const gen = await sb.customs(['generate-key', '--output-key-prefix', join(sb.dir, k)]);
      assert.equal(gen.code, 0, gen.stderr);
      keys.push(join(sb.dir, k));
    }
    const member = {
      type: 'sigstoreSigned',
      keyPaths: keys.map((k) => `${k}.pub`),
      signedIdentity: { type: 'matchRepository' },
    };
    const policy = await policyFile(sb, 'policy.json', {
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          [`${reg.host}/${repo}`]: [{ type: 'customsThreshold', threshold: 2, requirements: [member, member, member] }],
        },
      },
    });
    return { ref, keys, policy };
  }

  async function signWith(sb: Sandbox, ref: string, key: string): Promise<void> {
    const s = await sb.customs(['sign', ref, '--key', `${key}.key`]);
    assert.equal(s.code, 0, s.stderr);
  }

  test('two .sig layers from the same key do not meet a 2-of-3 threshold: exit 6, nothing tagged', async () => {
    const sb = await sandbox();
    const { ref, keys, policy } = await thresholdSetup(sb, 'threshold-dup');
    await signWith(sb, ref, keys[0]!);
    await signWith(sb, ref, keys[0]!);
    const sig = await fetch(
      `${reg.url}/v2/threshold-dup/manifests/sha256-${(await storedDigest(sb, ref)).slice(7)}.sig`,
      { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } },
    );
    assert.equal(((await sig.json()) as { layers: unknown[] }).layers.length, 2, 'two signature layers');
    assert.equal((await sb.customs(['rm', ref])).code, 0);
    assert.equal((await sb.customs(['gc', '-q'])).code, 0);
    const before = await listing(sb.store);
    const r = await sb.customs(['pull', ref, '--policy', policy, '--json']);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /1 distinct key\(s\) of 2 required/);
    assert.equal(await listing(sb.store), before);
  });

  test('signatures by two distinct keys meet a 2-of-3 threshold and the pull passes', async () => {
    const sb = await sandbox();
    const { ref, keys, policy } = await thresholdSetup(sb, 'threshold-two');
    await signWith(sb, ref, keys[0]!);
    await signWith(sb, ref, keys[2]!);
    assert.equal((await sb.customs(['rm', ref])).code, 0);
    const r = await sb.customs(['pull', ref, '--policy', policy]);
    assert.equal(r.code, 0, r.stderr);
  });
});

async function storedDigest(sb: Sandbox, ref: string): Promise<string> {
  const r = await sb.customs(['images', '--json']);
  const list = JSON.parse(r.stdout) as { name: string; digest: string }[];
  const hit = list.find((i) => i.name === ref);
  assert.ok(hit, `${ref} not in the store: ${r.stdout}`);
  return hit.digest;
}
