// Issue 7 end to end against Debian's docker-registry with real peers (skopeo, gpg): customs sign → customs pull
// under a policy; refusals leave the store as it was; GPG interop with skopeo both ways.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImages, requirePeer, runOk, startRegistry, type Registry } from './helpers/registry.js';
import type { PushedImage } from './helpers/images.js';
import { listing, sandbox, type Sandbox } from './helpers/customs.js';
import { gnupgHome, keylessWorld, messageBundle, type GnupgHome } from '../helpers/trust-fixtures.js';

let reg: Registry;
let images: PushedImage[];
let gpg: GnupgHome;

function image(name: string): PushedImage {
  const i = images.find((x) => x.name === name);
  assert.ok(i, `image ${name} was not pushed`);
  return i;
}

before(async () => {
  requirePeer('skopeo');
  requirePeer('gpg');
  reg = await startRegistry();
  images = await pushImages(reg, ['busybox']);
  gpg = gnupgHome();
});

after(async () => {
  gpg.cleanup();
  await reg.stop();
});

/** Write `policy` as JSON into the sandbox and return its path. */
async function policyFile(sb: Sandbox, name: string, policy: unknown): Promise<string> {
  const p = join(sb.dir, name);
  await writeFile(p, `${JSON.stringify(policy, null, 2)}\n`);
  return p;
}

function sigstorePolicy(scope: string, keyPath: string): unknown {
  return {
    default: [{ type: 'reject' }],
    transports: {
      docker: {
        [scope]: [{ type: 'sigstoreSigned', keyPath, signedIdentity: { type: 'matchRepository' } }],
      },
    },
  };
}

/** Pull `ref` into the sandbox without policy checks, generate a key pair and sign it. */
async function pullAndSign(sb: Sandbox, ref: string, prefix: string, extra: string[] = []): Promise<string> {
  const pulled = await sb.customs(['pull', ref, '-q', '--insecure-policy']);
  assert.equal(pulled.code, 0, pulled.stderr);
  const gen = await sb.customs(['generate-key', '--output-key-prefix', join(sb.dir, prefix)]);
  assert.equal(gen.code, 0, gen.stderr);
  const signed = await sb.customs(['sign', ref, '--key', join(sb.dir, `${prefix}.key`), ...extra]);
  assert.equal(signed.code, 0, signed.stderr);
  return join(sb.dir, `${prefix}.pub`);
}

async function registryManifest(
  repo: string,
  tagOrDigest: string,
): Promise<{ bytes: Buffer; type: string; digest: string }> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tagOrDigest}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  assert.equal(res.status, 200, `GET ${repo}:${tagOrDigest}`);
  return {
    bytes: Buffer.from(await res.arrayBuffer()),
    type: res.headers.get('content-type') ?? '',
    digest: res.headers.get('docker-content-digest') ?? '',
  };
}

describe('customs sign and pull under a policy (cosign key-based)', () => {
  test('an image signed with customs sign --key is pulled under a sigstoreSigned policy with that key, and verify agrees', async () => {
    const sb = await sandbox();
    const busybox = image('busybox:latest');
    const pub = await pullAndSign(sb, busybox.reference, 'k1');
    assert.equal((await sb.customs(['rm', busybox.reference])).code, 0);
    assert.equal((await sb.customs(['gc', '-q'])).code, 0);
    const policy = await policyFile(sb, 'policy.json', sigstorePolicy(`${reg.host}/busybox`, pub));
    const r = await sb.customs(['pull', busybox.reference, '--policy', policy, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { descriptor: { digest: string }; policy: { reasons: string[] } };
    assert.equal(out.descriptor.digest, busybox.digest);
    assert.match(out.policy.reasons.join('\n'), /accepted: signed by sha256:/);
    const v = await sb.customs(['verify', busybox.reference, '--policy', policy]);
    assert.equal(v.code, 0, v.stderr);
  });

  test('a signature by another key is refused with exit 6; nothing is tagged and the store is unchanged', async () => {
    const sb = await sandbox();
    const busybox = image('busybox:latest');
    await pullAndSign(sb, busybox.reference, 'signer');
    const other = await sb.customs(['generate-key', '--output-key-prefix', join(sb.dir, 'other')]);
    assert.equal(other.code, 0, other.stderr);
    assert.equal((await sb.customs(['rm', busybox.reference])).code, 0);
    assert.equal((await sb.customs(['gc', '-q'])).code, 0);
    const before = await listing(sb.store);
    const policy = await policyFile(
      sb,
      'policy.json',
      sigstorePolicy(`${reg.host}/busybox`, join(sb.dir, 'other.pub')),
    );
    const r = await sb.customs(['pull', busybox.reference, '--policy', policy, '--json']);
    assert.equal(r.code, 6, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'SIGNATURE_INVALID');
    assert.equal(await listing(sb.store), before, 'store listing unchanged');
    const imgs = await sb.customs(['images', '--json']);
    assert.deepEqual(JSON.parse(imgs.stdout), []);
  });

  test('an unsigned image is refused with exit 6 (SIGNATURE_MISSING)', async () => {
    const sb = await sandbox();
    const gen = await sb.customs(['generate-key', '--output-key-prefix', join(sb.dir, 'k')]);
    assert.equal(gen.code, 0, gen.stderr);
    const policy = await policyFile(sb, 'policy.json', sigstorePolicy(`${reg.host}/busybox`, join(sb.dir, 'k.pub')));
    // A store with one image in it, so "unchanged" compares a real layout.
    assert.equal(
      (await sb.customs(['pull', image('busybox:latest-zstd').reference, '-q', '--insecure-policy'])).code,
      0,
    );
    const before = await listing(sb.store);
    const r = await sb.customs(['pull', image('busybox:latest-v2s2').reference, '--policy', policy, '--json']);
    assert.equal(r.code, 6, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'SIGNATURE_MISSING');
    assert.equal(await listing(sb.store), before);
  });

  test('a valid signature copied from another image (over another digest) is refused with exit 6', async () => {
    const sb = await sandbox();
    const signedImage = image('busybox:latest');
    const victim = image('busybox:latest-zstd');
    const pub = await pullAndSign(sb, signedImage.reference, 'k');
    const sig = await registryManifest('busybox', `sha256-${signedImage.digest.slice(7)}.sig`);
    const put = await fetch(`${reg.url}/v2/busybox/manifests/sha256-${victim.digest.slice(7)}.sig`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: sig.bytes,
    });
    assert.equal(put.status, 201);
    const policy = await policyFile(sb, 'policy.json', sigstorePolicy(`${reg.host}/busybox`, pub));
    const r = await sb.customs(['pull', victim.reference, '--policy', policy]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /signature is for manifest sha256:/);
  });

  test('sign --referrers publishes an OCI 1.1 referrer that pull verifies without the .sig tag', async () => {
    const sb = await sandbox();
    const v2 = image('busybox:latest-v2s2');
    const pub = await pullAndSign(sb, v2.reference, 'k', ['--referrers']);
    // Remove the .sig tag: only the referrer (found through the sha256-<hex> tag schema) is left.
    const sig = await registryManifest('busybox', `sha256-${v2.digest.slice(7)}.sig`);
    const del = await fetch(`${reg.url}/v2/busybox/manifests/${sig.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const index = await registryManifest('busybox', `sha256-${v2.digest.slice(7)}`);
    assert.match(index.bytes.toString(), /application\/vnd\.dev\.cosign\.artifact\.sig\.v1\+json/);
    assert.equal((await sb.customs(['rm', v2.reference])).code, 0);
    const policy = await policyFile(sb, 'policy.json', sigstorePolicy(`${reg.host}/busybox`, pub));
    const r = await sb.customs(['pull', v2.reference, '--policy', policy]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a key trusted for one repository does not vouch for another (exit 6)', async () => {
    const sb = await sandbox();
    const src = image('busybox:latest');
    const other = `${reg.host}/other:latest`;
    await runOk('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${src.reference}`,
      `docker://${other}`,
    ]);
    // k1 signs `other`; policy: k1 for busybox only, k2 for other.
    const k1 = await pullAndSign(sb, other, 'k1');
    const gen = await sb.customs(['generate-key', '--output-key-prefix', join(sb.dir, 'k2')]);
    assert.equal(gen.code, 0);
    assert.equal((await sb.customs(['rm', other])).code, 0);
    const policyPath = join(sb.dir, 'trust-policy.json');
    assert.equal((await sb.customs(['policy', 'init', '--policy', policyPath])).code, 0);
    const a = await sb.customs(['trust', 'add', `${reg.host}/busybox`, '--cosign-key', k1, '--policy', policyPath]);
    assert.equal(a.code, 0, a.stderr);
    const b = await sb.customs([
      'trust',
      'add',
      `${reg.host}/other`,
      '--cosign-key',
      join(sb.dir, 'k2.pub'),
      '--policy',
      policyPath,
    ]);
    assert.equal(b.code, 0, b.stderr);
    const list = await sb.customs(['trust', 'list', '--policy', policyPath]);
    assert.match(list.stdout, /other/);
    const r = await sb.customs(['pull', other, '--policy', policyPath]);
    assert.equal(r.code, 6, r.stderr);
    assert.equal((await sb.customs(['trust', 'rm', `${reg.host}/other`, '--policy', policyPath])).code, 0);
    // The scope is gone: `other` falls back to the starter policy's default, reject (7).
    const rejected = await sb.customs(['pull', other, '--policy', policyPath]);
    assert.equal(rejected.code, 7, rejected.stderr);
  });
});

describe('policy refusals before any connection', () => {
  let server: Server;
  let connections = 0;
  let host = '';
  before(async () => {
    server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    assert.ok(addr !== null && typeof addr === 'object');
    host = `127.0.0.1:${addr.port}`;
  });
  after(() => {
    server.close();
  });

  test('a reject scope refuses with exit 7 and no connection is made', async () => {
    const sb = await sandbox();
    const policy = await policyFile(sb, 'policy.json', {
      default: [{ type: 'insecureAcceptAnything' }],
      transports: { docker: { [host]: [{ type: 'reject' }] } },
    });
    const r = await sb.customs(['pull', `${host}/busybox:latest`, '--policy', policy, '--json']);
    assert.equal(r.code, 7, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'POLICY_REJECTED');
    assert.equal(connections, 0);
  });

  test('a missing policy file refuses with exit 7 (POLICY_INVALID) and no connection is made', async () => {
    const sb = await sandbox();
    const r = await sb.customs(['pull', `${host}/busybox:latest`, '--policy', join(sb.dir, 'nope.json')]);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(connections, 0);
  });

  test('a look-alike repository name (busyb0x vs trusted busybox) is refused with exit 3', async () => {
    const sb = await sandbox();
    const policy = await policyFile(sb, 'policy.json', {
      default: [{ type: 'insecureAcceptAnything' }],
      transports: { docker: { [`${host}/busybox`]: [{ type: 'insecureAcceptAnything' }] } },
    });
    const r = await sb.customs(['pull', `${host}/busyb0x:latest`, '--policy', policy, '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'LOOKALIKE_NAME');
    assert.equal(connections, 0);
  });
});

describe('GPG simple signing interop with skopeo', () => {
  async function gpgSetup(sb: Sandbox): Promise<{ regd: string; sigdir: string; keyFile: string }> {
    const sigdir = join(sb.dir, 'sigstore');
    const regd = join(sb.dir, 'registries.d');
    await mkdir(regd, { recursive: true });
    await mkdir(sigdir, { recursive: true });
    await writeFile(
      join(regd, 'local.yaml'),
      `docker:\n  ${reg.host}:\n    lookaside: file://${sigdir}\n    lookaside-staging: file://${sigdir}\n`,
    );
    const keyFile = join(sb.dir, 'signer.asc');
    await writeFile(keyFile, gpg.publicKeyArmored());
    return { regd, sigdir, keyFile };
  }

  function signedByPolicy(keyFile: string): unknown {
    return {
      default: [{ type: 'reject' }],
      transports: {
        docker: { [`${reg.host}/busybox`]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: keyFile }] },
        oci: { '': [{ type: 'insecureAcceptAnything' }] },
      },
    };
  }

  test('what skopeo copy --sign-by signs, customs pull verifies under a signedBy policy', async () => {
    const sb = await sandbox();
    const { regd, keyFile } = await gpgSetup(sb);
    const target = `${reg.host}/busybox:gpg-skopeo`;
    await runOk(
      'skopeo',
      [
        '--registries.d',
        regd,
        'copy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--sign-by',
        gpg.fingerprint,
        `docker://${image('busybox:latest').reference}`,
        `docker://${target}`,
      ],
      { env: { ...process.env, GNUPGHOME: gpg.dir } },
    );
    const policy = await policyFile(sb, 'policy.json', signedByPolicy(keyFile));
    const r = await sb.customs(['pull', target, '--policy', policy, '--registries.d', regd]);
    assert.equal(r.code, 0, r.stderr);
    // The same signature does not cover another tag's name under matchRepoDigestOrExact.
    const wrongKey = await policyFile(sb, 'wrong.json', signedByPolicy(join(sb.dir, 'nokey.asc')));
    await writeFile(join(sb.dir, 'nokey.asc'), gnupgHomeOther());
    const refused = await sb.customs(['pull', target, '--policy', wrongKey, '--registries.d', regd]);
    assert.equal(refused.code, 6, refused.stderr);
  });

  test('what customs sign --gpg-key signs, skopeo accepts under its own signedBy policy', async () => {
    const sb = await sandbox();
    const { regd, keyFile } = await gpgSetup(sb);
    const ref = image('busybox:latest').reference;
    assert.equal((await sb.customs(['pull', ref, '-q', '--insecure-policy'])).code, 0);
    const s = await sb.customs(['sign', ref, '--gpg-key', gpg.fingerprint, '--registries.d', regd], {
      env: { GNUPGHOME: gpg.dir },
    });
    assert.equal(s.code, 0, s.stderr);
    const policy = await policyFile(sb, 'skopeo-policy.json', signedByPolicy(keyFile));
    await runOk('skopeo', [
      '--policy',
      policy,
      '--registries.d',
      regd,
      'copy',
      '--remove-signatures',
      '--src-tls-verify=false',
      `docker://${ref}`,
      `oci:${join(sb.dir, 'layout')}:x`,
    ]);
    const v = await sb.customs(['verify', ref, '--policy', policy, '--registries.d', regd]);
    assert.equal(v.code, 0, v.stderr);
  });
});

let otherKey: string | undefined;
/** An armored public key of a second, unrelated GnuPG key (created once). */
function gnupgHomeOther(): string {
  if (otherKey === undefined) {
    const h = gnupgHome('other <o@example.test>');
    otherKey = h.publicKeyArmored();
    h.cleanup();
  }
  return otherKey;
}

describe('offline verification', () => {
  test('verify --checksums accepts a gpg --clearsign SHA256SUMS for the archive and refuses a tampered archive', async () => {
    const sb = await sandbox();
    const archive = join(sb.dir, 'image.tar');
    await writeFile(archive, Buffer.alloc(4096, 7));
    const sums = await runOk('sha256sum', ['image.tar'], { cwd: sb.dir });
    await writeFile(join(sb.dir, 'SHA256SUMS'), sums.stdout);
    gpg.gpg([
      '--clearsign',
      '--local-user',
      gpg.fingerprint,
      '--output',
      join(sb.dir, 'SHA256SUMS.asc'),
      join(sb.dir, 'SHA256SUMS'),
    ]);
    const key = join(sb.dir, 'key.asc');
    await writeFile(key, gpg.publicKeyArmored());
    const ok = await sb.customs(['verify', '--checksums', join(sb.dir, 'SHA256SUMS.asc'), '--key', key, archive]);
    assert.equal(ok.code, 0, ok.stderr);
    await writeFile(archive, Buffer.alloc(4096, 8));
    const bad = await sb.customs(['verify', '--checksums', join(sb.dir, 'SHA256SUMS.asc'), '--key', key, archive]);
    assert.equal(bad.code, 6, bad.stderr);
  });

  test('verify-blob verifies a keyless bundle offline and refuses another identity', async () => {
    const sb = await sandbox();
    const world = keylessWorld({});
    const artifact = Buffer.from('hello customs\n');
    const bundle = messageBundle({
      artifact,
      log: world.log,
      integratedTime: world.signedAt,
      signer: world.signer,
      leaf: world.leaf,
    });
    const file = join(sb.dir, 'blob.txt');
    await writeFile(file, artifact);
    await writeFile(join(sb.dir, 'bundle.json'), JSON.stringify(bundle));
    await writeFile(join(sb.dir, 'root.json'), JSON.stringify(world.root));
    const args = [
      'verify-blob',
      file,
      '--bundle',
      join(sb.dir, 'bundle.json'),
      '--trusted-root',
      join(sb.dir, 'root.json'),
    ];
    const ok = await sb.customs([
      ...args,
      '--certificate-identity',
      'signer@customs.test',
      '--certificate-oidc-issuer',
      'https://issuer.customs.test',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await sb.customs([
      ...args,
      '--certificate-identity',
      'mallory@customs.test',
      '--certificate-oidc-issuer',
      'https://issuer.customs.test',
    ]);
    assert.equal(bad.code, 6, bad.stderr);
    assert.ok((await readFile(file)).equals(artifact));
  });
});
