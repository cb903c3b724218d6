/**
 * Sigstore bundles (`application/vnd.dev.sigstore.bundle.v0.1+json` … `v0.3+json`), key-based and keyless,
 * verified offline against a trusted_root.json the user supplies, with sigstore-js (`@sigstore/bundle`,
 * `@sigstore/verify`). sigstore-js checks the signature, the Fulcio chain at signing time, SCTs, the Rekor entry
 * (SET or inclusion proof + checkpoint) and that the Rekor body matches the signature; this module adds what a
 * caller would otherwise forget:
 *
 * - the bundle must be *for this artifact*: the signed message digest, or the in-toto subject digest for DSSE
 *   envelopes, must equal the artifact's digest (cosign CVE-2022-23649 accepted a bundle whose Rekor entry was
 *   for another artifact; CVE-2026-22703-style substitution swaps the signed content). sigstore-js alone compares
 *   a DSSE envelope with its tlog entry, not with the artifact the user asked about;
 * - a keyless bundle needs an identity AND an issuer (cosign refuses keyless verification without both);
 * - no transparency-log time later than `now` (plus clock skew).
 */
import { readFile, stat } from '../internal/fsp.js';
import { createHash, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { KeyFinderFunc, VerificationPolicy } from '@sigstore/verify';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { GiB, MiB } from '../internal/units.js';
import { digestHex, parseDigest, type Digest } from '../ref/index.js';
import type { VerifiedSignature } from './cosign.js';
import { invalid, reasonOf, shown } from './failure.js';
import { sigstoreModules } from './lazy-modules.js';
import { parsePublicKeyPem, publicKeyId } from './keys.js';
import { COSIGN_SIMPLE_SIGNING_TYPE, parseSimpleSigningPayloadOfType } from './simple-signing.js';

/** A bundle is a few KiB (certificate chain + tlog entry); a larger document is refused before parsing. */
export const MAX_BUNDLE_BYTES = 1 * MiB;
/** verifyBlob reads the artifact into memory (Node cannot verify a pre-hashed ECDSA message); cap it. */
export const MAX_BLOB_BYTES = 1 * GiB;
/** Tolerated clock difference between the log and this host when refusing future-dated log entries. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** What a bundle must prove besides "some trusted signer signed this". */
export interface BundlePolicy {
  /** Key-based: the bundle must be signed by this key (PEM SubjectPublicKeyInfo). */
  readonly publicKeyPem?: string;
  /** Keyless: exact Fulcio certificate SAN (email or URI), as `cosign --certificate-identity`. */
  readonly certificateIdentity?: string;
  /** Keyless: exact OIDC issuer from the certificate, as `cosign --certificate-oidc-issuer`. */
  readonly certificateIssuer?: string;
}

/** The artifact a bundle is checked against: its bytes, or (DSSE/in-toto bundles only) its digest. */
export type BundleArtifact = Uint8Array | { readonly digest: Digest };

/** A verified bundle. */
export interface VerifiedBundle {
  readonly format: 'sigstore-bundle';
  readonly mediaType: string;
  /** `sha256:<hex>` of the signing public key (the leaf certificate's key for keyless bundles). */
  readonly keyId: string;
  /** Set for keyless bundles: the certificate identity and issuer that policy matched. */
  readonly identity?: { readonly subjectAlternativeName: string; readonly issuer: string };
  /** The digest the bundle was verified to sign. */
  readonly artifactDigest: Digest;
  /** Earliest verified transparency-log time. */
  readonly integratedTime?: Date;
}

const SUBJECT = 'sigstore bundle';

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function toBundle(untrustedBundle: unknown): Bundle {
  let doc = untrustedBundle;
  if (doc instanceof Uint8Array) {
    if (doc.byteLength > MAX_BUNDLE_BYTES) {
      throw invalid(SUBJECT, `too large: expected at most ${MAX_BUNDLE_BYTES} bytes, got ${doc.byteLength}`);
    }
    try {
      doc = parseStrictJsonBytes(doc, SUBJECT);
    } catch (err) {
      throw invalid(SUBJECT, `expected strict JSON, got: ${reasonOf(err)}`, { cause: err });
    }
  }
  if (!isJsonObject(doc)) throw invalid(SUBJECT, 'expected a JSON object');
  try {
    return sigstoreModules().bundle.bundleFromJSON(doc);
  } catch (err) {
    throw invalid(SUBJECT, `malformed bundle (${shown(doc.mediaType, 80)}): ${reasonOf(err)}`, { cause: err });
  }
}

function toRoot(untrustedRoot: unknown): TrustedRoot {
  let doc = untrustedRoot;
  if (doc instanceof Uint8Array) {
    try {
      doc = parseStrictJsonBytes(doc, 'trusted root');
    } catch (err) {
      throw invalid('trusted root', `expected strict JSON, got: ${reasonOf(err)}`, { cause: err });
    }
  }
  if (
    !isJsonObject(doc) ||
    typeof doc.mediaType !== 'string' ||
    !doc.mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')
  ) {
    throw invalid(
      'trusted root',
      `expected a trusted_root.json (mediaType application/vnd.dev.sigstore.trustedroot…), got ${shown(isJsonObject(doc) ? doc.mediaType : typeof doc, 80)}`,
    );
  }
  try {
    return sigstoreModules().protobuf.TrustedRoot.fromJSON(doc);
  } catch (err) {
    throw invalid('trusted root', `malformed: ${reasonOf(err)}`, { cause: err });
  }
}

/**
 * Check that the bundle signs `artifact` and return the artifact digest. Message signatures: the bundle's
 * messageDigest must be sha256 of the artifact bytes (bytes are required: the signature is over them). DSSE: the
 * envelope must be an in-toto statement with a subject whose sha256 is the artifact's.
 */
function bindArtifact(bundle: Bundle, artifact: BundleArtifact): Digest {
  const actualHex =
    artifact instanceof Uint8Array ? sha256(artifact).toString('hex') : digestHex(parseDigest(artifact.digest));
  const actual = `sha256:${actualHex}` as Digest;
  const content = bundle.content;
  if (content.$case === 'messageSignature') {
    if (!(artifact instanceof Uint8Array)) {
      throw invalid(SUBJECT, 'message signature bundles need the artifact bytes: expected bytes, got only a digest');
    }
    const md = content.messageSignature.messageDigest;
    // Anything but SHA2_256 is not what we hashed.
    if (md === undefined || md.algorithm !== sigstoreModules().protobuf.HashAlgorithm.SHA2_256) {
      throw invalid(SUBJECT, 'message digest: expected a SHA2_256 messageDigest, got another algorithm or none');
    }
    const signedHex = Buffer.from(md.digest).toString('hex');
    if (signedHex !== actualHex) {
      throw invalid(SUBJECT, `bundle for another artifact: expected sha256:${actualHex}, got sha256:${signedHex}`, {
        details: { expected: actual, got: `sha256:${signedHex}` },
        hint: 'This bundle signs different content (cosign CVE-2022-23649 class); it cannot vouch for this file.',
      });
    }
    return actual;
  }
  const env = content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    if (artifact instanceof Uint8Array && Buffer.from(env.payload).equals(Buffer.from(artifact))) return actual;
    throw invalid(SUBJECT, `DSSE payloadType: expected ${IN_TOTO_PAYLOAD_TYPE}, got ${shown(env.payloadType, 100)}`);
  }
  let statement: unknown;
  try {
    statement = parseStrictJsonBytes(env.payload, 'in-toto statement');
  } catch (err) {
    throw invalid(SUBJECT, `in-toto statement: expected strict JSON, got: ${reasonOf(err)}`, { cause: err });
  }
  const subjects = isJsonObject(statement) ? statement.subject : undefined;
  if (!Array.isArray(subjects) || subjects.length === 0) {
    throw invalid(SUBJECT, 'in-toto statement: expected a non-empty subject list, got none');
  }
  const signedHexes = subjects.map((s: unknown) =>
    isJsonObject(s) && isJsonObject(s.digest) && typeof s.digest.sha256 === 'string'
      ? s.digest.sha256.toLowerCase()
      : undefined,
  );
  if (!signedHexes.includes(actualHex)) {
    throw invalid(
      SUBJECT,
      `bundle for another artifact: expected an in-toto subject with sha256:${actualHex}, got ${signedHexes.map((h) => (h === undefined ? 'none' : `sha256:${h}`)).join(', ')}`,
      { hint: 'The attestation names different subjects; it cannot vouch for this artifact.' },
    );
  }
  return actual;
}

function explain(err: unknown): string {
  if (err instanceof sigstoreModules().verify.PolicyError) return `identity mismatch: ${reasonOf(err)}`;
  if (err instanceof sigstoreModules().verify.VerificationError) {
    const why = reasonOf(err);
    switch (err.code) {
      case 'CERTIFICATE_ERROR':
        return `certificate not trusted (untrusted chain, or not valid at signing time): ${why}`;
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
        return `transparency log entry does not verify (forged or tampered Rekor entry): ${why}`;
      case 'TLOG_BODY_ERROR':
        return `transparency log entry is for another signature or artifact: ${why}`;
      case 'TLOG_ERROR':
        return `transparency log entry missing: ${why}`;
      case 'SIGNATURE_ERROR':
        return `signature does not verify: ${why}`;
      case 'PUBLIC_KEY_ERROR':
        return `signing key not trusted: ${why}`;
      case 'TIMESTAMP_ERROR':
        return `no trusted signing time: ${why}`;
      default:
        return `${err.code}: ${why}`;
    }
  }
  return `verification failed: ${reasonOf(err)}`;
}

/**
 * Verify a sigstore bundle for `artifact` offline against `trustedRoot`:
 * - the bundle parses (v0.1/0.2/0.3) and signs this artifact (message digest / in-toto subject, see above);
 * - key-based (`policy.publicKeyPem`): the signature verifies under that key and the bundle carries a public-key
 *   hint, not a certificate;
 * - keyless (`certificateIdentity` + `certificateIssuer`, both required): the Fulcio certificate chains to a CA in
 *   the trusted root, was valid at the Rekor integration time, has the required SCTs when the root lists CT logs,
 *   and its SAN and issuer extension equal the policy's exactly;
 * - at least one Rekor entry whose SET or inclusion proof verifies under a log key in the root and whose body
 *   matches this signature; no log time after `now` + MAX_CLOCK_SKEW_MS.
 *
 * Does NOT fetch anything (no TUF refresh of the root: the caller pins it), does NOT interpret the artifact, and
 * does NOT decide whether the key/identity is trusted for an image's scope (src/policy does). Throws
 * SIGNATURE_INVALID naming the failed check.
 */
export function verifyBundle(input: {
  bundle: unknown;
  artifact: BundleArtifact;
  trustedRoot: unknown;
  policy: BundlePolicy;
  now?: Date;
}): VerifiedBundle {
  const bundle = toBundle(input.bundle);
  const root = toRoot(input.trustedRoot);
  const { policy } = input;
  const isKeyBundle = bundle.verificationMaterial.content.$case === 'publicKey';
  let key: KeyObject | undefined;
  let keyFinder: KeyFinderFunc | undefined;
  const verificationPolicy: VerificationPolicy = {};
  if (policy.publicKeyPem !== undefined) {
    if (!isKeyBundle) {
      throw invalid(SUBJECT, 'expected a bundle signed with a public key, got one with a certificate');
    }
    const pinned = parsePublicKeyPem(policy.publicKeyPem, 'bundle public key');
    key = pinned;
    // cosign verify-blob --key ignores the bundle's key hint: the key the user named is the only candidate.
    keyFinder = () => ({ publicKey: pinned, validFor: () => true });
  } else {
    if (policy.certificateIdentity === undefined || policy.certificateIssuer === undefined) {
      throw invalid(
        SUBJECT,
        'no trust policy: expected a public key, or a certificate identity and issuer, got neither',
        {
          hint: 'Keyless verification without an identity and issuer would accept anyone with a Fulcio certificate.',
        },
      );
    }
    if (isKeyBundle)
      throw invalid(SUBJECT, 'expected a keyless bundle with a certificate, got one signed with a public key');
    verificationPolicy.subjectAlternativeName = policy.certificateIdentity;
    verificationPolicy.extensions = { issuer: policy.certificateIssuer };
  }
  const artifactDigest = bindArtifact(bundle, input.artifact);

  let signerKey: KeyObject;
  try {
    const { toTrustMaterial, Verifier, toSignedEntity } = sigstoreModules().verify;
    const trust = toTrustMaterial(root, keyFinder);
    const verifier = new Verifier(trust, {
      tlogThreshold: 1,
      ctlogThreshold: isKeyBundle || trust.ctlogs.length === 0 ? 0 : 1,
      timestampThreshold: 1,
    });
    const entity = toSignedEntity(
      bundle,
      input.artifact instanceof Uint8Array ? Buffer.from(input.artifact) : undefined,
    );
    const signer = verifier.verify(entity, isKeyBundle ? undefined : verificationPolicy);
    signerKey = signer.key;
  } catch (err) {
    throw invalid(SUBJECT, explain(err), { cause: err });
  }

  const now = (input.now ?? new Date()).getTime();
  let earliest: number | undefined;
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const t = Number(entry.integratedTime) * 1000;
    if (t > now + MAX_CLOCK_SKEW_MS) {
      throw invalid(
        SUBJECT,
        `transparency log time in the future: expected at most ${new Date(now).toISOString()}, got ${new Date(t).toISOString()}`,
      );
    }
    if (t > 0 && (earliest === undefined || t < earliest)) earliest = t;
  }
  const result: {
    format: 'sigstore-bundle';
    mediaType: string;
    keyId: string;
    artifactDigest: Digest;
    identity?: { subjectAlternativeName: string; issuer: string };
    integratedTime?: Date;
  } = {
    format: 'sigstore-bundle',
    mediaType: bundle.mediaType,
    keyId: publicKeyId(key ?? signerKey),
    artifactDigest,
  };
  if (!isKeyBundle && policy.certificateIdentity !== undefined && policy.certificateIssuer !== undefined) {
    result.identity = { subjectAlternativeName: policy.certificateIdentity, issuer: policy.certificateIssuer };
  }
  if (earliest !== undefined) result.integratedTime = new Date(earliest);
  return result;
}

/**
 * `cosign verify-blob FILE --bundle B` semantics: read FILE (≤ MAX_BLOB_BYTES) and verifyBundle it. Same contract
 * as verifyBundle; fs errors propagate untranslated (the CLI maps them).
 */
export async function verifyBlob(input: {
  path: string;
  bundle: unknown;
  trustedRoot: unknown;
  policy: BundlePolicy;
  now?: Date;
  signal?: AbortSignal;
}): Promise<VerifiedBundle> {
  const info = await stat(input.path);
  if (info.size > MAX_BLOB_BYTES) {
    throw invalid('verify-blob', `artifact too large: expected at most ${MAX_BLOB_BYTES} bytes, got ${info.size}`);
  }
  const artifact = await readFile(input.path, input.signal === undefined ? {} : { signal: input.signal });
  return verifyBundle({
    bundle: input.bundle,
    artifact,
    trustedRoot: input.trustedRoot,
    policy: input.policy,
    ...(input.now === undefined ? {} : { now: input.now }),
  });
}

/**
 * Verify a bundle whose artifact is a cosign simple-signing payload (a cosign v3 / OCI 1.1 referrer signature):
 * verifyBundle over `payload`, then parse it strictly as a `cosign container image signature`.
 *
 * Does NOT compare the payload's digest with the image or its reference with policy (the caller / src/policy do).
 */
export function verifyBundledSimpleSigning(input: {
  bundle: unknown;
  payload: Uint8Array;
  trustedRoot: unknown;
  policy: BundlePolicy;
  now?: Date;
}): VerifiedSignature & { readonly bundle: VerifiedBundle } {
  const verified = verifyBundle({ ...input, artifact: input.payload });
  const payload = parseSimpleSigningPayloadOfType(input.payload, COSIGN_SIMPLE_SIGNING_TYPE);
  return { format: 'sigstore-bundle', keyId: verified.keyId, payload, bundle: verified };
}
