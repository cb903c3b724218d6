/**
 * `WWW-Authenticate` parsing (RFC 7235 §4.1, §2.1; RFC 7230 §3.2.6 for token and quoted-string).
 *
 * The header is attacker-controlled: any registry, or anything between us and a plain-HTTP registry, writes it.
 * The parser is a small hand-written scanner with no regular-expression backtracking over the whole input, a
 * length cap, and one rule beyond the RFC: a parameter named twice in one challenge is refused, because two
 * `realm`s mean different things to different clients (the parser-differential pattern). Everything it throws is
 * a CustomsError (UNAUTHORIZED); it never throws anything else.
 *
 * It does not decide whether a realm is safe to contact: that is realm.ts.
 */
import { CustomsError } from '../../errors.js';
import { KiB } from '../../internal/units.js';

/** Longest header accepted. Real challenges are a few hundred bytes; the cap bounds work on hostile input. */
export const MAX_WWW_AUTHENTICATE_BYTES = 8 * KiB;

/** One challenge: scheme lowercased, parameter names lowercased, values unescaped. */
export interface Challenge {
  /** Auth scheme, lowercased (`bearer`, `basic`). RFC 7235 §2.1: schemes are case-insensitive. */
  readonly scheme: string;
  /**
   * Parameters by lowercased name. A Map, not an object, so a parameter called `__proto__` or `constructor`
   * is just data.
   */
  readonly params: ReadonlyMap<string, string>;
  /** The token68 form (`Basic dXNlcg==`) when the challenge carries one instead of parameters. */
  readonly token68?: string;
}

// RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
// / DIGIT / ALPHA
function isTchar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}

// RFC 7235 §2.1: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
function isToken68Char(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e ||
    c === 0x2b ||
    c === 0x2f
  );
}

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  peek(): number {
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }

  /** OWS = *( SP / HTAB ) */
  ows(): void {
    while (this.peek() === 0x20 || this.peek() === 0x09) this.i++;
  }

  token(): string {
    const start = this.i;
    while (isTchar(this.peek())) this.i++;
    return this.s.slice(start, this.i);
  }

  fail(what: string): never {
    throw new CustomsError('UNAUTHORIZED', `WWW-Authenticate header: malformed: ${what} at offset ${this.i}`, {
      details: { offset: this.i },
      hint: 'The registry sent an authentication challenge customs cannot parse; report it to the registry operator.',
    });
  }

  /** quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, starting at the opening quote. */
  quoted(): string {
    this.i++; // opening quote
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === -1) this.fail('unterminated quoted string');
      if (c === 0x22) {
        this.i++;
        return out;
      }
      if (c === 0x5c) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        this.i++;
        const e = this.peek();
        if (e === -1) this.fail('unterminated quoted string');
        if (!(e === 0x09 || (e >= 0x20 && e !== 0x7f))) this.fail('control character in quoted string');
        out += String.fromCharCode(e);
        this.i++;
        continue;
      }
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (!(c === 0x09 || (c >= 0x20 && c !== 0x7f))) this.fail('control character in quoted string');
      out += String.fromCharCode(c);
      this.i++;
    }
  }

  /** Skip list separators: RFC 7230 §7 lets a #rule list contain empty elements (`a, , b`). */
  commas(): boolean {
    let saw = false;
    for (;;) {
      this.ows();
      if (this.peek() !== 0x2c) return saw;
      saw = true;
      this.i++;
    }
  }
}

/**
 * Parse every challenge in a `WWW-Authenticate` value (or several header lines, which mean the same as one line
 * joined with commas, RFC 7230 §3.2.2). Returns `[]` for an empty header. Throws CustomsError UNAUTHORIZED for a
 * header longer than MAX_WWW_AUTHENTICATE_BYTES, a syntax error, or a parameter repeated within one challenge.
 *
 * Verifies syntax only: realm URLs are returned as text and must go through `checkTokenRealm` before use.
 */
export function parseWwwAuthenticate(untrustedHeader: string | readonly string[]): Challenge[] {
  const text = typeof untrustedHeader === 'string' ? untrustedHeader : untrustedHeader.join(', ');
  if (Buffer.byteLength(text, 'utf8') > MAX_WWW_AUTHENTICATE_BYTES) {
    throw new CustomsError(
      'UNAUTHORIZED',
      `WWW-Authenticate header: too long: expected at most ${MAX_WWW_AUTHENTICATE_BYTES} bytes, got ${Buffer.byteLength(text, 'utf8')}`,
      { details: { limitBytes: MAX_WWW_AUTHENTICATE_BYTES } },
    );
  }
  const sc = new Scanner(text);
  const challenges: Challenge[] = [];
  sc.commas();
  while (!sc.done) {
    const scheme = sc.token();
    if (scheme === '') sc.fail('expected an auth scheme');
    const params = new Map<string, string>();
    let token68: string | undefined;
    const afterScheme = sc.i;
    sc.ows();
    if (sc.i > afterScheme && !sc.done && sc.peek() !== 0x2c) {
      // 1*SP ( token68 / #auth-param ): decide by looking ahead for `token BWS "="` followed by a value.
      const firstParam = tryParam(sc);
      if (firstParam === undefined) {
        token68 = readToken68(sc);
      } else {
        params.set(firstParam[0], firstParam[1]);
        // More parameters follow a comma; a comma followed by `token SP` (not `token =`) starts a new challenge.
        for (;;) {
          const save = sc.i;
          if (!sc.commas()) break;
          if (sc.done) break;
          const p = tryParam(sc);
          if (p === undefined) {
            sc.i = save;
            break;
          }
          if (params.has(p[0])) sc.fail(`parameter ${JSON.stringify(p[0])} repeated`);
          params.set(p[0], p[1]);
        }
      }
    }
    challenges.push(
      token68 === undefined
        ? { scheme: scheme.toLowerCase(), params }
        : { scheme: scheme.toLowerCase(), params, token68 },
    );
    sc.ows();
    if (sc.done) break;
    if (!sc.commas()) sc.fail('expected "," between challenges');
  }
  return challenges;
}

/** auth-param = token BWS "=" BWS ( token / quoted-string ); returns undefined (position restored) if absent. */
function tryParam(sc: Scanner): [string, string] | undefined {
  const start = sc.i;
  const name = sc.token();
  if (name === '') {
    sc.i = start;
    return undefined;
  }
  sc.ows();
  if (sc.peek() !== 0x3d) {
    sc.i = start;
    return undefined;
  }
  sc.i++;
  sc.ows();
  const c = sc.peek();
  let value: string;
  if (c === 0x22) {
    value = sc.quoted();
  } else {
    value = sc.token();
    if (value === '') {
      // `name=` then end, comma or junk: could be a token68 ending in "=" (`Basic YQ==`); let the caller decide.
      sc.i = start;
      return undefined;
    }
  }
  return [name.toLowerCase(), value];
}

function readToken68(sc: Scanner): string {
  const start = sc.i;
  while (isToken68Char(sc.peek())) sc.i++;
  if (sc.i === start) sc.fail('expected token68 or auth-param');
  while (sc.peek() === 0x3d) sc.i++;
  const value = sc.s.slice(start, sc.i);
  sc.ows();
  if (!sc.done && sc.peek() !== 0x2c) sc.fail('unexpected character after token68');
  return value;
}

/** The first challenge with the given scheme (case-insensitive), or undefined. */
export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  const want = scheme.toLowerCase();
  return challenges.find((c) => c.scheme === want);
}
