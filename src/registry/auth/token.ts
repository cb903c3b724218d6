/**
 * Bearer token requests and responses (distribution docs/spec/auth/token.md, oauth.md).
 *
 * `buildTokenRequest` checks the realm itself (realm.ts) so no caller can build a request to an unchecked realm;
 * `parseTokenResponse` treats the body as hostile: strict JSON, bounded token, no characters that could split or
 * smuggle an HTTP header when the token is sent back as `Authorization: Bearer <token>`.
 */
import { CustomsError } from '../../errors.js';
import { isJsonObject, parseStrictJsonBytes } from '../../internal/json.js';
import { KiB } from '../../internal/units.js';
import type { Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import { checkTokenRealm } from './realm.js';

/** Largest token accepted. Real JWTs are 1–4 KiB; a bigger one is an attempt to bloat every request. */
export const MAX_TOKEN_BYTES = 16 * KiB;
/** Largest token response body parsed; the transport should cap its read at this. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * KiB;
/** token.md: "If omitted, the token should be assumed to be valid for 60 seconds"; also the floor. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 60;
/** Cap on a claimed lifetime: a day. A longer one only keeps a leaked token useful longer. */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
/** oauth.md requires a client_id identifying the client. */
export const OAUTH_CLIENT_ID = 'customs';

/** A token request ready for the transport. Headers may carry a secret: pass them through redactHeaders to log. */
export interface TokenRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers: Record<string, string>;
  /** application/x-www-form-urlencoded body for the OAuth2 POST; holds the refresh token. */
  readonly body?: string;
}

/** A parsed token response. */
export interface TokenResponse {
  readonly token: string;
  readonly expiresInSeconds: number;
}

// Repository path components (distribution reference grammar) joined by '/'; no ':' or spaces, which would
// break the scope's own syntax (scope = resource-type ":" resource-name ":" action).
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** `repository:NAME:pull` (token.md "Requesting a Token", scope grammar in docs/spec/auth/scope.md). */
export function pullScope(repository: string): string {
  if (!REPOSITORY_NAME.test(repository)) {
    throw new CustomsError(
      'REFERENCE_INVALID',
      `token scope: repository ${JSON.stringify(repository.slice(0, 256))}: invalid repository name`,
    );
  }
  return `repository:${repository}:pull`;
}

/**
 * Build the request for a Bearer token answering `challenge` from the registry at `registryOrigin`, for `scopes`
 * (e.g. `pullScope('library/debian')`).
 *
 * - The realm is checked with `checkTokenRealm` first (throws TOKEN_REALM_REFUSED); credentials are attached only
 *   if the check allows it.
 * - No credential, or a basic one: `GET realm?service=S&scope=A&scope=B` (token.md), with
 *   `Authorization: Basic` for a basic credential.
 * - An identity token: `POST realm` with form `grant_type=refresh_token&service&client_id&refresh_token&scope`
 *   (oauth.md, scopes space-separated).
 *
 * The challenge's own `scope` parameter is not used: the caller states what it needs, and customs only ever asks
 * to pull. Throws UNAUTHORIZED for a non-Bearer challenge or one without a realm.
 */
export function buildTokenRequest(
  challenge: Challenge,
  scopes: readonly string[],
  credential: Credential | undefined,
  registryOrigin: URL,
): TokenRequest {
  if (challenge.scheme !== 'bearer') {
    throw new CustomsError('UNAUTHORIZED', `token request: challenge scheme: expected bearer, got ${challenge.scheme}`);
  }
  const untrustedRealm = challenge.params.get('realm');
  if (untrustedRealm === undefined || untrustedRealm === '') {
    throw new CustomsError('UNAUTHORIZED', 'token request: Bearer challenge has no realm', {
      hint: 'The registry sent an incomplete authentication challenge; report it to the registry operator.',
    });
  }
  const realm = checkTokenRealm(untrustedRealm, registryOrigin, { hasCredentials: credential !== undefined });
  const url = realm.url;
  const service = challenge.params.get('service');
  const send = realm.sendCredentials ? credential : undefined;
  const headers: Record<string, string> = { accept: 'application/json' };

  if (send?.kind === 'identity-token') {
    const form = new URLSearchParams();
    form.set('grant_type', 'refresh_token');
    if (service !== undefined) form.set('service', service);
    form.set('client_id', OAUTH_CLIENT_ID);
    form.set('refresh_token', send.token);
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return { method: 'POST', url, headers, body: form.toString() };
  }

  if (service !== undefined) url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  if (send?.kind === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${send.username}:${send.password}`, 'utf8').toString('base64')}`;
  }
  return { method: 'GET', url, headers };
}

function badResponse(what: string): CustomsError {
  return new CustomsError('UNAUTHORIZED', `token response: ${what}`, {
    hint: 'The token service answered with something customs cannot use; retry, or report it to the registry operator.',
  });
}

// RFC 6750 b64token is narrower, but registries issue JWTs and opaque tokens; visible ASCII is what can be put in
// a header without folding, splitting or re-encoding.
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

function checkToken(field: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw badResponse(`"${field}": expected a string, got ${typeof v}`);
  if (v.length > MAX_TOKEN_BYTES) {
    throw badResponse(`"${field}": too long: expected at most ${MAX_TOKEN_BYTES} bytes, got ${v.length}`);
  }
  if (!TOKEN_CHARS.test(v)) throw badResponse(`"${field}": contains whitespace, control or non-ASCII characters`);
  return v;
}

/**
 * Parse a token service response body (token.md "Token Response Fields"). Strict JSON (duplicate keys refused);
 * `token` or `access_token` (if both, they must be equal — token.md leaves a mismatch undefined, so it is refused);
 * the token must be 1..MAX_TOKEN_BYTES of visible ASCII. `expires_in` defaults to 60 and is clamped to
 * [60, MAX_TOKEN_LIFETIME_SECONDS]. Throws UNAUTHORIZED with a message that never quotes the body.
 *
 * Verifies shape only: whether the registry accepts the token is learned by using it.
 */
export function parseTokenResponse(untrustedBytes: Uint8Array): TokenResponse {
  if (untrustedBytes.length > MAX_TOKEN_RESPONSE_BYTES) {
    throw badResponse(`too large: expected at most ${MAX_TOKEN_RESPONSE_BYTES} bytes, got ${untrustedBytes.length}`);
  }
  let untrusted: unknown;
  try {
    untrusted = parseStrictJsonBytes(untrustedBytes, 'token response');
  } catch (err) {
    // The body holds the token; V8's JSON.parse messages quote the input, so only structural facts survive.
    const key = err instanceof CustomsError ? err.details.key : undefined;
    throw badResponse(typeof key === 'string' ? `invalid JSON: duplicate key ${JSON.stringify(key)}` : 'invalid JSON');
  }
  if (!isJsonObject(untrusted)) throw badResponse('expected a JSON object');
  const token = checkToken('token', untrusted.token);
  const accessToken = checkToken('access_token', untrusted.access_token);
  if (token !== undefined && accessToken !== undefined && token !== accessToken) {
    throw badResponse('"token" and "access_token" differ');
  }
  const chosen = token ?? accessToken;
  if (chosen === undefined) throw badResponse('no "token" or "access_token"');

  const untrustedExpires = untrusted.expires_in;
  let expiresInSeconds = DEFAULT_TOKEN_LIFETIME_SECONDS;
  if (untrustedExpires !== undefined && untrustedExpires !== null) {
    if (typeof untrustedExpires !== 'number' || !Number.isFinite(untrustedExpires)) {
      throw badResponse(`"expires_in": expected a number, got ${typeof untrustedExpires}`);
    }
    expiresInSeconds = Math.min(
      MAX_TOKEN_LIFETIME_SECONDS,
      Math.max(DEFAULT_TOKEN_LIFETIME_SECONDS, Math.floor(untrustedExpires)),
    );
  }
  return { token: chosen, expiresInSeconds };
}
