/**
 * HTTP transport for the registry client: undici Agents (pooled keep-alive connections, precise idle
 * timeouts), the per-registry scheme decision, and translation of foreign errors into CustomsError.
 *
 * Agents, one per purpose so TLS material never leaks across origins:
 * - one per registry host, with the system roots plus that host's certs.d CAs and client certificate, and TLS
 *   verification off only for a registry the user marked insecure;
 * - one shared "foreign" agent for everything else a registry points us at (object-storage redirects, token
 *   realms on another host): system roots only, verification always on, no client certificate, and a DNS
 *   lookup that refuses link-local and unspecified addresses (a host name resolving to 169.254.169.254 is the
 *   same SSRF as the literal; CVE-2026-33540 class).
 *
 * No agent follows redirects (undici 7 does not unless a redirect interceptor is added); the client checks
 * every hop itself (redirects.ts).
 *
 * Blob GETs (`bulk`), every GET to a plain-HTTP origin and every GET to a loopback host first go through
 * bulk-get.ts, with the same connect options (TLS material and lookup guard); a response it cannot frame is sent
 * again through undici.
 */
import type { LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { CustomsError } from '../errors.js';
import { defaultSecureContext, nodeDefaultLacksExtraCas, systemRoots } from '../internal/extra-ca.js';
import { redactUrl, sanitizeForDisplay, scrubSecrets } from '../internal/redact.js';
import type { Agent } from '../internal/undici-agent.js';
import { isLinkLocalOrUnsafeHost, isLoopbackHost } from './auth/index.js';
import { bulkGet, socketAddress, type BulkConnectOptions } from './bulk-get.js';
import { errorCodeOf } from './retry.js';
import { loadRegistryTls, type RegistryTls } from './tls-config.js';
import { probeTls } from './tls-probe.js';

/** Response headers as undici gives them: lowercased names. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** A response body: undici's, or the bulk path's RawBody (bulk-get.ts). Consume it, dump it, or destroy it. */
export type ResponseBody = Readable & { dump(options?: { limit?: number }): Promise<unknown> };

/** An HTTP response whose body has not been read yet. The body must be consumed or destroyed. */
export interface HttpResponse {
  readonly url: URL;
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: ResponseBody;
}

/** One outgoing request. */
export interface HttpRequest {
  readonly url: URL;
  readonly method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly headers: Readonly<Record<string, string>>;
  /** Request body; a Buffer so a push can be re-sent after an auth challenge or a 307/308 redirect. */
  readonly body?: string | Buffer;
  /**
   * A blob GET whose body is large: try the bulk path (bulk-get.ts), which reads into the consumer's buffers.
   * Responses it does not handle are sent again through undici.
   */
  readonly bulk?: boolean;
}

/** Which agent carries a request: the registry's own (its TLS material), or the shared foreign one. */
export type Route = { readonly kind: 'registry'; readonly host: string } | { readonly kind: 'foreign' };

export interface TransportOptions {
  readonly certsDirs: readonly string[];
  /** Registries (`host[:port]`) the user marked insecure: plain HTTP allowed, TLS not verified. */
  readonly isInsecure: (host: string) => boolean;
  /** Connect, headers and between-body-chunks timeout. */
  readonly idleTimeoutMs: number;
  /** Secrets known so far, scrubbed from every foreign error message. */
  readonly secrets: () => Iterable<string>;
}

/** Connections per origin; registries and object stores throttle clients that open many more. */
const CONNECTIONS_PER_ORIGIN = 8;

/** How much of a discarded body is drained to keep its connection alive; beyond that the socket is closed. */
const MAX_DRAIN_BYTES = 64 * 1024;

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);

/** Certificate verification failures: never a reason to fall back to plain HTTP. */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** Code set on the error the guarded DNS lookup raises for an unsafe resolved address. */
export const UNSAFE_ADDRESS_CODE = 'ERR_CUSTOMS_UNSAFE_ADDRESS';

/** True when `err` is a TLS certificate verification failure. */
export function isCertificateError(err: unknown): boolean {
  const code = errorCodeOf(err);
  return code !== undefined && CERTIFICATE_CODES.has(code);
}

/** The host name of a `host[:port]` registry, brackets kept for IPv6 (as URL.hostname gives it). */
export function hostnameOf(hostPort: string): string {
  return new URL(`https://${hostPort}`).hostname;
}

/**
 * DNS lookup that refuses link-local, unspecified and multicast results (isLinkLocalOrUnsafeHost), for agents
 * that connect where a registry told them to.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  // node:dns loads here, on the first lookup of a foreign host: registry connections never need it.
  import('node:dns').then(
    ({ lookup }) => guardedLookupWith(lookup, hostname, options, callback),
    (err: unknown) => callback(err as NodeJS.ErrnoException, []),
  );
};

function guardedLookupWith(
  dnsLookup: typeof import('node:dns').lookup,
  hostname: string,
  options: Parameters<LookupFunction>[1],
  callback: Parameters<LookupFunction>[2],
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err !== null) {
      callback(err, []);
      return;
    }
    const unsafe = addresses.find((a) => isLinkLocalOrUnsafeHost(a.address));
    if (unsafe !== undefined || addresses.length === 0) {
      const e: NodeJS.ErrnoException = new Error(
        `${hostname} resolves to ${unsafe?.address ?? 'nothing'}: link-local, unspecified or multicast address refused`,
      );
      e.code = UNSAFE_ADDRESS_CODE;
      callback(e, []);
      return;
    }
    const first = addresses[0] as LookupAddress;
    if (options.all === true) callback(null, addresses);
    else callback(null, first.address, first.family);
  });
}

/** Options for {@link translateError}. */
export interface TranslateContext {
  readonly method: string;
  readonly url: URL;
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly secrets: Iterable<string>;
}

/**
 * Translate a foreign error (undici, net, tls) into CustomsError NETWORK or TIMEOUT naming the redacted URL,
 * with the original as `cause` and known secrets scrubbed from the message. CustomsErrors pass through; an
 * abort by the caller's signal rethrows the signal's reason.
 */
export function translateError(err: unknown, ctx: TranslateContext): unknown {
  if (ctx.signal?.aborted === true) return ctx.signal.reason;
  if (err instanceof CustomsError) return err;
  const shown = redactUrl(ctx.url);
  const code = errorCodeOf(err);
  const subject = `${ctx.method} ${shown}`;
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new CustomsError('TIMEOUT', `${subject}: timed out: no data for ${ctx.idleTimeoutMs} ms`, {
      cause: err,
      hint: 'The registry stalled; retry later or raise the idle timeout.',
      details: { url: shown, code, idleTimeoutMs: ctx.idleTimeoutMs },
    });
  }
  const raw = err instanceof Error ? err.message : String(err);
  const text = scrubSecrets(sanitizeForDisplay(raw, 300), ctx.secrets);
  const details = { url: shown, ...(code === undefined ? {} : { code }) };
  if (isCertificateError(err)) {
    return new CustomsError('NETWORK', `${subject}: TLS certificate not trusted: ${text}`, {
      cause: err,
      details,
      hint: `Put the registry's CA certificate in <certs.d>/${ctx.url.host}/ca.crt, or fix the server certificate.`,
    });
  }
  if (code === UNSAFE_ADDRESS_CODE) {
    return new CustomsError('REDIRECT_REFUSED', `${subject}: ${text}`, {
      cause: err,
      details,
      hint: 'A registry sending customs to such an address is attempting request forgery; do not trust it.',
    });
  }
  return new CustomsError('NETWORK', `${subject}: ${text}${code === undefined ? '' : ` (${code})`}`, {
    cause: err,
    details,
  });
}

/**
 * Stop reading a body and close its connection. undici reports a destroyed unfinished body as an 'error'
 * event (RequestAbortedError); nobody is listening any more, so it is swallowed here instead of crashing.
 */
export function abandonBody(body: { on(event: 'error', fn: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Read and drop a body we do not need, keeping the connection when it is small. Never throws. */
export async function discardBody(body: HttpResponse['body']): Promise<void> {
  try {
    await body.dump({ limit: MAX_DRAIN_BYTES });
  } catch {
    abandonBody(body);
  }
}

/** Cache key of a route: one agent and one set of connect options per registry, one for everything foreign. */
function routeKey(route: Route): string {
  return route.kind === 'registry' ? `registry ${route.host}` : 'foreign';
}

/** How to connect to `route` without TLS: hosts a registry sent us to are resolved through the link-local guard. */
function plainConnectOptions(route: Route): BulkConnectOptions {
  return route.kind === 'foreign' ? { lookup: guardedLookup } : {};
}

/** The promise cached under `key`, started by `create` when absent; a rejected one is dropped so a retry retries. */
function memoized<T>(cache: Map<string, Promise<T>>, key: string, create: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (value === undefined) {
    value = create();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}

/**
 * The SecureContext for a registry's certs.d material: its CAs (with the system roots when `withRoots`) and its
 * client certificate. node:tls loads only here (or for an HTTPS request, bulk-get.ts).
 */
async function registryContext(host: string, tls: RegistryTls, withRoots: boolean): Promise<SecureContext> {
  // Without certs.d CAs (a client certificate only) the default roots apply: Node's own, unless bin/customs kept
  // NODE_EXTRA_CA_CERTS from Node (src/internal/extra-ca.ts).
  const needsRoots = tls.ca === undefined ? nodeDefaultLacksExtraCas() : withRoots;
  const [{ createSecureContext }, roots] = await Promise.all([import('node:tls'), needsRoots ? systemRoots() : []]);
  const ca = [...roots, ...(tls.ca ?? [])];
  try {
    return createSecureContext({
      ...(ca.length === 0 ? {} : { ca }),
      ...(tls.cert === undefined || tls.key === undefined ? {} : { cert: tls.cert, key: tls.key }),
    });
  } catch (err) {
    throw new CustomsError(
      'CONFIG_INVALID',
      `certs.d for ${host}: the CA or client certificate is unusable: ${sanitizeForDisplay(err instanceof Error ? err.message : String(err), 200)}`,
      { cause: err, hint: `Check ca.crt, client.cert and client.key in the certs.d/${host} directories.` },
    );
  }
}

/** The undici side of the registry client. One instance per RegistryClient; `close()` ends its connections. */
export class Transport {
  readonly #options: TransportOptions;
  readonly #agents = new Map<string, Promise<Agent>>();
  readonly #origins = new Map<string, Promise<URL>>();
  readonly #connects = new Map<string, Promise<BulkConnectOptions>>();
  /** Registries trusted through their certs.d CAs alone so far, and how to add the system roots. */
  readonly #narrowTrust = new Map<string, () => Promise<BulkConnectOptions>>();
  #closed = false;

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  /** Whether plain HTTP may be used for `host[:port]` at all: loopback hosts and registries marked insecure. */
  mayUsePlainHttp(host: string): boolean {
    return isLoopbackHost(hostnameOf(host)) || this.#options.isInsecure(host);
  }

  /**
   * The origin (`https://host[:port]` or `http://...`) to use for registry `host`. HTTPS unless the host may
   * use plain HTTP; then a ClientHello probes it once (tls-probe.ts), and only an answer that is not TLS (the
   * peer speaks plain HTTP) selects http. Certificates are checked by the requests that follow, so a certificate
   * problem is never a reason to fall back. Cached per registry.
   */
  async origin(host: string, signal?: AbortSignal): Promise<URL> {
    const decided = await memoized(this.#origins, host, () => this.#decideOrigin(host, signal));
    return new URL(decided.href);
  }

  /**
   * `http://host` when `host` is a loopback registry whose origin nobody has asked for yet (the probe is about to
   * run), else undefined: the client may send its first request there while the probe decides (client.ts).
   */
  plainHttpGuess(host: string): URL | undefined {
    if (this.#origins.has(host) || !isLoopbackHost(hostnameOf(host))) return undefined;
    return new URL(`http://${host}`);
  }

  async #decideOrigin(host: string, signal?: AbortSignal): Promise<URL> {
    const https = new URL(`https://${host}`);
    if (!this.mayUsePlainHttp(host)) return https;
    const { host: address, port } = socketAddress(https);
    let speaksTls: boolean;
    try {
      speaksTls = await probeTls({
        host: address,
        port,
        serverName: isIP(address) === 0 ? address : undefined,
        timeoutMs: this.#options.idleTimeoutMs,
        signal,
      });
    } catch (err) {
      throw this.translate(err, 'GET', new URL('/v2/', https), signal);
    }
    return speaksTls ? https : new URL(`http://${host}`);
  }

  /** Send one request without following redirects. Throws translated errors (translateError). */
  async send(route: Route, req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const method = req.method ?? 'GET';
    try {
      try {
        return await this.#sendOnce(route, req, method, signal);
      } catch (err) {
        // A registry with certs.d CAs is trusted through them alone first; a certificate that does not chain to
        // them gets one more try with the system roots added (the trust containers/image gives it), never less.
        if (!isCertificateError(err) || !this.#widenTrust(route)) throw err;
        return await this.#sendOnce(route, req, method, signal);
      }
    } catch (err) {
      throw this.translate(err, method, req.url, signal);
    }
  }

  async #sendOnce(route: Route, req: HttpRequest, method: string, signal?: AbortSignal): Promise<HttpResponse> {
    signal?.throwIfAborted();
    // Blob GETs take the bulk path (reads into the consumer's buffers, one request per connection). So does every
    // GET to a plain-HTTP origin (loopback, or a registry the user marked insecure) and to a loopback host over
    // HTTPS: there a connection per request costs nothing, and a pull never loads undici (a 375 KB bundle
    // compiled at run time; with its first TLS connection ~75 ms of a pull from an HTTPS registry on 127.0.0.1,
    // against ~3 ms for one more local handshake). Other GETs to a remote HTTPS registry (manifests, tokens,
    // signatures) go through undici: its kept-alive connection saves each one after the first the two round trips
    // of a new TLS connection, which over a WAN outweigh loading undici once.
    const viaBulk = req.bulk === true || req.url.protocol === 'http:' || isLoopbackHost(req.url.hostname);
    if (viaBulk && method === 'GET' && req.body === undefined) {
      const res = await bulkGet({
        url: req.url,
        headers: req.headers,
        // Plain HTTP has no TLS material to load (certs.d is not even read): only the foreign-host lookup guard.
        connect: req.url.protocol === 'http:' ? plainConnectOptions(route) : await this.#connectOptions(route, signal),
        idleTimeoutMs: this.#options.idleTimeoutMs,
        signal,
      });
      if (res !== undefined) return { url: req.url, ...res };
    }
    const agent = await this.#agent(route, signal);
    const res = await agent.request({
      origin: req.url.origin,
      path: `${req.url.pathname}${req.url.search}`,
      method,
      headers: { ...req.headers },
      ...(req.body === undefined ? {} : { body: req.body }),
      signal: signal ?? null,
    });
    return { url: req.url, status: res.statusCode, headers: res.headers, body: res.body };
  }

  /**
   * Add the system roots to a registry's certs.d trust (once): later connections use both, and its undici
   * agent is replaced. False when there is nothing to widen (no certs.d CA, or already widened).
   */
  #widenTrust(route: Route): boolean {
    if (route.kind !== 'registry') return false;
    const key = routeKey(route);
    const widen = this.#narrowTrust.get(key);
    if (widen === undefined) return false;
    this.#narrowTrust.delete(key);
    const widened = widen();
    widened.catch(() => undefined); // the retry that follows awaits it
    this.#connects.set(key, widened);
    const agent = this.#agents.get(key);
    this.#agents.delete(key);
    void agent?.then((a) => a.close()).catch(() => undefined);
    return true;
  }

  /** translateError with this transport's timeout and secrets. */
  translate(err: unknown, method: string, url: URL, signal?: AbortSignal): unknown {
    return translateError(err, {
      method,
      url,
      idleTimeoutMs: this.#options.idleTimeoutMs,
      signal,
      secrets: this.#options.secrets(),
    });
  }

  /** Close every connection. Requests after close() fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map(async (a) => (await a.catch(() => undefined))?.destroy()));
  }

  async #agent(route: Route, signal?: AbortSignal): Promise<Agent> {
    if (this.#closed) throw new CustomsError('INTERNAL', 'registry client: used after close()');
    return memoized(this.#agents, routeKey(route), () => this.#createAgent(route, signal));
  }

  async #createAgent(route: Route, signal?: AbortSignal): Promise<Agent> {
    const idle = this.#options.idleTimeoutMs;
    const { tls, lookup } = await this.#connectOptions(route, signal);
    // Loaded on first use: a pull from a plain-HTTP registry never needs undici (see send()).
    const { Agent } = await import('../internal/undici-agent.js');
    return new Agent({
      headersTimeout: idle,
      bodyTimeout: idle,
      connectTimeout: idle,
      connections: CONNECTIONS_PER_ORIGIN,
      connect: {
        rejectUnauthorized: tls?.rejectUnauthorized ?? true,
        ...(tls?.secureContext === undefined ? {} : { secureContext: tls.secureContext }),
        ...(lookup === undefined ? {} : { lookup }),
      },
    });
  }

  /** How to connect for `route` (shared by undici and the bulk path); cached per route. */
  async #connectOptions(route: Route, signal?: AbortSignal): Promise<BulkConnectOptions> {
    return memoized(this.#connects, routeKey(route), () => this.#loadConnectOptions(route, signal));
  }

  async #loadConnectOptions(route: Route, signal?: AbortSignal): Promise<BulkConnectOptions> {
    if (route.kind === 'foreign') {
      // Token realms and blob redirects: the default roots (with NODE_EXTRA_CA_CERTS, src/internal/extra-ca.ts).
      const secureContext = await defaultSecureContext();
      return { tls: { rejectUnauthorized: true, secureContext }, ...plainConnectOptions(route) };
    }
    const tls = await loadRegistryTls(this.#options.certsDirs, route.host, signal);
    // containers-registries.conf(5) `insecure = true`: plain HTTP allowed and TLS verification skipped.
    const rejectUnauthorized = !this.#options.isInsecure(route.host);
    const custom = tls.ca !== undefined || (tls.cert !== undefined && tls.key !== undefined);
    if (!custom) {
      // The default roots, read only for an HTTPS registry that verifies them (a plain-HTTP one never gets here
      // through the bulk path, and its undici agent never makes a TLS connection).
      const verifies = rejectUnauthorized && (await this.origin(route.host, signal)).protocol === 'https:';
      return { tls: { rejectUnauthorized, secureContext: verifies ? await defaultSecureContext() : undefined } };
    }
    // One SecureContext per registry for every connection (undici's and the bulk reader's). With certs.d CAs it
    // trusts them alone at first: the system roots are parsed into it (~22 ms) only if a certificate needs them,
    // and never when nothing is verified (`insecure`).
    const context = async (withRoots: boolean): Promise<BulkConnectOptions> => ({
      tls: { rejectUnauthorized, secureContext: await registryContext(route.host, tls, withRoots) },
    });
    const narrow = await context(false);
    if (tls.ca === undefined || !rejectUnauthorized) return narrow;
    this.#narrowTrust.set(routeKey(route), () => context(true));
    return narrow;
  }
}
