/**
 * Fetch a repository's Notary v1 metadata from a Notary server (`GET /v2/<GUN>/_trust/tuf/<role>.json`, notary
 * `server/server.go`). The edge of the Notary verifier: capped bytes out, nothing parsed or trusted here;
 * verifyNotaryTag decides.
 *
 * HTTPS only, except plain HTTP to a loopback address. No credentials are ever sent (the URL may not carry
 * userinfo), redirects are not followed (a 3xx is an error), every body is capped and every request has a
 * timeout.
 */
import type { Dispatcher } from 'undici';
import { CustomsError, isCustomsError } from '../../errors.js';
import { defaultSecureContext } from '../../internal/extra-ca.js';
import { readCapped } from '../../internal/limit.js';
import { isJsonObject, parseStrictJsonBytes } from '../../internal/json.js';
import { redactUrl } from '../../internal/redact.js';
import { invalid, missing, shown } from '../failure.js';
import { MAX_NOTARY_METADATA_BYTES } from './metadata.js';
import { MAX_NOTARY_ROOT_ROTATIONS, NOTARY_RELEASES_ROLE, type NotaryMetadata } from './verify.js';

/** A Notary server that sends nothing for this long is treated as stalled. */
export const DEFAULT_NOTARY_TIMEOUT_MS = 30_000;

export interface FetchNotaryOptions {
  /** PEM CA certificate(s) to trust for the server instead of the system store. */
  readonly ca?: string | Uint8Array;
  /** Headers/body idle timeout per request. */
  readonly timeoutMs?: number;
  /**
   * Version of the pinned root. When the server's root is newer by more than one, the roots in between
   * (`<version>.root.json`) are fetched too, so verifyNotaryTag can follow the rotation.
   */
  readonly pinnedRootVersion?: number;
}

// A GUN is a docker repository name, optionally with a registry host[:port]: it becomes URL path segments, so
// anything that could change the path's meaning (.., empty segments, %, ?, #, \) is refused.
const GUN = /^[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9]{1,5})?(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Validate a GUN for use in a URL path. Throws USAGE. */
export function assertNotaryGun(untrusted: string): void {
  if (untrusted.length > 255 || !GUN.test(untrusted) || untrusted.split('/').some((s) => s === '.' || s === '..')) {
    throw new CustomsError(
      'USAGE',
      `notary GUN: invalid: expected a repository name like docker.io/library/alpine, got ${shown(untrusted, 80)}`,
    );
  }
}

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Parse and check a Notary server URL. Throws USAGE / INSECURE_TRANSPORT. */
export function parseNotaryServerUrl(untrusted: string): URL {
  let u: URL;
  try {
    u = new URL(untrusted);
  } catch {
    throw new CustomsError(
      'USAGE',
      `notary server: invalid URL: expected https://HOST[:PORT], got ${shown(redactUrl(untrusted), 120)}`,
    );
  }
  if (u.username !== '' || u.password !== '') {
    throw new CustomsError(
      'USAGE',
      `notary server: credentials in URL: expected none, got userinfo in ${redactUrl(u)}`,
      {
        hint: 'Notary metadata is public; customs sends no credentials to a Notary server.',
      },
    );
  }
  if (u.search !== '' || u.hash !== '') {
    throw new CustomsError('USAGE', `notary server: expected a URL without query or fragment, got ${redactUrl(u)}`);
  }
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    throw new CustomsError('INSECURE_TRANSPORT', `notary server: plain HTTP: expected https, got ${redactUrl(u)}`, {
      hint: 'Plain HTTP is allowed only to a loopback address.',
    });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new CustomsError('USAGE', `notary server: unsupported scheme: expected https, got ${shown(u.protocol)}`);
  }
  return u;
}

function translate(err: unknown, url: string, timeoutMs: number): unknown {
  if (isCustomsError(err)) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : undefined;
  const subject = `notary server ${url}`;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new CustomsError('TIMEOUT', `${subject}: timed out: no data for ${timeoutMs} ms`, {
      cause: err,
      details: { url, code },
    });
  }
  const msg = err instanceof Error ? err.message : String(err);
  const tls = code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  return new CustomsError('NETWORK', `${subject}: ${shown(msg, 200)}${code === undefined ? '' : ` (${code})`}`, {
    cause: err,
    details: { url, ...(code === undefined ? {} : { code }) },
    ...(tls ? { hint: 'Pass the CA that issued the server certificate with --ca.' } : {}),
  });
}

async function get(
  dispatcher: Dispatcher,
  url: URL,
  subject: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Buffer | undefined> {
  const shownUrl = redactUrl(url);
  try {
    const res = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { accept: 'application/json' },
      ...(signal === undefined ? {} : { signal }),
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new CustomsError(
        'HTTP_STATUS',
        `${subject}: unexpected HTTP status: expected 200, got ${res.statusCode} from ${shownUrl}`,
        {
          details: { url: shownUrl, status: res.statusCode },
          ...(res.statusCode >= 300 && res.statusCode < 400
            ? { hint: 'Redirects are not followed for Notary metadata.' }
            : {}),
        },
      );
    }
    // Refuse a declared length over the cap before reading; readCapped still enforces it for chunked bodies.
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > MAX_NOTARY_METADATA_BYTES) {
      await res.body.dump({ limit: 0 }).catch(() => undefined);
      throw invalid(
        subject,
        `too large: expected at most ${MAX_NOTARY_METADATA_BYTES} bytes, got ${declared} declared`,
      );
    }
    try {
      return await readCapped(res.body, MAX_NOTARY_METADATA_BYTES, subject, signal);
    } catch (err) {
      if (isCustomsError(err) && err.code === 'TOO_LARGE') {
        // Oversized Notary metadata is bad TUF metadata (exit 6), not a transfer problem.
        throw invalid(subject, `too large: expected at most ${MAX_NOTARY_METADATA_BYTES} bytes, got more`, {
          cause: err,
        });
      }
      throw err;
    }
  } catch (err) {
    throw translate(err, shownUrl, timeoutMs);
  }
}

function untrustedRootVersion(bytes: Uint8Array): number | undefined {
  try {
    const doc = parseStrictJsonBytes(bytes, 'notary root.json');
    const signed = isJsonObject(doc) ? doc['signed'] : undefined;
    const v = isJsonObject(signed) ? signed['version'] : undefined;
    return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined; // verifyNotaryTag reports the parse error
  }
}

/**
 * Fetch root, timestamp, snapshot, targets and `targets/releases` (absent is fine) for `gun` from `serverUrl`,
 * plus the intermediate roots a rotation since `pinnedRootVersion` needs. Returns the raw, unverified bytes,
 * each at most MAX_NOTARY_METADATA_BYTES. Throws SIGNATURE_MISSING when the server has no trust data for the
 * GUN, SIGNATURE_INVALID for oversized files or missing required roles, NETWORK/TIMEOUT/HTTP_STATUS for
 * transport failures, USAGE/INSECURE_TRANSPORT for a bad URL or GUN.
 */
export async function fetchNotaryMetadata(
  serverUrl: string,
  gun: string,
  signal: AbortSignal | undefined,
  options: FetchNotaryOptions = {},
): Promise<NotaryMetadata> {
  assertNotaryGun(gun);
  const base = parseNotaryServerUrl(serverUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_NOTARY_TIMEOUT_MS;
  const prefix = base.pathname.replace(/\/+$/, '');
  const urlFor = (name: string): URL => new URL(`${prefix}/v2/${gun}/_trust/tuf/${name}.json`, base);
  // Loaded on first use, like the registry transport's: most commands never talk to a Notary server.
  const [{ Agent }, defaultContext] = await Promise.all([
    import('../../internal/undici-agent.js'),
    options.ca === undefined ? defaultSecureContext() : undefined,
  ]);
  const agent = new Agent({
    connect: {
      ...(options.ca === undefined ? {} : { ca: Buffer.from(options.ca).toString('utf8') }),
      // The default roots with NODE_EXTRA_CA_CERTS when bin/customs kept it from Node (src/internal/extra-ca.ts).
      ...(defaultContext === undefined ? {} : { secureContext: defaultContext }),
      rejectUnauthorized: true,
    },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  try {
    const fetchRole = (name: string): Promise<Buffer | undefined> =>
      get(agent, urlFor(name), `notary ${name}.json`, timeoutMs, signal);
    const root = await fetchRole('root');
    if (root === undefined) {
      throw missing(`notary ${gun}`, `no trust data on ${redactUrl(base)}: expected root.json, got 404`, {
        hint: 'The repository was never signed on this Notary server (or the GUN is spelled differently).',
      });
    }
    const required = async (name: string): Promise<Buffer> => {
      const b = await fetchRole(name);
      if (b === undefined)
        throw invalid(`notary ${name}.json`, `missing on ${redactUrl(base)}: expected the file, got 404`);
      return b;
    };
    const [timestamp, snapshot, targets, releases] = await Promise.all([
      required('timestamp'),
      required('snapshot'),
      required('targets'),
      fetchRole(NOTARY_RELEASES_ROLE),
    ]);
    const intermediateRoots: Buffer[] = [];
    const current = untrustedRootVersion(root);
    const pinned = options.pinnedRootVersion;
    if (pinned !== undefined && current !== undefined && current > pinned + 1) {
      if (current - pinned > MAX_NOTARY_ROOT_ROTATIONS) {
        throw invalid(
          'notary root.json',
          `too many root rotations: expected at most ${MAX_NOTARY_ROOT_ROTATIONS}, got ${current - pinned}`,
        );
      }
      for (let v = pinned + 1; v < current; v++) {
        const b = await fetchRole(`${v}.root`);
        if (b !== undefined) intermediateRoots.push(b);
      }
    }
    return {
      root,
      timestamp,
      snapshot,
      targets,
      ...(releases === undefined ? {} : { delegations: { [NOTARY_RELEASES_ROLE]: releases } }),
      ...(intermediateRoots.length === 0 ? {} : { intermediateRoots }),
    };
  } finally {
    await agent.close().catch(() => undefined);
  }
}
