/**
 * The "simple signing" payload shared by GPG container signatures (containers-signature(5), type
 * `atomic container signature`) and cosign (cosign specs/SIGNATURE_SPEC.md, type `cosign container image
 * signature`):
 *
 *   {"critical": {"identity": {"docker-reference": R}, "image": {"docker-manifest-digest": D}, "type": T},
 *    "optional": {...} | null}
 *
 * Parsing follows containers/image signature/simple.go: the `critical` object and everything in it must have
 * exactly the known fields — a critical field this code does not understand could carry a restriction that would
 * silently be ignored, so the whole signature is refused (fail closed). Duplicate keys are refused by the strict
 * JSON parser (two parsers disagreeing about which duplicate wins is a signature-confusion attack).
 */
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { MiB } from '../internal/units.js';
import { CustomsError } from '../errors.js';
import { parseDigest, type Digest } from '../ref/index.js';
import { invalid, shown } from './failure.js';

/** Larger than any real payload (they are ~300 bytes); bounds parsing work on hostile input. */
export const MAX_SIMPLE_SIGNING_PAYLOAD_BYTES = 1 * MiB;

/** `critical.type` written by GPG simple signing (containers-signature(5)). */
export const GPG_SIMPLE_SIGNING_TYPE = 'atomic container signature';
/** `critical.type` written by cosign (SIGNATURE_SPEC.md). */
export const COSIGN_SIMPLE_SIGNING_TYPE = 'cosign container image signature';

export type SimpleSigningType = typeof GPG_SIMPLE_SIGNING_TYPE | typeof COSIGN_SIMPLE_SIGNING_TYPE;

/** What a verified signature payload claims. Only meaningful once the signature over it has been verified. */
export interface VerifiedPayload {
  /** `critical.identity.docker-reference`, exactly as signed (not normalised). */
  readonly dockerReference: string;
  /** `critical.image.docker-manifest-digest`. */
  readonly manifestDigest: Digest;
  /** `critical.type`. */
  readonly type: SimpleSigningType;
  /** The `optional` object (creator, timestamp, cosign annotations); informational, never used for decisions. */
  readonly optional: Readonly<Record<string, unknown>>;
}

const SUBJECT = 'signature payload';

function exactFields(untrusted: unknown, path: string, fields: readonly string[]): Record<string, unknown> {
  if (!isJsonObject(untrusted)) {
    throw invalid(SUBJECT, `${path}: expected a JSON object, got ${untrusted === null ? 'null' : typeof untrusted}`);
  }
  for (const key of Object.keys(untrusted)) {
    if (!fields.includes(key)) {
      throw invalid(SUBJECT, `${path}: unknown field: expected only ${fields.join(', ')}, got ${shown(key)}`, {
        hint: 'An unknown critical field may carry a restriction customs cannot honour, so the signature is refused.',
      });
    }
  }
  for (const key of fields) {
    if (!(key in untrusted)) throw invalid(SUBJECT, `${path}: missing field: expected ${shown(key)}, got none`);
  }
  return untrusted;
}

function stringField(obj: Record<string, unknown>, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') {
    throw invalid(SUBJECT, `${path}.${key}: expected a non-empty string, got ${v === null ? 'null' : typeof v}`);
  }
  return v;
}

/**
 * Parse a simple-signing payload strictly. Verifies only the payload's shape: exact critical fields, a known
 * `type`, a well-formed sha256/sha512 `docker-manifest-digest`, `optional` an object or null.
 *
 * Does NOT verify any signature (call it only on bytes a verified signature covers, or to inspect), does NOT
 * compare the digest with an image, and does NOT check the reference against policy (src/policy does).
 * Throws SIGNATURE_INVALID.
 */
export function parseSimpleSigningPayload(untrustedBytes: Uint8Array): VerifiedPayload {
  if (untrustedBytes.byteLength > MAX_SIMPLE_SIGNING_PAYLOAD_BYTES) {
    throw invalid(
      SUBJECT,
      `too large: expected at most ${MAX_SIMPLE_SIGNING_PAYLOAD_BYTES} bytes, got ${untrustedBytes.byteLength}`,
    );
  }
  let untrusted: unknown;
  try {
    untrusted = parseStrictJsonBytes(untrustedBytes, SUBJECT);
  } catch (err) {
    if (err instanceof CustomsError) throw invalid(SUBJECT, err.message.replace(`${SUBJECT}: `, ''), { cause: err });
    throw err;
  }
  const top = exactFields(untrusted, '$', ['critical', 'optional']);
  const critical = exactFields(top.critical, 'critical', ['identity', 'image', 'type']);
  const identity = exactFields(critical.identity, 'critical.identity', ['docker-reference']);
  const image = exactFields(critical.image, 'critical.image', ['docker-manifest-digest']);
  const type = stringField(critical, 'type', 'critical');
  if (type !== GPG_SIMPLE_SIGNING_TYPE && type !== COSIGN_SIMPLE_SIGNING_TYPE) {
    throw invalid(
      SUBJECT,
      `critical.type: expected ${shown(GPG_SIMPLE_SIGNING_TYPE)} or ${shown(COSIGN_SIMPLE_SIGNING_TYPE)}, got ${shown(type)}`,
    );
  }
  const dockerReference = stringField(identity, 'docker-reference', 'critical.identity');
  const rawDigest = stringField(image, 'docker-manifest-digest', 'critical.image');
  let manifestDigest: Digest;
  try {
    manifestDigest = parseDigest(rawDigest, 'critical.image.docker-manifest-digest');
  } catch (err) {
    throw invalid(SUBJECT, `critical.image.docker-manifest-digest: expected a digest, got ${shown(rawDigest)}`, {
      cause: err,
    });
  }
  const optional = top.optional;
  if (optional !== null && !isJsonObject(optional)) {
    throw invalid(SUBJECT, `optional: expected a JSON object or null, got ${typeof optional}`);
  }
  return { dockerReference, manifestDigest, type, optional: optional ?? {} };
}

/** Like `parseSimpleSigningPayload`, and also require `critical.type` to be `expectedType`. */
export function parseSimpleSigningPayloadOfType(
  untrustedBytes: Uint8Array,
  expectedType: SimpleSigningType,
): VerifiedPayload {
  const payload = parseSimpleSigningPayload(untrustedBytes);
  if (payload.type !== expectedType) {
    throw invalid(SUBJECT, `critical.type: expected ${shown(expectedType)}, got ${shown(payload.type)}`);
  }
  return payload;
}

/**
 * Serialise a simple-signing payload as containers/image and cosign do (compact JSON, field order critical →
 * identity, image, type; optional last). Does not sign anything.
 */
export function buildSimpleSigningPayload(input: {
  dockerReference: string;
  manifestDigest: Digest;
  type: SimpleSigningType;
  optional?: Readonly<Record<string, unknown>> | null;
}): Buffer {
  const doc = {
    critical: {
      identity: { 'docker-reference': input.dockerReference },
      image: { 'docker-manifest-digest': input.manifestDigest },
      type: input.type,
    },
    optional: input.optional ?? null,
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}
