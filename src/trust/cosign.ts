/**
 * cosign key-based signatures (cosign specs/SIGNATURE_SPEC.md): a simple-signing payload, signed with the
 * signer's key, stored as one layer of an OCI manifest tagged `sha256-<hex>.sig` beside the image, the
 * base64 signature in the layer annotation `dev.cosignproject.cosign/signature`.
 *
 * Verification here is pure: payload bytes + signature + public key in, VerifiedSignature or SIGNATURE_INVALID
 * out. Fetching the `.sig` manifest and its layers is src/registry's job; comparing the verified digest and
 * reference with the image being pulled is the caller's / src/policy's.
 */
import type { KeyObject } from 'node:crypto';
import { sha256Digest } from '../internal/hash.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { KiB, MiB } from '../internal/units.js';
import { parseDescriptor, type Descriptor } from '../oci/index.js';
import { digestAlgorithm, digestHex, type Digest } from '../ref/index.js';
import { invalid, reasonOf, shown } from './failure.js';
import { parsePublicKeyPem, publicKeyId, signWithKey, verifyWithKey } from './keys.js';
import {
  COSIGN_SIMPLE_SIGNING_TYPE,
  MAX_SIMPLE_SIGNING_PAYLOAD_BYTES,
  parseSimpleSigningPayloadOfType,
  type VerifiedPayload,
} from './simple-signing.js';

/** Media type of the payload layer in a cosign signature manifest. */
export const COSIGN_SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** Layer annotation holding the base64 signature over the layer's bytes. */
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Layer annotations cosign writes for keyless signatures (PEM certificate, chain, legacy Rekor bundle). */
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const COSIGN_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const COSIGN_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

/** More signatures on one image than any real signer writes; bounds the work one `.sig` manifest can cause. */
export const MAX_COSIGN_SIGNATURE_LAYERS = 64;
/** The same cap as the payload parser: a simple-signing payload is a few hundred bytes. */
export const MAX_COSIGN_PAYLOAD_BYTES = MAX_SIMPLE_SIGNING_PAYLOAD_BYTES;
/** 64 layers × (certificate + chain + bundle annotations, a few KiB each) fit comfortably. */
export const MAX_COSIGN_SIGNATURE_MANIFEST_BYTES = 4 * MiB;
/** A DER ECDSA/RSA-4096 signature is < 1 KiB; base64 of anything much larger is not a signature. */
export const MAX_SIGNATURE_BASE64_CHARS = 8 * KiB;

/** Signature formats a VerifiedSignature can come from (the `format` of src/policy facts). */
export type SignatureFormat = 'gpg' | 'cosign' | 'sigstore-bundle' | 'notary';

/** A signature that verified: which key made it and what it says. Policy decides whether that is enough. */
export interface VerifiedSignature {
  readonly format: SignatureFormat;
  /** `sha256:<hex>` of the public key (cosign/bundle keys) or the OpenPGP primary-key fingerprint (gpg). */
  readonly keyId: string;
  readonly payload: VerifiedPayload;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeSignature(untrustedB64: string, subject: string): Buffer {
  const s = untrustedB64.trim();
  if (s === '') throw invalid(subject, 'expected a base64 signature, got an empty string');
  if (s.length > MAX_SIGNATURE_BASE64_CHARS) {
    throw invalid(
      subject,
      `signature too long: expected at most ${MAX_SIGNATURE_BASE64_CHARS} characters, got ${s.length}`,
    );
  }
  if (!BASE64.test(s) || s.length % 4 !== 0) {
    throw invalid(subject, 'expected a base64 signature, got characters outside the base64 alphabet');
  }
  return Buffer.from(s, 'base64');
}

/**
 * Verify a cosign key-based signature: `signatureBase64` must be a valid signature by `publicKeyPem` over exactly
 * `payload`, and `payload` must be a strict simple-signing payload of type `cosign container image signature`.
 *
 * Does NOT check that the payload's digest is the image's digest or that its reference is acceptable (the caller
 * and src/policy do), does NOT check Rekor or certificates (see verifyBundle), and does NOT decide whether the key
 * is trusted for the image's scope. Throws SIGNATURE_INVALID.
 */
export function verifyCosignSignature(input: {
  payload: Uint8Array;
  signatureBase64: string;
  publicKeyPem: string;
}): VerifiedSignature {
  const key = parsePublicKeyPem(input.publicKeyPem, 'cosign public key');
  return verifyCosignSignatureWithKey(input.payload, input.signatureBase64, key);
}

/** verifyCosignSignature with an already parsed key. Same contract. */
export function verifyCosignSignatureWithKey(
  untrustedPayload: Uint8Array,
  untrustedSignatureB64: string,
  key: KeyObject,
): VerifiedSignature {
  const subject = 'cosign signature';
  if (untrustedPayload.byteLength > MAX_COSIGN_PAYLOAD_BYTES) {
    throw invalid(
      subject,
      `payload too large: expected at most ${MAX_COSIGN_PAYLOAD_BYTES} bytes, got ${untrustedPayload.byteLength}`,
    );
  }
  const signature = decodeSignature(untrustedSignatureB64, subject);
  const keyId = publicKeyId(key);
  // Verify before parsing: nothing an attacker wrote is interpreted until the key vouches for it.
  if (!verifyWithKey(key, untrustedPayload, signature)) {
    throw invalid(subject, `signature does not verify: expected a signature by key ${keyId}, got one that is not`, {
      details: { keyId },
      hint: 'The payload was signed by another key or altered after signing.',
    });
  }
  return {
    format: 'cosign',
    keyId,
    payload: parseSimpleSigningPayloadOfType(untrustedPayload, COSIGN_SIMPLE_SIGNING_TYPE),
  };
}

/**
 * Sign `payload` with `privateKey` as `cosign sign --key` does (ECDSA P-256 DER, SHA-256; or Ed25519/RSA for
 * such keys) and return base64. Does not check what the payload says.
 */
export function signCosign(payload: Uint8Array, privateKey: KeyObject): string {
  return signWithKey(privateKey, payload).toString('base64');
}

/** The tag cosign stores signatures for `manifestDigest` under: `sha256-<hex>.sig`. */
export function cosignSignatureTag(manifestDigest: Digest): string {
  return `${digestAlgorithm(manifestDigest)}-${digestHex(manifestDigest)}.sig`;
}

/** The pieces of a cosign signature image, ready to push: blobs first, then the manifest. */
export interface CosignSignatureImage {
  readonly manifest: Buffer;
  readonly manifestDigest: Digest;
  readonly config: Buffer;
  readonly configDescriptor: Descriptor;
  readonly layer: Buffer;
  readonly layerDescriptor: Descriptor;
}

/**
 * Build the OCI manifest cosign writes for one key-based signature (byte-for-byte the go-containerregistry
 * serialisation cosign uses: empty-image config whose rootfs lists the payload). Does not push, and does not
 * merge with signatures already at the tag (the caller appends layers when the tag exists).
 */
export function buildCosignSignatureManifest(payload: Uint8Array, signatureB64: string): CosignSignatureImage {
  return buildCosignSignatureManifestWithLayers([{ payload, signatureB64 }]);
}

/** Like buildCosignSignatureManifest for several signatures (cosign appends one layer per signature). */
export function buildCosignSignatureManifestWithLayers(
  entries: readonly { payload: Uint8Array; signatureB64: string; annotations?: Readonly<Record<string, string>> }[],
): CosignSignatureImage {
  if (entries.length === 0 || entries.length > MAX_COSIGN_SIGNATURE_LAYERS) {
    throw invalid(
      'cosign signature manifest',
      `expected 1 to ${MAX_COSIGN_SIGNATURE_LAYERS} signatures, got ${entries.length}`,
    );
  }
  const layers = entries.map((e) => ({
    mediaType: COSIGN_SIMPLE_SIGNING_MEDIA_TYPE,
    size: e.payload.byteLength,
    digest: sha256Digest(e.payload) as Digest,
    annotations: { ...(e.annotations ?? {}), [COSIGN_SIGNATURE_ANNOTATION]: e.signatureB64 },
  }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const configDescriptor: Descriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    size: config.byteLength,
    digest: sha256Digest(config) as Digest,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers,
    }),
  );
  const first = layers[0];
  const firstEntry = entries[0];
  if (first === undefined || firstEntry === undefined) throw new Error('unreachable: entries checked non-empty');
  return {
    manifest,
    manifestDigest: sha256Digest(manifest) as Digest,
    config,
    configDescriptor,
    layer: Buffer.from(firstEntry.payload),
    layerDescriptor: first,
  };
}

/** One signature layer of a cosign signature manifest, not yet verified. */
export interface CosignSignatureLayer {
  /** Descriptor of the payload blob; fetch it capped at `size` and check its digest before verifying. */
  readonly layerDescriptor: Descriptor;
  readonly signatureB64: string;
  /** PEM leaf certificate (keyless signatures). */
  readonly certificatePem?: string;
  /** PEM chain (keyless signatures). */
  readonly chainPem?: string;
  /** The legacy Rekor bundle annotation, strictly parsed JSON (keyless / tlog-backed signatures). */
  readonly bundle?: unknown;
}

/**
 * Parse a cosign signature manifest (the `.sig` tag) into its signature layers. Verifies only structure and caps:
 * manifest ≤ MAX_COSIGN_SIGNATURE_MANIFEST_BYTES, 1..MAX_COSIGN_SIGNATURE_LAYERS layers, each a simplesigning
 * layer ≤ MAX_COSIGN_PAYLOAD_BYTES with a signature annotation. Does NOT verify any signature and does NOT fetch
 * payloads. Throws SIGNATURE_INVALID (an unusable signature manifest is a signature failure, exit 6).
 */
export function parseCosignSignatureManifest(untrustedManifest: Uint8Array): CosignSignatureLayer[] {
  const subject = 'cosign signature manifest';
  if (untrustedManifest.byteLength > MAX_COSIGN_SIGNATURE_MANIFEST_BYTES) {
    throw invalid(
      subject,
      `too large: expected at most ${MAX_COSIGN_SIGNATURE_MANIFEST_BYTES} bytes, got ${untrustedManifest.byteLength}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(untrustedManifest, subject);
  } catch (err) {
    throw invalid(subject, `expected strict JSON, got: ${reasonOf(err)}`, { cause: err });
  }
  if (!isJsonObject(doc)) throw invalid(subject, 'expected a JSON object');
  if (doc.schemaVersion !== 2) throw invalid(subject, `schemaVersion: expected 2, got ${shown(doc.schemaVersion)}`);
  const layers = doc.layers;
  if (!Array.isArray(layers)) throw invalid(subject, 'layers: expected an array');
  if (layers.length === 0 || layers.length > MAX_COSIGN_SIGNATURE_LAYERS) {
    throw invalid(subject, `layers: expected 1 to ${MAX_COSIGN_SIGNATURE_LAYERS}, got ${layers.length}`, {
      hint: 'A signature manifest with more layers than any signer writes is refused to bound verification work.',
    });
  }
  return layers.map((untrustedLayer: unknown, i): CosignSignatureLayer => {
    const where = `${subject}: layers[${i}]`;
    let desc: Descriptor;
    try {
      desc = parseDescriptor(untrustedLayer, where);
    } catch (err) {
      throw invalid(where, `expected a descriptor, got: ${reasonOf(err)}`, { cause: err });
    }
    if (desc.mediaType !== COSIGN_SIMPLE_SIGNING_MEDIA_TYPE) {
      throw invalid(where, `mediaType: expected ${COSIGN_SIMPLE_SIGNING_MEDIA_TYPE}, got ${shown(desc.mediaType)}`);
    }
    if (desc.size > MAX_COSIGN_PAYLOAD_BYTES) {
      throw invalid(where, `payload too large: expected at most ${MAX_COSIGN_PAYLOAD_BYTES} bytes, got ${desc.size}`);
    }
    const annotations = desc.annotations ?? {};
    const sig = annotations[COSIGN_SIGNATURE_ANNOTATION];
    if (sig === undefined) throw invalid(where, `expected annotation ${COSIGN_SIGNATURE_ANNOTATION}, got none`);
    decodeSignature(sig, where);
    const out: {
      layerDescriptor: Descriptor;
      signatureB64: string;
      certificatePem?: string;
      chainPem?: string;
      bundle?: unknown;
    } = { layerDescriptor: desc, signatureB64: sig };
    const cert = annotations[COSIGN_CERTIFICATE_ANNOTATION];
    if (cert !== undefined && cert !== '') out.certificatePem = cert;
    const chain = annotations[COSIGN_CHAIN_ANNOTATION];
    if (chain !== undefined && chain !== '') out.chainPem = chain;
    const bundle = annotations[COSIGN_BUNDLE_ANNOTATION];
    if (bundle !== undefined) {
      try {
        out.bundle = parseStrictJsonBytes(Buffer.from(bundle, 'utf8'), `${where}: ${COSIGN_BUNDLE_ANNOTATION}`);
      } catch (err) {
        throw invalid(where, `${COSIGN_BUNDLE_ANNOTATION}: expected strict JSON, got: ${reasonOf(err)}`, {
          cause: err,
        });
      }
    }
    return out;
  });
}
