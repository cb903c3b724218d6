/**
 * Transparency-log-backed cosign signatures on registry images, verified offline against the keys a
 * containers-policy.json `sigstoreSigned` requirement names (`fulcio` {CA, oidcIssuer, subjectEmail} +
 * `rekorPublicKey*`, or `keyPath` + `rekorPublicKey*`):
 *
 * - cosign `.sig` layers (cosign SIGNATURE_SPEC.md): the signature annotation plus `dev.sigstore.cosign/certificate`
 *   (Fulcio leaf, PEM), `dev.sigstore.cosign/chain` and `dev.sigstore.cosign/bundle` (Rekor's signed entry
 *   timestamp, `{"SignedEntryTimestamp", "Payload": {body, integratedTime, logIndex, logID}}`). They are
 *   converted into the equivalent sigstore bundle v0.1 and verified by verifyBundle (sigstore-js), so the same
 *   code checks the Fulcio chain at integration time, the identity, the SET and that the Rekor body is this
 *   signature over this payload.
 * - sigstore bundles attached as OCI 1.1 referrers (cosign v3 `--new-bundle-format`): a DSSE in-toto statement
 *   whose subject digest must be the image's manifest digest (bindArtifact in bundle.ts).
 *
 * The trusted root is built from the policy's files, never from anything the registry sent. The `chain`
 * annotation is not trusted: intermediates must be in the policy's CA file (sigstore-js builds the path from
 * the trusted CA chain only). SCTs are not required (the policy names no CT log; containers/image does not
 * check them either).
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { parseDigest, type Digest } from '../ref/index.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { KiB } from '../internal/units.js';
import { verifyBundle, verifyBundledSimpleSigning, type BundlePolicy } from './bundle.js';
import type { VerifiedSignature } from './cosign.js';
import { invalid, reasonOf, shown } from './failure.js';
import { keyAlgorithm, parsePublicKeyPem } from './keys.js';

/** A Rekor entry body (hashedrekord / intoto) is a few KiB; the SET covers it, but parse nothing huge. */
export const MAX_REKOR_BODY_BYTES = 64 * KiB;
/** CA certificates accepted in one policy CA file. */
export const MAX_POLICY_CA_CERTIFICATES = 16;

const BUNDLE_V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
const FOREVER = { start: '1970-01-01T00:00:00Z' };

/** What a tlog-backed sigstoreSigned requirement trusts, from the policy's files. */
export interface TlogTrust {
  /** Keyless: PEM file contents of the Fulcio CA(s). */
  readonly fulcioCaPem?: string;
  /** Key-based: the signing key (PEM). */
  readonly publicKeyPem?: string;
  /** Rekor public keys (PEM), at least one. */
  readonly rekorPublicKeyPems: readonly string[];
  /** Keyless: exact certificate SAN (email) and OIDC issuer. */
  readonly subjectEmail?: string;
  readonly oidcIssuer?: string;
}

function pemBlocks(text: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
}

function keyDetails(key: KeyObject): string {
  switch (keyAlgorithm(key, 'Rekor public key')) {
    case 'ecdsa-p256-sha256':
      return 'PKIX_ECDSA_P256_SHA_256';
    case 'ed25519':
      return 'PKIX_ED25519';
    case 'rsa-pkcs1v15-sha256':
      return 'PKIX_RSA_PKCS1V15_2048_SHA256';
  }
}

/**
 * A sigstore `trusted_root.json` document holding exactly what the policy trusts: the Fulcio CA certificates
 * (one authority, its chain as the file lists it) and one transparency log per Rekor key (log ID = sha256 of
 * the key's DER, as Rekor computes it). Throws SIGNATURE_INVALID for unusable key material.
 */
export function trustedRootFromPolicy(trust: TlogTrust): Record<string, unknown> {
  if (trust.rekorPublicKeyPems.length === 0) throw invalid('policy Rekor keys', 'expected at least one, got none');
  const tlogs = trust.rekorPublicKeyPems.map((pem, i) => {
    const key = parsePublicKeyPem(pem, `policy Rekor key ${i + 1}`);
    const der = key.export({ type: 'spki', format: 'der' });
    return {
      baseUrl: 'https://rekor.invalid',
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: der.toString('base64'), keyDetails: keyDetails(key), validFor: FOREVER },
      logId: { keyId: createHash('sha256').update(der).digest('base64') },
    };
  });
  const certificateAuthorities: unknown[] = [];
  if (trust.fulcioCaPem !== undefined) {
    const ders = pemBlocks(trust.fulcioCaPem, 'CERTIFICATE');
    if (ders.length === 0 || ders.length > MAX_POLICY_CA_CERTIFICATES) {
      throw invalid(
        'policy Fulcio CA',
        `expected 1 to ${MAX_POLICY_CA_CERTIFICATES} PEM certificates, got ${ders.length}`,
      );
    }
    for (const der of ders) {
      try {
        new X509Certificate(der);
      } catch (err) {
        throw invalid('policy Fulcio CA', `expected X.509 certificates, got one that does not parse`, { cause: err });
      }
    }
    certificateAuthorities.push({
      subject: { organization: 'policy', commonName: 'fulcio' },
      uri: 'https://fulcio.invalid',
      certChain: { certificates: ders.map((d) => ({ rawBytes: d.toString('base64') })) },
      validFor: FOREVER,
    });
  }
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs,
    certificateAuthorities,
    ctlogs: [],
    timestampAuthorities: [],
  };
}

function bundlePolicy(trust: TlogTrust): BundlePolicy {
  if (trust.publicKeyPem !== undefined) return { publicKeyPem: trust.publicKeyPem };
  if (trust.subjectEmail === undefined || trust.oidcIssuer === undefined) {
    throw invalid('sigstoreSigned', 'keyless policy without subjectEmail and oidcIssuer: refused');
  }
  return { certificateIdentity: trust.subjectEmail, certificateIssuer: trust.oidcIssuer };
}

/** The Rekor SET annotation as a bundle tlog entry; the body's kind/apiVersion are read (the SET covers them). */
function tlogEntryFromAnnotation(untrustedRekorBundle: unknown, subject: string): Record<string, unknown> {
  const b = untrustedRekorBundle;
  const p = isJsonObject(b) ? b['Payload'] : undefined;
  if (!isJsonObject(b) || !isJsonObject(p)) {
    throw invalid(subject, 'Rekor bundle: expected {SignedEntryTimestamp, Payload}, got another shape');
  }
  const set = b['SignedEntryTimestamp'];
  const body = p['body'];
  const integratedTime = p['integratedTime'];
  const logIndex = p['logIndex'];
  const logID = p['logID'];
  if (
    typeof set !== 'string' ||
    typeof body !== 'string' ||
    !Number.isSafeInteger(integratedTime) ||
    !Number.isSafeInteger(logIndex) ||
    typeof logID !== 'string' ||
    !/^[0-9a-f]{64}$/.test(logID)
  ) {
    throw invalid(subject, 'Rekor bundle: expected SET, body, integratedTime, logIndex and a hex logID');
  }
  const bodyBytes = Buffer.from(body, 'base64');
  if (bodyBytes.length > MAX_REKOR_BODY_BYTES) {
    throw invalid(subject, `Rekor body too large: expected at most ${MAX_REKOR_BODY_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bodyBytes, 'Rekor body');
  } catch (err) {
    throw invalid(subject, `Rekor body: expected JSON, got: ${reasonOf(err)}`, { cause: err });
  }
  const kind = isJsonObject(doc) ? doc['kind'] : undefined;
  const version = isJsonObject(doc) ? doc['apiVersion'] : undefined;
  if (typeof kind !== 'string' || typeof version !== 'string') {
    throw invalid(subject, 'Rekor body: expected kind and apiVersion');
  }
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID, 'hex').toString('base64') },
    kindVersion: { kind, version },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: set },
    canonicalizedBody: body,
  };
}

/**
 * Verify one cosign `.sig` layer that carries a Rekor SET (and, keyless, a Fulcio certificate) against the
 * policy's trust: converted to a sigstore v0.1 message-signature bundle over `payload` and checked by
 * verifyBundle (certificate chain to the policy CA at the log's integration time, SAN and issuer equal to the
 * policy's, SET by a policy Rekor key, Rekor body = this signature and payload digest), then the payload is
 * parsed as a cosign simple-signing payload. Does NOT compare the payload's digest or reference with the image
 * (src/policy does). Throws SIGNATURE_INVALID.
 */
export function verifyCosignTlogSignature(input: {
  payload: Uint8Array;
  signatureB64: string;
  certificatePem?: string | undefined;
  rekorBundle: unknown;
  trust: TlogTrust;
  trustedRoot: Record<string, unknown>;
  now?: Date;
}): VerifiedSignature {
  const subject = 'cosign signature';
  const keyless = input.trust.publicKeyPem === undefined;
  let material: Record<string, unknown>;
  if (keyless) {
    if (input.certificatePem === undefined) {
      throw invalid(subject, 'keyless policy: expected a dev.sigstore.cosign/certificate annotation, got none');
    }
    const leaf = pemBlocks(input.certificatePem, 'CERTIFICATE')[0];
    if (leaf === undefined) throw invalid(subject, 'certificate annotation: expected a PEM certificate');
    material = { x509CertificateChain: { certificates: [{ rawBytes: leaf.toString('base64') }] } };
  } else {
    if (input.certificatePem !== undefined) {
      throw invalid(subject, 'key policy: expected a signature by the key, got one with a certificate');
    }
    material = { publicKey: { hint: '' } };
  }
  if (input.rekorBundle === undefined) {
    throw invalid(subject, 'policy requires a Rekor entry: expected a dev.sigstore.cosign/bundle annotation, got none');
  }
  const bundle = {
    mediaType: BUNDLE_V01,
    verificationMaterial: {
      ...material,
      tlogEntries: [tlogEntryFromAnnotation(input.rekorBundle, subject)],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: createHash('sha256').update(input.payload).digest('base64'),
      },
      signature: input.signatureB64,
    },
  };
  const v = verifyBundledSimpleSigning({
    bundle,
    payload: input.payload,
    trustedRoot: input.trustedRoot,
    policy: bundlePolicy(input.trust),
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  return { format: 'cosign', keyId: v.keyId, payload: v.payload };
}

/** Checkpoint signer names read from an untrusted bundle; more than this is not a real bundle. */
const MAX_CHECKPOINT_NAMES = 4;

/**
 * sigstore-js selects the log key for a checkpoint signature by key hint AND by matching the signature's name
 * against the log's baseUrl. A containers-policy.json Rekor key has no URL, so each policy log is listed once
 * per name the bundle's checkpoints use (`https://<name>`): the name only selects, the key still verifies.
 */
function withCheckpointNames(root: Record<string, unknown>, untrustedBundle: Uint8Array): Record<string, unknown> {
  const names = new Set<string>();
  try {
    const doc = parseStrictJsonBytes(untrustedBundle, 'sigstore bundle');
    const entries: unknown =
      isJsonObject(doc) && isJsonObject(doc['verificationMaterial'])
        ? doc['verificationMaterial']['tlogEntries']
        : undefined;
    if (Array.isArray(entries)) {
      for (const e of entries as unknown[]) {
        const cp = isJsonObject(e) && isJsonObject(e['inclusionProof']) ? e['inclusionProof']['checkpoint'] : undefined;
        const env = isJsonObject(cp) ? cp['envelope'] : undefined;
        if (typeof env !== 'string') continue;
        for (const m of env.matchAll(/\u2014 ([A-Za-z0-9.-]{1,253}) /g)) {
          if (names.size < MAX_CHECKPOINT_NAMES && m[1] !== undefined) names.add(m[1]);
        }
      }
    }
  } catch {
    // verifyBundle reports a malformed bundle
  }
  const tlogs: unknown = root['tlogs'];
  if (names.size === 0 || !Array.isArray(tlogs)) return root;
  const list = tlogs as unknown[];
  return {
    ...root,
    tlogs: [...list, ...[...names].flatMap((n) => list.map((t) => ({ ...(t as object), baseUrl: `https://${n}` })))],
  };
}

/** A sigstore bundle referrer that verified for an image. */
export interface VerifiedImageBundle {
  readonly keyId: string;
  readonly manifestDigest: Digest;
  /** `<in-toto subject name>@<digest>`: the name the statement binds to the digest. */
  readonly dockerReference: string;
}

/**
 * Verify a sigstore bundle (OCI 1.1 referrer, cosign v3) for the image whose manifest digest is
 * `manifestDigest`: verifyBundle with the artifact given by digest (the DSSE in-toto subject must carry it)
 * against the policy's trust; returns the key and the name the statement's matching subject gives. Message
 * signature bundles are refused (the signed bytes are not the manifest). Throws SIGNATURE_INVALID.
 */
export function verifyImageBundle(input: {
  bundle: Uint8Array;
  manifestDigest: Digest;
  trust: TlogTrust;
  trustedRoot: Record<string, unknown>;
  now?: Date;
}): VerifiedImageBundle {
  const v = verifyBundle({
    bundle: input.bundle,
    artifact: { digest: input.manifestDigest },
    trustedRoot: withCheckpointNames(input.trustedRoot, input.bundle),
    policy: bundlePolicy(input.trust),
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  // verifyBundle checked the envelope signature and that a subject carries this digest; read its name.
  const doc = parseStrictJsonBytes(input.bundle, 'sigstore bundle');
  const env = isJsonObject(doc) ? doc['dsseEnvelope'] : undefined;
  const payloadB64 = isJsonObject(env) ? env['payload'] : undefined;
  if (typeof payloadB64 !== 'string') throw invalid('sigstore bundle', 'expected a DSSE envelope');
  const statement = parseStrictJsonBytes(Buffer.from(payloadB64, 'base64'), 'in-toto statement');
  const subjects: unknown = isJsonObject(statement) ? statement['subject'] : undefined;
  const hex = parseDigest(v.artifactDigest).slice('sha256:'.length);
  const match: unknown = Array.isArray(subjects)
    ? (subjects as unknown[]).find(
        (s: unknown) =>
          isJsonObject(s) &&
          isJsonObject(s['digest']) &&
          typeof s['digest']['sha256'] === 'string' &&
          s['digest']['sha256'].toLowerCase() === hex,
      )
    : undefined;
  const name = isJsonObject(match) ? match['name'] : undefined;
  if (typeof name !== 'string' || name === '' || /[@\s]/.test(name)) {
    throw invalid('sigstore bundle', `in-toto subject name: expected a repository name, got ${shown(name, 100)}`);
  }
  return { keyId: v.keyId, manifestDigest: v.artifactDigest, dockerReference: `${name}@${v.artifactDigest}` };
}
