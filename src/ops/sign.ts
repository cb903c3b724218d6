/**
 * `customs sign` and `customs generate-key`: sign the manifest digest the store holds for a name (never a
 * digest a registry reports), as cosign (key-based, pushed to the `sha256-<hex>.sig` tag and optionally as an
 * OCI 1.1 referrer) or as GPG simple signing (written to the registries.d `lookaside-staging` directory, as
 * `skopeo copy --sign-by` does).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, writeFile } from '../internal/fsp.js';
import { createPrivateKey } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomsError, isCustomsError } from '../errors.js';
import { sha256Digest } from '../internal/hash.js';
import { readCapped } from '../internal/limit.js';
import { MediaTypes, parseManifest, type Descriptor } from '../oci/index.js';
import { lookasideFor } from '../policy/index.js';
import {
  assertNotBlocked,
  digestAlgorithm,
  digestHex,
  formatReference,
  resolveName,
  rewriteToLocation,
  type Digest,
  type Reference,
} from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import {
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIMPLE_SIGNING_TYPE,
  MAX_COSIGN_PAYLOAD_BYTES,
  buildCosignSignatureManifestWithLayers,
  buildSimpleSigningPayload,
  cosignSignatureTag,
  generateKeyPair,
  parseCosignSignatureManifest,
  publicKeyId,
  encryptCosignPrivateKey,
  readCosignPrivateKey,
  signCosign,
  signGpgSimple,
} from '../trust/index.js';
import { registriesDFor, type Context } from './context.js';
import { openExistingStore, resolveLocal } from './local.js';
import { registryClientFor } from './pull.js';
import { COSIGN_SIGNATURE_ARTIFACT_TYPE, MAX_LOOKASIDE_SIGNATURES, lookasideSignatureUrl } from './verify.js';

/** `gpg --export-secret-keys` output larger than this is not one key. */
export const MAX_GPG_EXPORT_BYTES = 1024 * 1024;
/** How long `gpg --export-secret-keys` may take (it may start gpg-agent). */
export const GPG_EXPORT_TIMEOUT_MS = 30_000;

/** The image a name points at in the store, with its policy identity and its registry location. */
interface StoredImage {
  readonly name: string;
  readonly descriptor: Descriptor;
  /** The name without tag or digest pinning removed: what the signature's `docker-reference` says. */
  readonly ref: Reference;
  /** Where to push: the location after registries.conf rewriting. */
  readonly pushRef: Reference;
}

async function storedImage(ctx: Context, untrustedName: string): Promise<StoredImage> {
  const store = await openExistingStore(ctx);
  const { name, descriptor } = await resolveLocal(store, untrustedName);
  const ref = resolveName(name, ctx.registriesConf);
  assertNotBlocked(ctx.registriesConf, ref);
  const location = rewriteToLocation(ctx.registriesConf, ref);
  return {
    name,
    descriptor,
    ref,
    pushRef: { registry: location.registry, repository: location.repository },
  };
}

/** The `docker-reference` a signature names: the stored name with its tag (or digest), as skopeo signs. */
function signedReference(ref: Reference): string {
  return formatReference(ref);
}

export interface CosignSignOptions {
  /** PEM private key (PKCS#8, SEC1 or encrypted PKCS#8). */
  readonly keyPem: string;
  readonly password?: string | undefined;
  /** Also push an OCI 1.1 referrer (artifact manifest with `subject`) and update the tag-schema index. */
  readonly referrers?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface CosignSignResult {
  readonly name: string;
  readonly digest: Digest;
  readonly keyId: string;
  readonly signatureTag: string;
  readonly signatureManifest: Digest;
  readonly referrer?: Digest;
}

interface SignatureEntry {
  payload: Buffer;
  signatureB64: string;
  annotations?: Record<string, string>;
}

/** Signatures already at the `.sig` tag, so a new one is appended rather than replacing them (as cosign). */
async function existingSignatures(
  client: RegistryClient,
  pushRef: Reference,
  tag: string,
  signal?: AbortSignal,
): Promise<SignatureEntry[]> {
  const m = await client.manifestIfPresent({ ...pushRef, tag }, undefined, signal);
  if (m === undefined) return [];
  const out: SignatureEntry[] = [];
  for (const layer of parseCosignSignatureManifest(m.bytes)) {
    const d = layer.layerDescriptor;
    const payload = await readCapped(
      await client.fetch(pushRef, d, signal),
      MAX_COSIGN_PAYLOAD_BYTES,
      `payload ${d.digest}`,
      signal,
    );
    if (sha256Digest(payload) !== d.digest) {
      throw new CustomsError(
        'DIGEST_MISMATCH',
        `signature payload ${d.digest}: digest mismatch; refusing to re-publish it`,
      );
    }
    const annotations = { ...(d.annotations ?? {}) };
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the builder re-adds it from signatureB64
    delete annotations[COSIGN_SIGNATURE_ANNOTATION];
    out.push({ payload, signatureB64: layer.signatureB64, annotations });
  }
  return out;
}

function blobDescriptor(bytes: Buffer, mediaType: string): Descriptor {
  return { mediaType, digest: sha256Digest(bytes) as Digest, size: bytes.length };
}

/**
 * Sign the image the store holds for `untrustedName` with a cosign-compatible key-based signature and push it
 * to the registry the name points at (after registries.conf rewriting): blobs, then the manifest at
 * `sha256-<hex>.sig` (existing signatures there are kept). With `referrers`, also push an OCI 1.1 artifact
 * manifest whose `subject` is the image and add it to the `sha256-<hex>` tag-schema index. Verifies the key
 * parses; does not verify anything about the image beyond it being in the store.
 */
export async function signCosignImage(
  ctx: Context,
  untrustedName: string,
  options: CosignSignOptions,
): Promise<CosignSignResult> {
  const { signal } = options;
  const image = await storedImage(ctx, untrustedName);
  const key = readCosignPrivateKey(options.keyPem, options.password);
  const digest = image.descriptor.digest;
  const payload = buildSimpleSigningPayload({
    dockerReference: signedReference(image.ref),
    manifestDigest: digest,
    type: COSIGN_SIMPLE_SIGNING_TYPE,
    optional: null,
  });
  const signatureB64 = signCosign(payload, key);
  const client = registryClientFor(ctx);
  try {
    const tag = cosignSignatureTag(digest);
    const entries = await existingSignatures(client, image.pushRef, tag, signal);
    if (!entries.some((e) => e.signatureB64 === signatureB64 && e.payload.equals(payload))) {
      entries.push({ payload, signatureB64 });
    }
    const sigImage = buildCosignSignatureManifestWithLayers(entries);
    await client.putBlob(image.pushRef, sigImage.configDescriptor, sigImage.config, signal);
    for (const e of entries) {
      await client.putBlob(image.pushRef, blobDescriptor(e.payload, 'application/octet-stream'), e.payload, signal);
    }
    const signatureManifest = await client.putManifest(
      image.pushRef,
      tag,
      sigImage.manifest,
      MediaTypes.ociManifest,
      signal,
    );
    let referrer: Digest | undefined;
    if (options.referrers === true) {
      referrer = await pushReferrer(client, image, payload, signatureB64, signal);
    }
    return {
      name: image.name,
      digest,
      keyId: publicKeyId(key),
      signatureTag: tag,
      signatureManifest,
      ...(referrer === undefined ? {} : { referrer }),
    };
  } finally {
    await client.close();
  }
}

/**
 * OCI 1.1 referrer (image-spec manifest.md "subject", distribution-spec "Pushing Manifests with Subject"): an
 * artifact manifest of type COSIGN_SIGNATURE_ARTIFACT_TYPE with the empty config and the simple-signing layer.
 * A registry without the referrers API ignores `subject`, so the `sha256-<hex>` tag-schema index is updated too.
 */
async function pushReferrer(
  client: RegistryClient,
  image: StoredImage,
  payload: Buffer,
  signatureB64: string,
  signal?: AbortSignal,
): Promise<Digest> {
  const empty = Buffer.from('{}');
  const config = blobDescriptor(empty, MediaTypes.ociEmpty);
  const layer = {
    ...blobDescriptor(payload, 'application/vnd.dev.cosign.simplesigning.v1+json'),
    annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signatureB64 },
  };
  const subject = {
    mediaType: image.descriptor.mediaType,
    digest: image.descriptor.digest,
    size: image.descriptor.size,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: COSIGN_SIGNATURE_ARTIFACT_TYPE,
      config,
      layers: [layer],
      subject,
    }),
  );
  await client.putBlob(image.pushRef, config, empty, signal);
  await client.putBlob(image.pushRef, blobDescriptor(payload, layer.mediaType), payload, signal);
  const digest = await client.putManifest(
    image.pushRef,
    sha256Digest(manifest),
    manifest,
    MediaTypes.ociManifest,
    signal,
  );
  if ((await client.referrers(image.pushRef, image.descriptor.digest, signal)) === undefined) {
    const fallbackTag = `${digestAlgorithm(image.descriptor.digest)}-${digestHex(image.descriptor.digest)}`;
    const existing = await client.manifestIfPresent({ ...image.pushRef, tag: fallbackTag }, undefined, signal);
    let manifests: Descriptor[] = [];
    if (existing !== undefined) {
      const doc = parseManifest(existing.bytes, {
        contentType: existing.contentType,
        subject: `referrers tag ${fallbackTag}`,
      });
      if (doc.kind === 'index') manifests = [...doc.manifests];
    }
    if (!manifests.some((m) => m.digest === digest)) {
      manifests.push({
        mediaType: MediaTypes.ociManifest,
        digest,
        size: manifest.length,
        artifactType: COSIGN_SIGNATURE_ARTIFACT_TYPE,
      });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }));
    await client.putManifest(image.pushRef, fallbackTag, index, MediaTypes.ociIndex, signal);
  }
  return digest;
}

export interface GpgSignOptions {
  /** Armored secret key; or `fingerprint` to export one from `$GNUPGHOME`. */
  readonly privateKeyArmored?: string | undefined;
  readonly fingerprint?: string | undefined;
  readonly passphrase?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface GpgSignResult {
  readonly name: string;
  readonly digest: Digest;
  readonly path: string;
}

/** `gpg --export-secret-keys --armor FPR` from `$GNUPGHOME` (spawned without a shell, stdin = passphrase). */
export async function exportGpgSecretKey(
  env: Readonly<Record<string, string | undefined>>,
  fingerprint: string,
  passphrase?: string,
  signal?: AbortSignal,
): Promise<string> {
  if (!/^(?:0x)?[0-9A-Fa-f]{16,40}$/.test(fingerprint)) {
    throw new CustomsError(
      'USAGE',
      `--gpg-key: expected a key fingerprint or long key id (hex), got ${JSON.stringify(fingerprint.slice(0, 60))}`,
    );
  }
  const args = [
    '--batch',
    '--armor',
    '--pinentry-mode',
    'loopback',
    '--passphrase-fd',
    '0',
    '--export-secret-keys',
    fingerprint,
  ];
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {};
    for (const k of ['PATH', 'HOME', 'GNUPGHOME']) {
      const v = env[k];
      if (v !== undefined) childEnv[k] = v;
    }
    const child = spawn('gpg', args, {
      env: childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: GPG_EXPORT_TIMEOUT_MS,
      ...(signal === undefined ? {} : { signal }),
    });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= MAX_GPG_EXPORT_BYTES) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString('utf8');
    });
    child.on('error', (err) => {
      reject(
        new CustomsError('USAGE', `gpg: cannot run: ${err.message}`, {
          cause: err,
          hint: 'Install gnupg or pass --gpg-key-file.',
        }),
      );
    });
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8');
      if (code !== 0 || size > MAX_GPG_EXPORT_BYTES || !text.includes('BEGIN PGP PRIVATE KEY BLOCK')) {
        reject(
          new CustomsError(
            'USAGE',
            `gpg --export-secret-keys ${fingerprint}: expected an armored secret key, got exit ${String(code)}: ${stderr.trim().slice(0, 300)}`,
            {
              hint: 'Check the fingerprint (gpg --list-secret-keys) and $GNUPGHOME.',
            },
          ),
        );
        return;
      }
      resolve(text);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(passphrase === undefined ? '' : `${passphrase}\n`);
  });
}

/**
 * Sign the stored image as GPG simple signing and write `signature-N` (the first free N) under the
 * registries.d `lookaside-staging` (else `lookaside`) location for the name, which must be a `file://` URL —
 * what `skopeo copy --sign-by` does. Nothing is sent to the registry.
 */
export async function signGpgImage(
  ctx: Context,
  untrustedName: string,
  options: GpgSignOptions,
): Promise<GpgSignResult> {
  const image = await storedImage(ctx, untrustedName);
  const registriesD = await registriesDFor(ctx, options.signal);
  const write = lookasideFor(registriesD, image.ref).write;
  if (write === undefined || !write.startsWith('file:')) {
    throw new CustomsError(
      'USAGE',
      `sign ${image.name}: no lookaside-staging directory: expected a file:// lookaside-staging in registries.d for this name, got ${write === undefined ? 'none' : JSON.stringify(write)}`,
      {
        hint: 'Add e.g. `docker: {REGISTRY: {lookaside-staging: file:///var/lib/containers/sigstore}}` to a registries.d/*.yaml file.',
      },
    );
  }
  let armored = options.privateKeyArmored;
  if (armored === undefined) {
    if (options.fingerprint === undefined)
      throw new CustomsError('USAGE', 'sign: expected --gpg-key FPR or --gpg-key-file FILE');
    armored = await exportGpgSecretKey(ctx.env, options.fingerprint, options.passphrase, options.signal);
  }
  const digest = image.descriptor.digest;
  const signature = await signGpgSimple({
    dockerReference: signedReference(image.ref),
    manifestDigest: digest,
    privateKeyArmored: armored,
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
  });
  for (let n = 1; n <= MAX_LOOKASIDE_SIGNATURES; n++) {
    const path = fileURLToPath(lookasideSignatureUrl(write, image.ref, digest, n));
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    try {
      // O_EXCL: never overwrite another signer's signature-N.
      await writeFile(path, signature, { flag: 'wx', mode: 0o644 });
      return { name: image.name, digest, path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new CustomsError(
    'USAGE',
    `sign ${image.name}: lookaside already holds ${MAX_LOOKASIDE_SIGNATURES} signatures for ${digest}`,
  );
}

export interface GeneratedKeyFiles {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly keyId: string;
  readonly encrypted: boolean;
}

/**
 * Write a new ECDSA P-256 pair as `<prefix>.key` (mode 0600, never overwriting) and `<prefix>.pub`. With a
 * password the private key is written in cosign's own format (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt +
 * NaCl secretbox over PKCS#8), which `cosign sign --key` reads; without one it is plain PKCS#8 PEM.
 */
export async function generateKeyFiles(prefix: string, password?: string): Promise<GeneratedKeyFiles> {
  const pair = generateKeyPair();
  let privatePem = pair.privatePem;
  const encrypted = password !== undefined && password !== '';
  if (encrypted) privatePem = encryptCosignPrivateKey(createPrivateKey(pair.privatePem), password);
  const privateKeyPath = `${prefix}.key`;
  const publicKeyPath = `${prefix}.pub`;
  for (const p of [privateKeyPath, publicKeyPath]) {
    try {
      const fh = await open(p, constants.O_RDONLY);
      await fh.close();
      throw new CustomsError('USAGE', `generate-key: ${p}: already exists`, {
        hint: 'Choose another --output-key-prefix or move the file away.',
      });
    } catch (err) {
      if (isCustomsError(err)) throw err;
    }
  }
  await writeFile(privateKeyPath, privatePem, { flag: 'wx', mode: 0o600 });
  await writeFile(publicKeyPath, pair.publicPem, { flag: 'wx', mode: 0o644 });
  return { privateKeyPath, publicKeyPath, keyId: pair.keyId, encrypted };
}
