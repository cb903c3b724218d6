/**
 * Redaction of secrets before anything reaches a message, a log or `--json` output.
 * Follows go-containerregistry's internal/redact: URLs lose userinfo and sensitive query values, headers lose
 * Authorization/Cookie values. Library code passes every URL it mentions in an error through `redactUrl`.
 */

const SENSITIVE_QUERY =
  /^(x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token|refresh_token|password|x-goog-signature|x-goog-credential)$/i;
const SENSITIVE_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-registry-auth)$/i;

/** A URL safe to show: no userinfo, sensitive query values replaced by REDACTED. Non-URLs come back marked. */
export function redactUrl(untrustedUrl: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(untrustedUrl));
  } catch {
    return '<invalid url>';
  }
  if (u.username !== '' || u.password !== '') {
    u.username = '';
    u.password = '';
  }
  for (const key of [...u.searchParams.keys()]) {
    if (SENSITIVE_QUERY.test(key)) u.searchParams.set(key, 'REDACTED');
  }
  return u.toString();
}

/** Headers safe to show: credential-bearing values replaced by REDACTED. */
export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = SENSITIVE_HEADER.test(k) ? 'REDACTED' : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/**
 * Remove every occurrence of known secrets from a free-form string (e.g. a foreign error message that might
 * echo a header). Secrets shorter than 4 characters are not searched for, to avoid mangling ordinary text.
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join('REDACTED');
  }
  return out;
}

/**
 * Truncate untrusted text (e.g. a registry error body) for display, replacing C0/C1 control characters (except tab
 * and newline) and bidi controls (CVE-2021-42574: embeddings, overrides, isolates and the ALM/LRM/RLM marks) by `?`.
 */
export function sanitizeForDisplay(untrustedText: string, maxChars = 512): string {
  const clean = untrustedText.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    '?',
  );
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
}
