/**
 * Content digests (OCI image-spec descriptor.md "Digests"). customs accepts the registered algorithms sha256
 * and sha512 with their exact lowercase-hex encodings; anything else is refused rather than guessed at.
 */
import { CustomsError } from '../errors.js';
import { sanitizeForDisplay } from '../internal/redact.js';

/** Show an untrusted value in a message: quoted, control and bidi characters replaced, truncated. */
function shown(untrusted: string): string {
  return JSON.stringify(sanitizeForDisplay(untrusted, 200));
}

/** A digest string that passed `parseDigest`: `sha256:<64 hex>` or `sha512:<128 hex>`. Trusted by type. */
export type Digest = string & { readonly __brand: 'Digest' };

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

/** Parse a digest string. Throws REFERENCE_INVALID (usage) for user input or MANIFEST_INVALID when `fromManifest`. */
export function parseDigest(untrusted: unknown, subject = 'digest', fromManifest = false): Digest {
  const code = fromManifest ? 'MANIFEST_INVALID' : 'REFERENCE_INVALID';
  if (typeof untrusted !== 'string') {
    throw new CustomsError(code, `${subject}: expected a digest string, got ${typeof untrusted}`);
  }
  const m = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(untrusted);
  if (m === null) {
    throw new CustomsError(code, `${subject}: invalid digest: expected algorithm:hex, got ${shown(untrusted)}`);
  }
  const alg = m[1] as string;
  const hex = m[2] as string;
  if (alg !== 'sha256' && alg !== 'sha512') {
    throw new CustomsError(code, `${subject}: unsupported digest algorithm: expected sha256 or sha512, got ${alg}`);
  }
  const want = HEX_LENGTH[alg];
  if (hex.length !== want || !/^[0-9a-f]+$/.test(hex)) {
    throw new CustomsError(
      code,
      `${subject}: invalid ${alg} digest: expected ${want} lowercase hex characters, got ${shown(hex)}`,
    );
  }
  return untrusted as Digest;
}

export function isDigest(untrusted: unknown): untrusted is Digest {
  try {
    parseDigest(untrusted);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}
