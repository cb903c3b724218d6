/**
 * The bytes a Notary v1 signature covers. Notary (`tuf/signed/verify.go` VerifySignatures) decodes the
 * `signed` member into a Go `map[string]interface{}` and re-encodes it with `github.com/docker/go/canonical/json`
 * `MarshalCanonical`; the signature is over that re-encoding, not over the bytes in the file. That encoder is
 * the OLPC canonical-JSON dialect as Go implements it:
 *
 * - object keys sorted by Go string order (UTF-8 byte order), no whitespace;
 * - strings: only `"` and `\` escaped, every other byte (controls, non-ASCII) written raw as UTF-8;
 * - numbers: decoded as float64, and only integral values are allowed (written as an int64);
 * - true, false, null as themselves.
 *
 * `@tufjs/canonical-json` implements the same OLPC dialect but sorts keys by UTF-16 code units (differs from Go
 * for astral characters) and is not a direct dependency of customs, so this is a dozen lines of our own.
 */
import { invalid } from '../failure.js';

/**
 * Integers beyond 2^53 lose precision in both float64 decoders (Go's and JavaScript's) in ways that need not
 * agree; no real version or length comes near, so such documents are refused rather than guessed at.
 */
const MAX_CANONICAL_INTEGER = Number.MAX_SAFE_INTEGER;

function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function encodeString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function encode(value: unknown, subject: string, out: string[]): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (typeof value === 'number') {
    // docker/go canonical/json refuses non-integral floats (math.Floor(f) != f) and NaN/Inf.
    if (!Number.isInteger(value) || Math.abs(value) > MAX_CANONICAL_INTEGER) {
      throw invalid(subject, `not canonical JSON: expected integers only, got ${String(value)}`);
    }
    out.push(String(value === 0 ? 0 : value));
  } else if (typeof value === 'string') {
    out.push(encodeString(value));
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((v: unknown, i) => {
      if (i > 0) out.push(',');
      encode(v, subject, out);
    });
    out.push(']');
  } else if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    out.push('{');
    Object.keys(obj)
      .sort(compareGoStrings)
      .forEach((k, i) => {
        if (i > 0) out.push(',');
        out.push(encodeString(k), ':');
        encode(obj[k], subject, out);
      });
    out.push('}');
  } else {
    throw invalid(subject, `not canonical JSON: unexpected ${typeof value} value`);
  }
}

/**
 * Go `MarshalCanonical` of a value that came from JSON (objects, arrays, strings, numbers, booleans, null), as
 * UTF-8 bytes. Throws SIGNATURE_INVALID for values the Go encoder refuses (non-integral numbers).
 */
export function goCanonicalJson(value: unknown, subject = 'notary metadata'): Buffer {
  const out: string[] = [];
  encode(value, subject, out);
  return Buffer.from(out.join(''), 'utf8');
}
