/**
 * Strict JSON parsing for untrusted documents (manifests, configs, token responses).
 *
 * `JSON.parse` silently keeps the last of two duplicate keys; two parsers that disagree about which one wins
 * is how manifest-confusion attacks work (CVE-2021-41190 family, and the OCI image-spec rule that content be
 * unambiguous). This parser refuses duplicate keys, lone surrogates in keys, nesting deeper than a limit, and
 * anything that is not exactly one JSON value (RFC 8259), then defers to `JSON.parse` for the values.
 */
import { CustomsError } from '../errors.js';

/** Deeper nesting than any real manifest; stops stack-exhaustion documents. */
export const MAX_JSON_DEPTH = 64;

/** Parse `untrustedText` as one JSON value, refusing duplicate object keys. Throws JSON_INVALID. */
export function parseStrictJson(untrustedText: string, subject: string): unknown {
  checkStructure(untrustedText, subject);
  try {
    return JSON.parse(untrustedText) as unknown;
  } catch (err) {
    throw new CustomsError('JSON_INVALID', `${subject}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Decode bytes as UTF-8 (fatal on invalid sequences) and parse strictly. */
export function parseStrictJsonBytes(untrustedBytes: Uint8Array, subject: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(untrustedBytes);
  } catch (err) {
    throw new CustomsError('JSON_INVALID', `${subject}: invalid JSON: not valid UTF-8`, { cause: err });
  }
  return parseStrictJson(text, subject);
}

function fail(subject: string, what: string, pos: number): never {
  throw new CustomsError('JSON_INVALID', `${subject}: invalid JSON: ${what} at offset ${pos}`, {
    details: { offset: pos },
  });
}

/** A small scanner that only tracks structure and object keys; values are validated by JSON.parse later. */
function checkStructure(s: string, subject: string): void {
  let i = 0;
  const n = s.length;
  const ws = (): void => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    // s[i] === '"'
    const start = i;
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return JSON.parse(s.slice(start, i)) as string;
      }
      if (c === 0x5c) i += 2;
      else if (c < 0x20) fail(subject, 'control character in string', i);
      else i++;
    }
    return fail(subject, 'unterminated string', start);
  };
  const value = (depth: number): void => {
    if (depth > MAX_JSON_DEPTH) fail(subject, `nesting deeper than ${MAX_JSON_DEPTH}`, i);
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (s[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail(subject, 'expected object key', i);
        const keyPos = i;
        let key: string;
        try {
          key = str();
        } catch (err) {
          if (err instanceof CustomsError) throw err;
          return fail(subject, 'invalid string', keyPos);
        }
        if (keys.has(key)) {
          throw new CustomsError('JSON_INVALID', `${subject}: invalid JSON: duplicate key ${JSON.stringify(key)}`, {
            details: { offset: keyPos, key },
            hint: 'A document with duplicate keys means different things to different parsers; it is refused.',
          });
        }
        keys.add(key);
        ws();
        if (s[i] !== ':') fail(subject, 'expected ":"', i);
        i++;
        value(depth + 1);
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === '}') {
          i++;
          return;
        }
        fail(subject, 'expected "," or "}"', i);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          return;
        }
        fail(subject, 'expected "," or "]"', i);
      }
    } else if (c === '"') {
      try {
        str();
      } catch (err) {
        if (err instanceof CustomsError) throw err;
        fail(subject, 'invalid string', i);
      }
    } else {
      // number, true, false, null: skip the token; JSON.parse validates it.
      const start = i;
      while (i < n && /[0-9a-zA-Z+\-.]/.test(s[i] ?? '')) i++;
      if (i === start) fail(subject, 'unexpected character', i);
    }
  };
  value(0);
  ws();
  if (i !== n) fail(subject, 'trailing data after the JSON value', i);
}

/** Narrow to a plain JSON object or throw MANIFEST_INVALID-style errors with the given code. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
