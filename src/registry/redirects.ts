/**
 * Redirect and credential-transport policy. Pure decisions, no I/O: the client asks these before every hop.
 *
 * Registries redirect blob (and sometimes manifest) requests to object storage with presigned URLs. Each hop is
 * attacker-chosen, so each hop is checked: the scheme, a downgrade to plain HTTP, the target host (SSRF to cloud
 * metadata, CVE-2026-33540 class), and the number of hops. Credentials go only to the registry's own origin
 * (go-containerregistry transport, containers/image docker_client: a presigned URL must not receive the
 * user's Authorization header) and never over plain HTTP to a host other than this machine.
 */
import { CustomsError } from '../errors.js';
import { redactUrl, sanitizeForDisplay } from '../internal/redact.js';
import { isLinkLocalOrUnsafeHost, isLoopbackHost } from './auth/index.js';

/** Most redirects followed for one request (containers/image and Go's net/http allow 10; registries use 1-2). */
export const MAX_REDIRECTS = 5;

/** Statuses that carry a Location to follow (RFC 9110 §15.4). Every request customs makes is a GET. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

function refuse(what: string, hint: string, details: Record<string, unknown> = {}): never {
  throw new CustomsError('REDIRECT_REFUSED', what, { hint, details });
}

/**
 * Resolve and check the target of redirect number `hop` (1-based) from `from`. Returns the target URL or throws
 * REDIRECT_REFUSED when: there are more than MAX_REDIRECTS hops, Location is missing or not a URL, the target is
 * not http(s), it carries userinfo, it downgrades https to http for a non-loopback host, its host is link-local,
 * unspecified or multicast, or it is loopback while `from` is not (SSRF). Host names are checked as written; the
 * transport checks the resolved addresses of cross-origin targets at connect time (link-local only: a name that
 * resolves to 127.0.0.1 is not caught here).
 */
export function checkRedirect(untrustedLocation: string | undefined, from: URL, hop: number): URL {
  const subject = `redirect from ${redactUrl(from)}`;
  if (hop > MAX_REDIRECTS) {
    refuse(
      `${subject}: too many redirects: expected at most ${MAX_REDIRECTS}, got more`,
      'The registry is redirecting in a loop.',
    );
  }
  if (untrustedLocation === undefined || untrustedLocation.trim() === '') {
    refuse(`${subject}: redirect without a Location header`, 'The registry sent a broken redirect; report it.');
  }
  let target: URL;
  try {
    // RFC 9110 §10.2.2: Location may be relative to the request URL.
    target = new URL(untrustedLocation, from);
  } catch {
    return refuse(
      `${subject}: invalid Location ${JSON.stringify(sanitizeForDisplay(untrustedLocation, 200))}`,
      'The registry sent a broken redirect; report it.',
    );
  }
  const shown = redactUrl(target);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    refuse(
      `${subject}: to ${shown}: scheme must be https or http, got ${target.protocol.replace(/:$/, '')}`,
      'Only HTTP(S) redirects are followed.',
      {
        target: shown,
      },
    );
  }
  if (target.username !== '' || target.password !== '') {
    refuse(`${subject}: to ${shown}: URL contains userinfo`, 'A redirect must not embed credentials.', {
      target: shown,
    });
  }
  if (isLinkLocalOrUnsafeHost(target.hostname)) {
    refuse(
      `${subject}: to ${shown}: host ${target.hostname} is link-local, unspecified or multicast`,
      'A registry redirecting to such an address is attempting request forgery; do not trust it.',
      { target: shown },
    );
  }
  // Same rule as token realms (realm.ts): a remote host may not point customs at this machine, or it reaches
  // local-only services (admin ports, a Docker API on 127.0.0.1:2375) from the user's host (SSRF).
  if (isLoopbackHost(target.hostname) && !isLoopbackHost(from.hostname)) {
    refuse(
      `${subject}: to ${shown}: loopback target named by non-loopback host ${from.host}`,
      'A remote registry redirecting to this machine is attempting request forgery; do not trust it.',
      { target: shown },
    );
  }
  if (from.protocol === 'https:' && target.protocol === 'http:' && !isLoopbackHost(target.hostname)) {
    refuse(
      `${subject}: to ${shown}: downgrade from https to plain http refused`,
      'A redirect must not move a transfer off TLS.',
      { target: shown },
    );
  }
  target.hash = '';
  return target;
}

/**
 * Whether an Authorization header may be sent to `target`: only to the registry's own origin (scheme, host and
 * port all equal). Anything else, object storage included, is fetched without credentials.
 */
export function isCredentialTarget(target: URL, registryOrigin: URL): boolean {
  return target.origin === registryOrigin.origin;
}

/**
 * Throw INSECURE_TRANSPORT unless credentials may travel to `target` over its scheme: https anywhere, plain http
 * only to a loopback host (the bytes never leave this machine). Applies to Basic credentials and to tokens
 * obtained with them; the caller decides which headers count as credentials.
 */
export function assertCredentialTransport(target: URL): void {
  if (target.protocol === 'https:') return;
  if (target.protocol === 'http:' && isLoopbackHost(target.hostname)) return;
  throw new CustomsError(
    'INSECURE_TRANSPORT',
    `${redactUrl(target)}: credentials refused over plain ${target.protocol.replace(/:$/, '')} to a non-loopback host`,
    {
      hint: 'Serve the registry over HTTPS; customs never sends a password or token in clear text over the network.',
      details: { url: redactUrl(target) },
    },
  );
}
