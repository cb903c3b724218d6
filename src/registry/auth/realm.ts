/**
 * Token-realm policy: may customs send a token request (and the user's credentials) to the URL a registry named
 * in its `WWW-Authenticate: Bearer realm=...` challenge?
 *
 * The realm is chosen by the registry, so a hostile or compromised registry chooses where customs sends an HTTP
 * request, possibly carrying the user's password. Unchecked, that is server-side request forgery from the
 * user's host (distribution CVE-2026-33540, "token realm SSRF": a realm of http://169.254.169.254/ reaches the
 * cloud metadata service) and credential theft (a realm on another host over plain HTTP leaks the Basic header
 * to the network). Each rule below says which attack it stops. Pure and synchronous; no DNS.
 *
 * What it does not do: resolve names. A realm host name that resolves to a link-local or metadata address
 * (DNS rebinding, `169.254.169.254.nip.io`) must be refused by the transport at connect time, on the resolved
 * address, using `isLinkLocalOrUnsafeHost`.
 */
import { isIP } from 'node:net';
import { CustomsError } from '../../errors.js';
import { redactUrl, sanitizeForDisplay } from '../../internal/redact.js';

/** Result of an accepted realm. */
export interface CheckedRealm {
  /** The realm as a parsed URL (fragment removed). */
  readonly url: URL;
  /** Whether the user's credentials may be sent to this realm. */
  readonly sendCredentials: boolean;
}

/** Strip the brackets WHATWG URL puts around IPv6 hosts. */
function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** IPv4 dotted quad → 32-bit number; the input must already satisfy isIP() === 4. */
function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

/** IPv6 text (isIP() === 6, no zone) → eight 16-bit groups. */
function ipv6Groups(ip: string): number[] {
  let text = ip;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToInt(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = text.split('::', 2);
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = parse(head);
  if (rest === undefined) return h;
  const t = parse(rest);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * The IPv4 address embedded in an IPv6 address by a translation or compatibility form, or undefined.
 * Covers IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), IPv4-compatible `::a.b.c.d` (deprecated, still
 * routed by some stacks) and the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052): each reaches the IPv4 host.
 */
function embeddedIpv4(groups: readonly number[]): number | undefined {
  const g = (i: number): number => groups[i] ?? 0;
  const low = ((g(6) << 16) | g(7)) >>> 0;
  const zero5 = g(0) === 0 && g(1) === 0 && g(2) === 0 && g(3) === 0 && g(4) === 0;
  if (zero5 && g(5) === 0xffff) return low;
  if (zero5 && g(5) === 0 && low > 1) return low; // not :: or ::1
  if (g(0) === 0x64 && g(1) === 0xff9b && g(2) === 0 && g(3) === 0 && g(4) === 0 && g(5) === 0) return low;
  return undefined;
}

function isUnsafeIpv4(v4: number): boolean {
  const a = v4 >>> 24;
  const b = (v4 >>> 16) & 0xff;
  return (
    a === 0 || // 0.0.0.0/8 "this network" (RFC 1122): 0.0.0.0 connects to the local host on most stacks
    (a === 169 && b === 254) || // 169.254.0.0/16 link-local: cloud metadata (169.254.169.254), CVE-2026-33540
    (a >= 224 && a <= 239) || // 224.0.0.0/4 multicast: never a token server
    v4 === 0xffffffff // limited broadcast
  );
}

function isLoopbackIpv4(v4: number): boolean {
  return v4 >>> 24 === 127;
}

/** Cloud metadata endpoints reachable by name or outside the link-local ranges. */
const METADATA_HOST_NAMES: ReadonlySet<string> = new Set(['metadata.google.internal', 'metadata.goog']);
const AWS_IMDS_IPV6_GROUPS = [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(':');

/**
 * True for hosts a token realm must never point at: link-local (169.254.0.0/16, fe80::/10 — cloud metadata
 * services live there), unspecified (0.0.0.0/8, ::), multicast (224.0.0.0/4, ff00::/8), broadcast, and IPv6
 * forms embedding any of those IPv4 addresses (`::ffff:169.254.169.254`), plus the known cloud metadata
 * endpoints that sit elsewhere (AWS `fd00:ec2::254`, `metadata.google.internal`).
 *
 * Accepts a URL `hostname` (brackets allowed) or a bare address, e.g. the resolved address at connect time.
 * A host name that is not an IP literal returns false: this function does no DNS.
 */
export function isLinkLocalOrUnsafeHost(host: string): boolean {
  const h = bareHost(host.toLowerCase()).replace(/\.$/, '');
  if (METADATA_HOST_NAMES.has(h)) return true;
  const kind = isIP(h);
  if (kind === 4) return isUnsafeIpv4(ipv4ToInt(h));
  if (kind === 6) {
    if (h.includes('%')) return true; // a zone id only makes sense for link-local scopes
    const groups = ipv6Groups(h);
    const g0 = groups[0] ?? 0;
    if (groups.every((x) => x === 0)) return true; // :: unspecified
    if ((g0 & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
    if ((g0 & 0xff00) === 0xff00) return true; // ff00::/8 multicast
    if (groups.join(':') === AWS_IMDS_IPV6_GROUPS) return true; // fd00:ec2::254, outside link-local space
    const v4 = embeddedIpv4(groups);
    return v4 !== undefined && isUnsafeIpv4(v4);
  }
  return false;
}

/**
 * True for loopback hosts: 127.0.0.0/8, ::1, IPv6 forms embedding 127.0.0.0/8, and `localhost` / `*.localhost`
 * (RFC 6761 §6.3 reserves them for loopback; WHATWG URL lowercases the name). Accepts brackets.
 */
export function isLoopbackHost(host: string): boolean {
  const h = bareHost(host.toLowerCase()).replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const kind = isIP(h);
  if (kind === 4) return isLoopbackIpv4(ipv4ToInt(h));
  if (kind === 6) {
    if (h.includes('%')) return false;
    const groups = ipv6Groups(h);
    if (groups.slice(0, 7).every((x) => x === 0) && groups[7] === 1) return true;
    const v4 = embeddedIpv4(groups);
    return v4 !== undefined && isLoopbackIpv4(v4);
  }
  return false;
}

function refuse(untrustedRealm: string, why: string, hint: string): never {
  const shown = redactUrl(untrustedRealm);
  const display = shown === '<invalid url>' ? sanitizeForDisplay(untrustedRealm, 200) : shown;
  throw new CustomsError('TOKEN_REALM_REFUSED', `token realm ${display}: refused: ${why}`, {
    hint,
    details: { realm: display },
  });
}

/**
 * Decide whether customs may fetch a token from `untrustedRealm`, the realm of a Bearer challenge sent by the
 * registry at `registryOrigin`. Returns the parsed URL and whether credentials may go with the request; throws
 * CustomsError TOKEN_REALM_REFUSED naming the (redacted) realm and the rule it broke.
 *
 * Verifies the URL alone (syntax, scheme, host literal, origin relation). Does not resolve DNS, so the transport
 * must still refuse unsafe resolved addresses (`isLinkLocalOrUnsafeHost`) and must not follow redirects off the
 * checked realm.
 */
export function checkTokenRealm(
  untrustedRealm: string,
  registryOrigin: URL,
  opts: { hasCredentials: boolean },
): CheckedRealm {
  // Rule: an absolute URL. A relative realm would be resolved against whatever base a client guesses; clients
  // that disagree are a parser differential. WHATWG parsing also normalizes the integer, hex and octal IPv4
  // spellings (http://2852039166/, 0xa9fea9fe, 0251.0376.0251.0376) to dotted quads, so the host checks below
  // see 169.254.169.254 however it was written.
  let url: URL;
  try {
    url = new URL(untrustedRealm);
  } catch {
    return refuse(untrustedRealm, 'not an absolute URL', 'The registry sent an unusable token realm; report it.');
  }

  // Rule: http or https only. file:, data:, ftp:, gopher: and friends turn a token fetch into a local file read
  // or a request smuggled over another protocol.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return refuse(
      untrustedRealm,
      `scheme must be https, got ${url.protocol.replace(/:$/, '')}`,
      'Only HTTP(S) token realms are used.',
    );
  }

  // Rule: no userinfo. `https://registry.example@evil.example/` reads as the registry to a person and goes to
  // evil.example; and credentials embedded by the registry would be sent on the user's behalf.
  if (url.username !== '' || url.password !== '') {
    return refuse(untrustedRealm, 'URL contains userinfo', 'A token realm must not embed credentials; report it.');
  }

  // Rule: no link-local, unspecified, multicast or broadcast hosts, in any spelling, including IPv4-mapped IPv6.
  // Stops CVE-2026-33540 (token realm SSRF to the cloud metadata service at 169.254.169.254, AWS's IPv6
  // fd00:ec2::254, GCP's metadata.google.internal) and requests to "this host" via 0.0.0.0.
  if (isLinkLocalOrUnsafeHost(url.hostname)) {
    return refuse(
      untrustedRealm,
      `host ${url.hostname} is link-local, unspecified or multicast`,
      'A registry pointing token requests at such an address is attempting request forgery; do not trust it.',
    );
  }

  const realmIsLoopback = isLoopbackHost(url.hostname);
  const registryIsLoopback = isLoopbackHost(registryOrigin.hostname);

  // Rule: a remote registry may not point the token request at this machine. Stops SSRF against local-only
  // services (admin ports, the Docker socket proxy) and handing the user's credentials to whatever listens there.
  if (realmIsLoopback && !registryIsLoopback) {
    return refuse(
      untrustedRealm,
      `loopback realm ${url.hostname} named by non-loopback registry ${registryOrigin.host}`,
      'A remote registry pointing token requests at this machine is attempting request forgery; do not trust it.',
    );
  }

  // Rule: plain HTTP only for a loopback realm on the registry's own origin (a local test registry). Anywhere
  // else, plain HTTP exposes the Basic credentials and the issued token to the network, and a cross-origin
  // plain-HTTP realm lets a registry send the user's password in clear text to a host of its choosing.
  if (url.protocol === 'http:') {
    if (!realmIsLoopback || url.origin !== registryOrigin.origin) {
      return refuse(
        untrustedRealm,
        `plain-HTTP realm is allowed only on the registry's own loopback origin ${registryOrigin.origin}`,
        'Use a registry whose token service is served over HTTPS.',
      );
    }
  }

  // A cross-origin HTTPS realm is normal (Docker Hub: registry-1.docker.io → auth.docker.io) and receives the
  // credentials: the token service is where they are meant to go, and TLS protects them in transit.
  url.hash = '';
  const sendCredentials = opts.hasCredentials && (url.protocol === 'https:' || realmIsLoopback);
  return { url, sendCredentials };
}
