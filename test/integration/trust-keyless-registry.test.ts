// Issue 7 keyless: cosign keyless signatures (.sig layers with Fulcio certificate + Rekor SET annotations) and
// sigstore bundles attached as OCI 1.1 referrers, made by the project's Fulcio-like CA and fake Rekor
// (test/helpers/trust-fixtures.ts), pushed to a real docker-registry and verified offline by customs pull.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImages, runOk, startRegistry, type Registry } from './helpers/registry.js';
import type { PushedImage } from './helpers/images.js';
import { listing, sandbox, type Sandbox } from './helpers/customs.js';
import {
  certPem,
  cosignTlogLayer,
  imageDsseBundle,
  keylessWorld,
  newLog,
  type Cert,
  type Log,
} from '../helpers/trust-fixtures.js';
import {
  COSIGN_SIMPLE_SIGNING_TYPE,
  buildCosignSignatureManifestWithLayers,
  buildSimpleSigningPayload,
} from '../../src/trust/index.js';
import type { Digest } from '../../src/ref/index.js';

let reg: Registry;
let images: PushedImage[];
const world = keylessWorld({ email: 'release@customs.test', oidcIssuer: 'https://issuer.customs.test' });
const ISSUER = 'https://issuer.customs.test';
const EMAIL = 'release@customs.test';

before(async () => {
  reg = await startRegistry();
  images = await pushImages(reg, ['busybox']);
});
after(async () => {
  await reg.stop();
});

function image(name: string): PushedImage {
  const i = images.find((x) => x.name === name);
  assert.ok(i, `image ${name} was not pushed`);
  return i;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBlob(repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(start.status, 202);
  const loc = new URL(start.headers.get('location') ?? '', reg.url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  assert.equal(put.status, 201, await put.text());
  return digest;
}

async function pushManifest(repo: string, tag: string, bytes: Buffer, type: string): Promise<void> {
  const put = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': type },
    body: bytes,
  });
  assert.equal(put.status, 201, await put.text());
}

/** Copy busybox:latest to a fresh repository so each test owns its signatures. */
async function freshCopy(repo: string): Promise<{ ref: string; digest: string }> {
  const src = image('busybox:latest');
  await runOk('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${src.reference}`,
    `docker://${reg.host}/${repo}:latest`,
  ]);
  return { ref: `${reg.host}/${repo}:latest`, digest: src.digest };
}

/** Push a cosign `.sig` manifest with keyless (or key + Rekor) layers for `digest`. */
async function pushKeylessSignature(
  repo: string,
  digest: string,
  opts: { keyOnly?: boolean; log?: Log; dockerReference?: string } = {},
): Promise<void> {
  const payload = buildSimpleSigningPayload({
    dockerReference: opts.dockerReference ?? `${reg.host}/${repo}`,
    manifestDigest: digest as Digest,
    type: COSIGN_SIMPLE_SIGNING_TYPE,
  });
  const layer = cosignTlogLayer({
    payload,
    signer: world.signer,
    log: opts.log ?? world.log,
    integratedTime: world.signedAt,
    ...(opts.keyOnly === true ? {} : { leaf: world.leaf, chain: [world.ca] }),
  });
  const img = buildCosignSignatureManifestWithLayers([{ payload, ...layer }]);
  await pushBlob(repo, img.config);
  await pushBlob(repo, Buffer.from(payload));
  await pushManifest(repo, `sha256-${digest.slice(7)}.sig`, img.manifest, 'application/vnd.oci.image.manifest.v1+json');
}

async function keylessPolicy(
  sb: Sandbox,
  repo: string,
  over: { email?: string; issuer?: string; rekor?: Log; ca?: Cert } = {},
): Promise<string> {
  const ca = join(sb.dir, 'fulcio.pem');
  const rekor = join(sb.dir, 'rekor.pub');
  await writeFile(ca, certPem((over.ca ?? world.ca).der));
  await writeFile(rekor, (over.rekor ?? world.log).publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const p = join(sb.dir, 'policy.json');
  await writeFile(
    p,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          [`${reg.host}/${repo}`]: [
            {
              type: 'sigstoreSigned',
              fulcio: { caPath: ca, oidcIssuer: over.issuer ?? ISSUER, subjectEmail: over.email ?? EMAIL },
              rekorPublicKeyPath: rekor,
              signedIdentity: { type: 'matchRepository' },
            },
          ],
        },
      },
    }),
  );
  return p;
}

describe('cosign keyless .sig layers (Fulcio certificate + Rekor SET annotations)', () => {
  test('a keyless signature by the policy identity, logged by the policy Rekor key, is pulled', async () => {
    const sb = await sandbox();
    const { ref, digest } = await freshCopy('keyless-ok');
    await pushKeylessSignature('keyless-ok', digest);
    const policy = await keylessPolicy(sb, 'keyless-ok');
    const r = await sb.customs(['pull', ref, '--policy', policy, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { descriptor: { digest: string }; policy: { reasons: string[] } };
    assert.equal(out.descriptor.digest, digest);
    assert.match(out.policy.reasons.join('\n'), /accepted: signed by sha256:/);
    const v = await sb.customs(['verify', ref, '--policy', policy]);
    assert.equal(v.code, 0, v.stderr);
  });

  test('another subject email or another OIDC issuer is refused with exit 6; the store is unchanged', async () => {
    const sb = await sandbox();
    const { ref, digest } = await freshCopy('keyless-identity');
    await pushKeylessSignature('keyless-identity', digest);
    let before: string | undefined;
    for (const over of [{ email: 'mallory@customs.test' }, { issuer: 'https://evil.customs.test' }]) {
      const policy = await keylessPolicy(sb, 'keyless-identity', over);
      const r = await sb.customs(['pull', ref, '--policy', policy]);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /identity mismatch|certificate/);
      before ??= await listing(sb.store);
      assert.equal(await listing(sb.store), before);
    }
    const imgs = await sb.customs(['images', '--json']);
    assert.deepEqual(JSON.parse(imgs.stdout), []);
  });

  test('a Rekor SET from a log the policy does not trust is refused with exit 6 (forged Rekor entry)', async () => {
    const sb = await sandbox();
    const { ref, digest } = await freshCopy('keyless-rekor');
    await pushKeylessSignature('keyless-rekor', digest, { log: newLog() });
    const policy = await keylessPolicy(sb, 'keyless-rekor');
    const r = await sb.customs(['pull', ref, '--policy', policy]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /transparency log/);
  });

  test('a certificate from another CA is refused with exit 6 (untrusted Fulcio chain)', async () => {
    const sb = await sandbox();
    const { ref, digest } = await freshCopy('keyless-ca');
    await pushKeylessSignature('keyless-ca', digest);
    const other = keylessWorld({});
    const policy = await keylessPolicy(sb, 'keyless-ca', { ca: other.ca });
    const r = await sb.customs(['pull', ref, '--policy', policy]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /certificate not trusted/);
  });

  test('a keyless signature over another digest is refused with exit 6', async () => {
    const sb = await sandbox();
    const { ref, digest } = await freshCopy('keyless-digest');
    const other = image('busybox:latest-zstd').digest;
    // A valid signature for another manifest, placed at this image's .sig tag.
    const payload = buildSimpleSigningPayload({
      dockerReference: `${reg.host}/keyless-digest`,
      manifestDigest: other as Digest,
      type: COSIGN_SIMPLE_SIGNING_TYPE,
    });
    const layer = cosignTlogLayer({
      payload,
      signer: world.signer,
      log: world.log,
      integratedTime: world.signedAt,
      leaf: world.leaf,
    });
    const img = buildCosignSignatureManifestWithLayers([{ payload, ...layer }]);
    await pushBlob('keyless-digest', img.config);
    await pushBlob('keyless-digest', Buffer.from(payload));
    await pushManifest(
      'keyless-digest',
      `sha256-${digest.slice(7)}.sig`,
      img.manifest,
      'application/vnd.oci.image.manifest.v1+json',
    );
    const policy = await keylessPolicy(sb, 'keyless-digest');
    const r = await sb.customs(['pull', ref, '--policy', policy]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /signature is for manifest/);
  });

  test('a key + rekorPublicKey policy accepts a key signature with a Rekor SET and refuses one without', async () => {
    const sb = await sandbox();
    const { ref, digest } = await freshCopy('key-rekor');
    const keyPath = join(sb.dir, 'cosign.pub');
    await writeFile(keyPath, world.signer.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const rekor = join(sb.dir, 'rekor.pub');
    await writeFile(rekor, world.log.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const policy = join(sb.dir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${reg.host}/key-rekor`]: [
              {
                type: 'sigstoreSigned',
                keyPath,
                rekorPublicKeyPath: rekor,
                signedIdentity: { type: 'matchRepository' },
              },
            ],
          },
        },
      }),
    );
    const unsigned = await sb.customs(['pull', ref, '--policy', policy]);
    assert.equal(unsigned.code, 6, unsigned.stderr);
    await pushKeylessSignature('key-rekor', digest, { keyOnly: true });
    const r = await sb.customs(['pull', ref, '--policy', policy]);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('sigstore bundles as OCI 1.1 referrers (cosign v3)', () => {
  async function pushBundleReferrer(repo: string, digest: string, bundle: Record<string, unknown>): Promise<void> {
    const subject = await fetch(`${reg.url}/v2/${repo}/manifests/${digest}`, {
      headers: {
        accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    assert.equal(subject.status, 200);
    const subjectBytes = Buffer.from(await subject.arrayBuffer());
    const bundleBytes = Buffer.from(JSON.stringify(bundle));
    const empty = Buffer.from('{}');
    await pushBlob(repo, empty);
    const bundleDigest = await pushBlob(repo, bundleBytes);
    const artifactType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
        layers: [{ mediaType: artifactType, digest: bundleDigest, size: bundleBytes.length }],
        subject: {
          mediaType: subject.headers.get('content-type') ?? '',
          digest,
          size: subjectBytes.length,
        },
      }),
    );
    const manifestDigest = sha256(manifest);
    await pushManifest(repo, manifestDigest, manifest, 'application/vnd.oci.image.manifest.v1+json');
    // docker-registry 2.8 has no referrers API: the OCI 1.1 tag-schema fallback index.
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: manifestDigest,
            size: manifest.length,
            artifactType,
          },
        ],
      }),
    );
    await pushManifest(repo, `sha256-${digest.slice(7)}`, index, 'application/vnd.oci.image.index.v1+json');
  }

  test('a keyless DSSE bundle referrer for the image is verified by pull; one for another digest is refused', async () => {
    const sb = await sandbox();
    const { ref, digest } = await freshCopy('bundle-ok');
    await pushBundleReferrer(
      'bundle-ok',
      digest,
      imageDsseBundle({
        name: `${reg.host}/bundle-ok`,
        digestHex: digest.slice(7),
        log: world.log,
        integratedTime: world.signedAt,
        signer: world.signer,
        leaf: world.leaf,
      }),
    );
    const policy = await keylessPolicy(sb, 'bundle-ok');
    const r = await sb.customs(['pull', ref, '--policy', policy, '--json']);
    assert.equal(r.code, 0, r.stderr);

    const bad = await freshCopy('bundle-other');
    await pushBundleReferrer(
      'bundle-other',
      bad.digest,
      imageDsseBundle({
        name: `${reg.host}/bundle-other`,
        digestHex: image('busybox:latest-zstd').digest.slice(7),
        log: world.log,
        integratedTime: world.signedAt,
        signer: world.signer,
        leaf: world.leaf,
      }),
    );
    const policy2 = await keylessPolicy(sb, 'bundle-other');
    const refused = await sb.customs(['pull', bad.ref, '--policy', policy2]);
    assert.equal(refused.code, 6, refused.stderr);
    assert.match(refused.stderr, /bundle for another artifact/);
  });
});
