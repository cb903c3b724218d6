/**
 * The OCI distribution-spec v1.1 pull-side client: the untrusted side of customs.
 *
 * It returns capped raw bytes and never parsed objects it did not verify: manifests are read up to
 * MAX_MANIFEST_BYTES, hashed locally and checked against every digest anyone asserted (the reference, the
 * pointing descriptor, the Docker-Content-Digest header) before parseManifest sees them; blobs come back as a
 * stream of at most `size + 1` bytes for ContentStore.ingest to hash. Each response header, redirect, challenge
 * and token realm is treated as attacker-controlled; each rule cites what it stops.
 *
 * Credentials are looked up lazily from the configured sources, sent only to the registry's own origin (and to
 * a token realm that checkTokenRealm accepts), never over plain HTTP to another machine, and scrubbed from every
 * message, event and error this module produces.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomsError, mismatch } from '../errors.js';
import { readCapped } from '../internal/limit.js';
import { redactUrl, sanitizeForDisplay, scrubSecrets } from '../internal/redact.js';
import { MAX_MANIFEST_BYTES, MANIFEST_MEDIA_TYPES, MediaTypes, parseManifest } from '../oci/index.js';
import type { Descriptor, FetchedManifest, ProgressSink, Source } from '../oci/index.js';
import { apiHostFor, digestAlgorithm, formatReference, repositoryName } from '../ref/index.js';
import type { Digest, Reference } from '../ref/index.js';
import {
  MAX_TOKEN_RESPONSE_BYTES,
  buildTokenRequest,
  credentialSecret,
  describeCredential,
  findChallenge,
  findCredential,
  parseTokenResponse,
  parseWwwAuthenticate,
  pullScope,
} from './auth/index.js';
import type { Challenge, Credential, CredentialSource } from './auth/index.js';
import { createBlobStream } from './blob-stream.js';
import {
  MAX_EXTENSION_SIGNATURES,
  MAX_EXTENSION_SIGNATURE_LIST_BYTES,
  MAX_PUSH_BYTES,
  parseExtensionSignatures,
  pushScope,
  uploadLocation,
} from './push.js';
import { readErrorMessage } from './errors-body.js';
import { REDIRECT_STATUSES, assertCredentialTransport, checkRedirect, isCredentialTarget } from './redirects.js';
import {
  DEFAULT_BACKOFF_BASE_MS,
  RetryBudget,
  errorCodeOf,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
} from './retry.js';
import {
  Transport,
  abandonBody,
  discardBody,
  type HttpResponse,
  type ResponseHeaders,
  type Route,
} from './transport.js';

/** Default idle timeout: connect, response headers, and the gap between body chunks. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Default retries after the first attempt, for retryable statuses and connection failures. */
export const DEFAULT_MAX_RETRIES = 3;

/** Seconds shaved off a token's lifetime so it is not used in the instant it expires. */
const TOKEN_EXPIRY_SLACK_SECONDS = 10;

const USER_AGENT = 'customs/0.1';

export interface RegistryClientOptions {
  /** Where credentials come from, asked in order; the first that has one wins. Asked lazily, on a 401. */
  readonly credentials: readonly CredentialSource[];
  /**
   * Registries (`host[:port]` as in references) the user marked insecure (registries.conf `insecure = true`):
   * plain HTTP allowed and TLS certificates not verified. Loopback hosts may use plain HTTP without this.
   */
  readonly insecureRegistries?: (host: string) => boolean;
  /** certs.d directories, in order (e.g. `/etc/containers/certs.d`, `/etc/docker/certs.d`). */
  readonly certsDirs: readonly string[];
  /** Connect, headers and between-chunks timeout, milliseconds. Default DEFAULT_IDLE_TIMEOUT_MS. */
  readonly idleTimeoutMs?: number;
  /** Retries after the first attempt. Default DEFAULT_MAX_RETRIES. */
  readonly maxRetries?: number;
  /** Receives `retry` events. Library code never prints. */
  readonly onEvent?: ProgressSink;
  /** First backoff step in milliseconds (tests shorten it). Default DEFAULT_BACKOFF_BASE_MS. */
  readonly backoffBaseMs?: number;
}

interface CachedToken {
  readonly header: string;
  readonly expiresAtMs: number;
  /** Obtained with the user's credentials: then it is a credential too, and never goes over plain HTTP. */
  readonly withCredentials: boolean;
}

/** Authentication state for one registry. */
interface RegistryAuth {
  /** The registry answered with a Basic challenge. */
  basic: boolean;
  readonly tokens: Map<string, CachedToken>;
  readonly pendingTokens: Map<string, Promise<void>>;
}

/** What one request is about: which registry, which repository scope, whose credentials. */
interface AuthContext {
  /** The registry as in the reference (credential lookup, certs.d, messages). */
  readonly registry: string;
  /** The host:port to connect to (apiHostFor). */
  readonly host: string;
  readonly repository: string | undefined;
  /** Token scope (`repository:<repo>:pull`), or undefined for `/v2/`. */
  readonly scope: string | undefined;
  readonly state: RegistryAuth;
  readonly credential: (signal?: AbortSignal) => Promise<Credential | undefined>;
}

/** Method and body of a request that is not a plain GET (pushes, HEAD probes). */
interface RequestInit {
  readonly method?: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly body?: Buffer;
  /** A blob body: let the transport try its bulk path (HttpRequest.bulk). */
  readonly bulk?: boolean;
}

interface AuthHeader {
  readonly value: string;
  readonly withCredentials: boolean;
}

function singleHeader(headers: ResponseHeaders, name: string, subject: string): string | undefined {
  const v = headers[name];
  if (!Array.isArray(v)) return v;
  // Two values for a header customs acts on means two answers; refuse rather than pick one.
  if (v.length === 1) return v[0];
  throw new CustomsError('HTTP_STATUS', `${subject}: ambiguous response: ${v.length} ${name} headers`);
}

function parseContentLength(headers: ResponseHeaders, subject: string): number | undefined {
  const raw = singleHeader(headers, 'content-length', subject);
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(raw.trim())) {
    throw mismatch('SIZE_MISMATCH', subject, 'Content-Length', 'a byte count', sanitizeForDisplay(raw, 40));
  }
  return Number(raw.trim());
}

/**
 * Distribution-spec pull client implementing `Source`, plus `ping` and `checkLogin` for `customs login`.
 * Holds pooled connections: call `close()` when done.
 */
export class RegistryClient implements Source {
  readonly #sources: readonly CredentialSource[];
  readonly #maxRetries: number;
  readonly #backoffBaseMs: number;
  readonly #onEvent: ProgressSink | undefined;
  readonly #transport: Transport;
  readonly #auth = new Map<string, RegistryAuth>();
  readonly #credentials = new Map<string, Promise<Credential | undefined>>();
  /** Every secret this client has handled, scrubbed from any text it passes on. */
  readonly #secrets = new Set<string>();

  constructor(options: RegistryClientOptions) {
    this.#sources = [...options.credentials];
    this.#maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.#backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.#onEvent = options.onEvent;
    const insecure = options.insecureRegistries ?? (() => false);
    this.#transport = new Transport({
      certsDirs: [...options.certsDirs],
      isInsecure: insecure,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      secrets: () => this.#secrets,
    });
  }

  /**
   * Fetch the manifest `ref` names, or the one `expected` describes (an index entry; then ref.digest, the
   * index's digest, is not compared). Verifies: size cap (TOO_LARGE), Content-Length honesty, the digest
   * against ref.digest / expected.digest (DIGEST_MISMATCH), expected.size (SIZE_MISMATCH), a sha256
   * Docker-Content-Digest header against the bytes (DIGEST_MISMATCH: the header is never trusted), and
   * parseManifest (schema 1, media-type agreement, CVE-2021-41190 shape, duplicate keys). Returns the raw bytes
   * with a descriptor whose digest was computed here.
   */
  async manifest(ref: Reference, expected?: Descriptor, signal?: AbortSignal): Promise<FetchedManifest> {
    try {
      return await this.#manifest(ref, expected, signal);
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  async #manifest(ref: Reference, expected: Descriptor | undefined, signal?: AbortSignal): Promise<FetchedManifest> {
    const target = expected?.digest ?? ref.digest ?? ref.tag;
    if (target === undefined) {
      throw new CustomsError('REFERENCE_INVALID', `${formatReference(ref)}: reference has neither tag nor digest`);
    }
    const subject = expected === undefined ? formatReference(ref) : `${repositoryName(ref)}@${expected.digest}`;
    const ctx = this.#context(ref.registry, ref.repository);
    const res = await this.#request(
      ctx,
      `/v2/${ref.repository}/manifests/${target}`,
      { accept: MANIFEST_MEDIA_TYPES.join(', ') },
      `manifest ${subject}`,
      signal,
    );
    await this.#checkStatus(ctx, res, [200], `${subject}: manifest`, signal);

    let bytes: Buffer;
    let declared: number | undefined;
    try {
      declared = parseContentLength(res.headers, subject);
      if (declared !== undefined && declared > MAX_MANIFEST_BYTES) {
        throw mismatch(
          'TOO_LARGE',
          subject,
          'manifest too large',
          `at most ${MAX_MANIFEST_BYTES} bytes`,
          `${declared} bytes`,
        );
      }
      if (expected !== undefined && declared !== undefined && declared !== expected.size) {
        throw mismatch('SIZE_MISMATCH', subject, 'manifest size (Content-Length)', expected.size, declared);
      }
      bytes = await readCapped(res.body, MAX_MANIFEST_BYTES, subject, signal);
    } catch (err) {
      abandonBody(res.body);
      throw this.#transport.translate(err, 'GET', res.url, signal);
    }
    if (declared !== undefined && bytes.length !== declared) {
      throw mismatch(
        'SIZE_MISMATCH',
        subject,
        'body length differs from Content-Length',
        `${declared} bytes`,
        `${bytes.length} bytes`,
      );
    }

    const wanted: Digest | undefined = expected?.digest ?? ref.digest;
    const algorithm = wanted === undefined ? 'sha256' : digestAlgorithm(wanted);
    const computed = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
    if (expected !== undefined && bytes.length !== expected.size) {
      throw mismatch('SIZE_MISMATCH', subject, 'manifest size', expected.size, bytes.length);
    }
    if (wanted !== undefined && computed !== wanted) {
      throw mismatch('DIGEST_MISMATCH', subject, 'manifest digest', wanted, computed, {
        hint: 'The registry served different content than the digest names; do not trust this registry.',
      });
    }
    const untrustedHeaderDigest = singleHeader(res.headers, 'docker-content-digest', subject)?.trim();
    if (untrustedHeaderDigest?.startsWith('sha256:') === true) {
      const sha256 = algorithm === 'sha256' ? computed : `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (untrustedHeaderDigest !== sha256) {
        throw mismatch(
          'DIGEST_MISMATCH',
          subject,
          'Docker-Content-Digest header disagrees with the body',
          sanitizeForDisplay(untrustedHeaderDigest, 80),
          sha256,
          {
            hint: 'The registry (or something in between) sent a body that is not the manifest it named.',
          },
        );
      }
    }
    const contentType = singleHeader(res.headers, 'content-type', subject);
    const parsed = parseManifest(bytes, {
      contentType,
      descriptorMediaType: expected?.mediaType,
      subject,
    });
    return {
      descriptor: { mediaType: parsed.mediaType, digest: computed, size: bytes.length },
      bytes,
      contentType,
    };
  }

  /**
   * A stream of the blob `desc` names from `ref`'s repository: at most `desc.size + 1` bytes, unverified (give
   * it to ContentStore.ingest only). Verifies Content-Length against desc.size before returning (SIZE_MISMATCH);
   * resumes broken transfers with Range (bounded); fails the stream if the body is longer or shorter than
   * desc.size. Never fetches from desc.urls (foreign layers).
   */
  async fetch(ref: Reference, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    try {
      return await this.#fetch(ref, desc, signal);
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  async #fetch(ref: Reference, desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const subject = `${repositoryName(ref)}@${desc.digest}`;
    const ctx = this.#context(ref.registry, ref.repository);
    const path = `/v2/${ref.repository}/blobs/${desc.digest}`;
    const open = async (offset: number, sig?: AbortSignal): Promise<HttpResponse> => {
      try {
        const res = await this.#request(
          ctx,
          path,
          offset > 0 ? { range: `bytes=${offset}-` } : {},
          `blob ${subject}`,
          sig,
          { bulk: true },
        );
        await this.#checkStatus(ctx, res, offset > 0 ? [200, 206] : [200], `${subject}: blob`, sig);
        return res;
      } catch (err) {
        throw this.#scrubError(err);
      }
    };
    const first = await open(0, signal);
    try {
      const declared = parseContentLength(first.headers, subject);
      if (declared !== undefined && declared !== desc.size) {
        throw mismatch('SIZE_MISMATCH', subject, 'blob size (Content-Length)', desc.size, declared);
      }
    } catch (err) {
      abandonBody(first.body);
      throw err;
    }
    return createBlobStream({
      first,
      size: desc.size,
      subject,
      reopen: open,
      onResume: (attempt, reason) => this.#emitRetry(`blob ${subject}`, attempt, reason),
      translate: (err, url) => this.#scrubError(this.#transport.translate(err, 'GET', url, signal)),
      signal,
    });
  }

  /**
   * `GET /v2/` on `registry` (as in references), authenticating with the configured credentials if the registry
   * asks. Resolves iff the final answer is 200; throws UNAUTHORIZED, NETWORK, TIMEOUT or HTTP_STATUS otherwise.
   */
  async ping(registry: string, signal?: AbortSignal): Promise<void> {
    try {
      const ctx = this.#context(registry, undefined);
      const res = await this.#request(ctx, '/v2/', {}, `ping ${registry}`, signal);
      await this.#checkStatus(ctx, res, [200], `${registry}: /v2/`, signal);
      await discardBody(res.body);
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  /**
   * Check `credential` against `registry` for `customs login`: `GET /v2/` and the auth flow with this credential
   * only (the configured sources are not asked and nothing is cached for later requests). Resolves iff the final
   * answer is 200; a rejected credential throws UNAUTHORIZED naming the username, never the secret.
   */
  async checkLogin(registry: string, credential: Credential, signal?: AbortSignal): Promise<void> {
    this.#remember(credential);
    const ctx: AuthContext = {
      registry,
      host: apiHostFor(registry),
      repository: undefined,
      scope: undefined,
      state: { basic: false, tokens: new Map(), pendingTokens: new Map() },
      credential: () => Promise.resolve(credential),
    };
    try {
      const res = await this.#request(ctx, '/v2/', {}, `login ${registry}`, signal);
      await this.#checkStatus(ctx, res, [200], `${registry}: /v2/`, signal);
      await discardBody(res.body);
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  /**
   * Like `manifest`, but resolves to undefined when the registry answers 404 (a signature tag that does not
   * exist). Every other failure, including a digest or size lie, still throws: a signature manifest is fetched
   * with the same caps and checks as any other.
   */
  async manifestIfPresent(
    ref: Reference,
    expected?: Descriptor,
    signal?: AbortSignal,
  ): Promise<FetchedManifest | undefined> {
    try {
      return await this.manifest(ref, expected, signal);
    } catch (err) {
      if (err instanceof CustomsError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * OCI distribution-spec v1.1 referrers API: `GET /v2/<repo>/referrers/<digest>`. Returns the raw, capped
   * index bytes parsed as an image index, or undefined when the registry does not implement the API (404; the
   * caller then tries the `sha256-<hex>` tag-schema fallback). The response is generated by the registry and
   * has no digest to check: every descriptor in it is verified when fetched.
   */
  async referrers(ref: Reference, subject: Digest, signal?: AbortSignal): Promise<readonly Descriptor[] | undefined> {
    try {
      const what = `${repositoryName(ref)}: referrers of ${subject}`;
      const ctx = this.#context(ref.registry, ref.repository);
      const res = await this.#request(
        ctx,
        `/v2/${ref.repository}/referrers/${subject}`,
        { accept: MediaTypes.ociIndex },
        what,
        signal,
      );
      if (res.status === 404) {
        await discardBody(res.body);
        return undefined;
      }
      await this.#checkStatus(ctx, res, [200], what, signal);
      let bytes: Buffer;
      try {
        bytes = await readCapped(res.body, MAX_MANIFEST_BYTES, what, signal);
      } catch (err) {
        abandonBody(res.body);
        throw this.#transport.translate(err, 'GET', res.url, signal);
      }
      const doc = parseManifest(bytes, {
        contentType: singleHeader(res.headers, 'content-type', what),
        descriptorMediaType: MediaTypes.ociIndex,
        subject: what,
      });
      if (doc.kind !== 'index') {
        throw new CustomsError('MANIFEST_INVALID', `${what}: expected an image index, got an image manifest`);
      }
      return doc.manifests;
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  /**
   * GPG simple signatures through the `X-Registry-Supports-Signatures` extension (containers/image
   * docker_client.go): only when `GET /v2/` advertises it, `GET /extensions/v2/<repo>/signatures/<digest>`,
   * capped, strictly parsed; returns the `atomic` signature blobs (unverified). A registry that does not
   * advertise the extension yields an empty list without a second request.
   */
  async extensionSignatures(ref: Reference, manifestDigest: Digest, signal?: AbortSignal): Promise<Buffer[]> {
    try {
      const pingCtx = this.#context(ref.registry, ref.repository);
      const ping = await this.#request(pingCtx, '/v2/', {}, `ping ${ref.registry}`, signal);
      const advertised = singleHeader(ping.headers, 'x-registry-supports-signatures', `${ref.registry}: /v2/`);
      await discardBody(ping.body);
      if (advertised?.trim() !== '1') return [];
      const what = `${repositoryName(ref)}: signatures of ${manifestDigest}`;
      const res = await this.#request(
        pingCtx,
        `/extensions/v2/${ref.repository}/signatures/${manifestDigest}`,
        { accept: 'application/json' },
        what,
        signal,
      );
      if (res.status === 404) {
        await discardBody(res.body);
        return [];
      }
      await this.#checkStatus(pingCtx, res, [200], what, signal);
      let bytes: Buffer;
      try {
        bytes = await readCapped(res.body, MAX_EXTENSION_SIGNATURE_LIST_BYTES, what, signal);
      } catch (err) {
        abandonBody(res.body);
        throw this.#transport.translate(err, 'GET', res.url, signal);
      }
      return parseExtensionSignatures(bytes, what).slice(0, MAX_EXTENSION_SIGNATURES);
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  /**
   * GET an http(s) URL that is not a registry API endpoint (a lookaside signature store), without credentials,
   * through the foreign agent (system roots, link-local addresses refused), following checked redirects.
   * Resolves to the body (at most `maxBytes`, else TOO_LARGE) or undefined on 404.
   */
  async fetchUrl(url: URL, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
    const what = redactUrl(url);
    let current = url;
    for (let hop = 1; ; hop++) {
      const res = await this.#transport.send(
        { kind: 'foreign' },
        { url: current, headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' } },
        signal,
      );
      if (REDIRECT_STATUSES.has(res.status)) {
        let location: string | undefined;
        try {
          location = singleHeader(res.headers, 'location', what);
        } finally {
          await discardBody(res.body);
        }
        current = checkRedirect(location, current, hop);
        continue;
      }
      if (res.status === 404) {
        await discardBody(res.body);
        return undefined;
      }
      if (res.status !== 200) {
        await discardBody(res.body);
        throw mismatch('HTTP_STATUS', what, 'status', 200, res.status);
      }
      try {
        return await readCapped(res.body, maxBytes, what, signal);
      } catch (err) {
        abandonBody(res.body);
        throw this.#transport.translate(err, 'GET', current, signal);
      }
    }
  }

  /**
   * Upload `bytes` as the blob `desc` into `ref`'s repository (distribution-spec "Pushing a blob
   * monolithically": `POST /v2/<repo>/blobs/uploads/` then `PUT <location>?digest=`), unless a HEAD says the
   * registry already has it. Token scope `repository:<repo>:pull,push`; same TLS, credential and redirect
   * rules as pulls. The upload location must stay on the registry's origin (REDIRECT_REFUSED otherwise: a
   * registry must not send our credentials, or our bytes, elsewhere). Verifies bytes match desc before sending.
   */
  async putBlob(ref: Reference, desc: Descriptor, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    try {
      const subject = `${repositoryName(ref)}@${desc.digest}`;
      assertPushable(bytes, desc, subject);
      const ctx = this.#context(ref.registry, ref.repository, true);
      const head = await this.#request(
        ctx,
        `/v2/${ref.repository}/blobs/${desc.digest}`,
        {},
        `blob ${subject}`,
        signal,
        { method: 'HEAD' },
      );
      await discardBody(head.body);
      if (head.status === 200) return;
      const start = await this.#request(ctx, `/v2/${ref.repository}/blobs/uploads/`, {}, `upload ${subject}`, signal, {
        method: 'POST',
        body: Buffer.alloc(0),
      });
      await this.#checkStatus(ctx, start, [202], `${subject}: start upload`, signal);
      const origin = await this.#transport.origin(ctx.host, signal);
      const untrustedLocation = singleHeader(start.headers, 'location', subject);
      await discardBody(start.body);
      const location = uploadLocation(untrustedLocation, start.url, origin, desc.digest, subject);
      const put = await this.#request(
        ctx,
        `${location.pathname}${location.search}`,
        { 'content-type': 'application/octet-stream' },
        `upload ${subject}`,
        signal,
        { method: 'PUT', body: bytes },
      );
      await this.#checkStatus(ctx, put, [201], `${subject}: upload`, signal);
      await discardBody(put.body);
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  /**
   * `PUT /v2/<repo>/manifests/<tagOrDigest>` with `mediaType` as Content-Type. Returns the digest computed
   * locally; a Docker-Content-Digest header that disagrees is DIGEST_MISMATCH (the registry stored something
   * else). Blobs the manifest names must have been pushed first.
   */
  async putManifest(
    ref: Reference,
    tagOrDigest: string,
    bytes: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<Digest> {
    try {
      const subject = `${repositoryName(ref)}:${tagOrDigest}`;
      if (bytes.length > MAX_PUSH_BYTES) {
        throw mismatch('TOO_LARGE', subject, 'manifest too large', `at most ${MAX_PUSH_BYTES} bytes`, bytes.length);
      }
      if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tagOrDigest) && !/^sha256:[0-9a-f]{64}$/.test(tagOrDigest)) {
        throw new CustomsError('REFERENCE_INVALID', `${subject}: invalid tag or digest`);
      }
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
      const ctx = this.#context(ref.registry, ref.repository, true);
      const res = await this.#request(
        ctx,
        `/v2/${ref.repository}/manifests/${tagOrDigest}`,
        { 'content-type': mediaType },
        `manifest ${subject}`,
        signal,
        { method: 'PUT', body: bytes },
      );
      await this.#checkStatus(ctx, res, [201], `${subject}: put manifest`, signal);
      const said = singleHeader(res.headers, 'docker-content-digest', subject)?.trim();
      await discardBody(res.body);
      if (said?.startsWith('sha256:') === true && said !== digest) {
        throw mismatch('DIGEST_MISMATCH', subject, 'Docker-Content-Digest of the pushed manifest', digest, said);
      }
      return digest;
    } catch (err) {
      throw this.#scrubError(err);
    }
  }

  /** Close pooled connections. The client is unusable afterwards. */
  async close(): Promise<void> {
    await this.#transport.close();
  }

  #context(registry: string, repository: string | undefined, push = false): AuthContext {
    let state = this.#auth.get(registry);
    if (state === undefined) {
      state = { basic: false, tokens: new Map(), pendingTokens: new Map() };
      this.#auth.set(registry, state);
    }
    return {
      registry,
      host: apiHostFor(registry),
      repository,
      scope: repository === undefined ? undefined : push ? pushScope(repository) : pullScope(repository),
      state,
      credential: (signal) => this.#lookupCredential(registry, repository, signal),
    };
  }

  async #lookupCredential(
    registry: string,
    repository: string | undefined,
    signal?: AbortSignal,
  ): Promise<Credential | undefined> {
    const key = `${registry}/${repository ?? ''}`;
    let found = this.#credentials.get(key);
    if (found === undefined) {
      found = findCredential(this.#sources, registry, {
        ...(repository === undefined ? {} : { repository }),
        ...(signal === undefined ? {} : { signal }),
      }).then((f) => {
        if (f !== undefined) this.#remember(f.credential);
        return f?.credential;
      });
      this.#credentials.set(key, found);
      found.catch(() => this.#credentials.delete(key));
    }
    return found;
  }

  #remember(credential: Credential): void {
    this.#secrets.add(credentialSecret(credential));
    if (credential.kind === 'basic') this.#secrets.add(basicHeaderValue(credential));
  }

  #scrub(text: string): string {
    return scrubSecrets(text, this.#secrets);
  }

  /**
   * Last line of defence before an error leaves the client: a hostile registry that received a password can
   * echo it into a redirect path, a realm or an error body, so every known secret is scrubbed from the message,
   * stack, hint and details of whatever is thrown (in place, keeping code and stack).
   */
  #scrubError(err: unknown): unknown {
    if (!(err instanceof Error) || this.#secrets.size === 0) return err;
    err.message = this.#scrub(err.message);
    if (err.stack !== undefined) err.stack = this.#scrub(err.stack);
    if (err instanceof CustomsError) {
      const writable = err as { hint: string | undefined; details: Readonly<Record<string, unknown>> };
      if (writable.hint !== undefined) writable.hint = this.#scrub(writable.hint);
      writable.details = JSON.parse(this.#scrub(JSON.stringify(err.details))) as Record<string, unknown>;
    }
    return err;
  }

  #emitRetry(what: string, attempt: number, reason: string): void {
    this.#onEvent?.({ type: 'retry', what: this.#scrub(what), attempt, reason: this.#scrub(reason) });
  }

  /**
   * One logical request with retries: retryable statuses (429, 5xx) and connection resets/refusals are retried
   * with backoff within the RetryBudget; the last retryable response is returned for #checkStatus to report.
   */
  async #request(
    ctx: AuthContext,
    path: string,
    headers: Readonly<Record<string, string>>,
    what: string,
    signal?: AbortSignal,
    init: RequestInit = {},
  ): Promise<HttpResponse> {
    const budget = new RetryBudget(this.#maxRetries, this.#backoffBaseMs);
    for (;;) {
      let res: HttpResponse;
      try {
        res = await this.#authorized(ctx, path, headers, signal, init);
      } catch (err) {
        if (signal?.aborted === true || !isRetryableNetworkError(err)) throw err;
        const decision = budget.next();
        if (!decision.retry) throw err;
        this.#emitRetry(what, budget.retries, errorCodeOf(err) ?? 'connection error');
        await sleep(decision.delayMs, undefined, signal === undefined ? {} : { signal });
        continue;
      }
      if (!isRetryableStatus(res.status)) return res;
      const decision = budget.next(parseRetryAfter(singleHeader(res.headers, 'retry-after', what)));
      if (!decision.retry) return res;
      await discardBody(res.body);
      this.#emitRetry(what, budget.retries, `HTTP ${res.status}`);
      await sleep(decision.delayMs, undefined, signal === undefined ? {} : { signal });
    }
  }

  /** One attempt: send with cached auth; on 401 run the challenge's auth flow once and send again. */
  async #authorized(
    ctx: AuthContext,
    path: string,
    headers: Readonly<Record<string, string>>,
    signal?: AbortSignal,
    init: RequestInit = {},
  ): Promise<HttpResponse> {
    const { origin, first } = await this.#firstAttempt(ctx, path, headers, signal, init);
    const url = new URL(path, origin);
    // A 401 from a host the registry redirected us to is that host's answer, not the registry's: its challenge
    // must not choose where the user's credentials go (a token realm of its choosing, or Basic on a retry).
    if (first.status !== 401 || !isCredentialTarget(first.url, origin)) return first;

    const untrustedChallenge = first.headers['www-authenticate'];
    await discardBody(first.body);
    const challenges = parseWwwAuthenticate(untrustedChallenge ?? '');
    const bearer = findChallenge(challenges, 'bearer');
    const basic = findChallenge(challenges, 'basic');
    const credential = await ctx.credential(signal);
    if (bearer !== undefined) {
      ctx.state.tokens.delete(ctx.scope ?? '');
      await this.#obtainToken(ctx, origin, bearer, credential, signal);
    } else if (basic !== undefined) {
      if (credential?.kind !== 'basic') throw this.#unauthorized(ctx, credential, undefined);
      ctx.state.basic = true;
    } else {
      throw new CustomsError(
        'UNAUTHORIZED',
        `${ctx.registry}: authentication required: expected a Bearer or Basic challenge, got ${
          challenges.length === 0 ? 'none' : challenges.map((c) => sanitizeForDisplay(c.scheme, 40)).join(', ')
        }`,
        { hint: 'The registry uses an authentication scheme customs does not support.' },
      );
    }
    const auth = await this.#currentAuth(ctx, signal);
    const second = await this.#follow(ctx, origin, url, headers, auth, signal, init);
    if (second.status !== 401) return second;
    const message = await readErrorMessage(second.body, signal);
    ctx.state.tokens.delete(ctx.scope ?? '');
    throw this.#unauthorized(ctx, credential, message);
  }

  /**
   * The registry's origin and the answer to the first send. The first request to a loopback registry goes out
   * over plain HTTP while its origin is still being probed (tls-probe.ts), and is used when the probe finds plain
   * HTTP: a pull from a local registry does not wait a round trip for the probe. Only a request with no
   * credentials and no body is sent this way, and only to loopback, where plain HTTP is allowed and nothing
   * leaves the host; when the peer speaks TLS the plain attempt is aborted and its answer never read.
   */
  async #firstAttempt(
    ctx: AuthContext,
    path: string,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal | undefined,
    init: RequestInit,
  ): Promise<{ origin: URL; first: HttpResponse }> {
    const guess = this.#transport.plainHttpGuess(ctx.host);
    const auth = await this.#currentAuth(ctx, signal);
    if (guess === undefined || auth !== undefined || init.body !== undefined || (init.method ?? 'GET') !== 'GET') {
      const origin = await this.#transport.origin(ctx.host, signal);
      return { origin, first: await this.#follow(ctx, origin, new URL(path, origin), headers, auth, signal, init) };
    }
    const plain = new AbortController();
    const plainSignal = signal === undefined ? plain.signal : AbortSignal.any([signal, plain.signal]);
    const attempt = this.#follow(ctx, guess, new URL(path, guess), headers, undefined, plainSignal, init);
    attempt.catch(() => undefined); // awaited below when plain HTTP is the origin, dropped otherwise
    let origin: URL;
    try {
      origin = await this.#transport.origin(ctx.host, signal);
    } catch (err) {
      plain.abort();
      throw err;
    }
    if (origin.protocol === guess.protocol) return { origin, first: await attempt };
    plain.abort();
    void attempt.then(
      (res) => abandonBody(res.body),
      () => undefined,
    );
    return { origin, first: await this.#follow(ctx, origin, new URL(path, origin), headers, auth, signal, init) };
  }

  async #currentAuth(ctx: AuthContext, signal?: AbortSignal): Promise<AuthHeader | undefined> {
    const token = ctx.state.tokens.get(ctx.scope ?? '');
    if (token !== undefined && token.expiresAtMs > Date.now()) {
      return { value: token.header, withCredentials: token.withCredentials };
    }
    if (ctx.state.basic) {
      const credential = await ctx.credential(signal);
      if (credential?.kind === 'basic') return { value: basicHeaderValue(credential), withCredentials: true };
    }
    return undefined;
  }

  /**
   * Send `url` and follow redirects by hand (redirects.ts): each hop checked, Authorization only to the
   * registry's own origin and dropped for the rest of the chain once it leaves, credentials never over plain
   * HTTP to a non-loopback host (INSECURE_TRANSPORT, checked before sending).
   */
  async #follow(
    ctx: AuthContext,
    origin: URL,
    url: URL,
    headers: Readonly<Record<string, string>>,
    auth: AuthHeader | undefined,
    signal?: AbortSignal,
    init: RequestInit = {},
  ): Promise<HttpResponse> {
    let current = url;
    let carry = auth;
    for (let hop = 1; ; hop++) {
      const own = isCredentialTarget(current, origin);
      if (!own) carry = undefined;
      if (carry?.withCredentials === true) assertCredentialTransport(current);
      const route: Route = own ? { kind: 'registry', host: ctx.host } : { kind: 'foreign' };
      const res = await this.#transport.send(
        route,
        {
          url: current,
          ...(init.method === undefined ? {} : { method: init.method }),
          ...(init.bulk === true ? { bulk: true } : {}),
          ...(init.body === undefined ? {} : { body: init.body }),
          headers: {
            ...headers,
            'user-agent': USER_AGENT,
            // Bytes are hashed as sent; a transparently decompressed body would not match its digest.
            'accept-encoding': 'identity',
            ...(carry === undefined ? {} : { authorization: carry.value }),
          },
        },
        signal,
      );
      if (!REDIRECT_STATUSES.has(res.status)) return res;
      // A push is re-sent only on 307/308, which keep method and body (RFC 9110 §15.4.8/9); 301-303 would turn it
      // into a GET and silently drop the upload.
      if (init.method !== undefined && init.method !== 'GET' && res.status !== 307 && res.status !== 308) return res;
      let location: string | undefined;
      try {
        location = singleHeader(res.headers, 'location', redactUrl(current));
      } finally {
        await discardBody(res.body);
      }
      const next = checkRedirect(location, current, hop);
      // A push body goes only to the registry itself (uploadLocation's rule), redirect or not.
      if (init.body !== undefined && !isCredentialTarget(next, origin)) {
        throw new CustomsError(
          'REDIRECT_REFUSED',
          `redirect from ${redactUrl(current)}: to ${redactUrl(next)}: an upload may not leave the registry's origin ${origin.origin}`,
          { hint: 'The registry told customs to upload elsewhere; customs pushes only to the registry itself.' },
        );
      }
      current = next;
    }
  }

  /** Fetch a Bearer token for ctx.scope (deduplicated across concurrent requests) and cache it until expiry. */
  async #obtainToken(
    ctx: AuthContext,
    origin: URL,
    challenge: Challenge,
    credential: Credential | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const key = ctx.scope ?? '';
    let pending = ctx.state.pendingTokens.get(key);
    if (pending === undefined) {
      pending = this.#fetchToken(ctx, origin, challenge, credential, signal).finally(() =>
        ctx.state.pendingTokens.delete(key),
      );
      ctx.state.pendingTokens.set(key, pending);
    }
    await pending;
  }

  async #fetchToken(
    ctx: AuthContext,
    origin: URL,
    challenge: Challenge,
    credential: Credential | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    // Throws TOKEN_REALM_REFUSED before any connection when the realm is unsafe (realm.ts).
    const req = buildTokenRequest(challenge, ctx.scope === undefined ? [] : [ctx.scope], credential, origin);
    const withCredentials = req.headers.authorization !== undefined || req.body !== undefined;
    const route: Route = req.url.origin === origin.origin ? { kind: 'registry', host: ctx.host } : { kind: 'foreign' };
    const subject = `token service ${redactUrl(req.url)}`;
    const res = await this.#transport.send(
      route,
      {
        url: req.url,
        method: req.method,
        headers: { ...req.headers, 'user-agent': USER_AGENT, 'accept-encoding': 'identity' },
        ...(req.body === undefined ? {} : { body: req.body }),
      },
      signal,
    );
    if (res.status === 401 || res.status === 403) {
      const message = await readErrorMessage(res.body, signal);
      throw this.#unauthorized(ctx, withCredentials ? credential : undefined, message);
    }
    if (res.status !== 200) {
      const message = await readErrorMessage(res.body, signal);
      // A token service must answer directly: following its redirects would take the request off the checked realm.
      throw mismatch('HTTP_STATUS', subject, 'status', 200, res.status, {
        details: message === undefined ? {} : { message: this.#scrub(message) },
      });
    }
    let bytes: Buffer;
    try {
      bytes = await readCapped(res.body, MAX_TOKEN_RESPONSE_BYTES, subject, signal);
    } catch (err) {
      throw this.#transport.translate(err, req.method, req.url, signal);
    }
    const token = parseTokenResponse(bytes);
    this.#secrets.add(token.token);
    const lifetime = Math.max(0, token.expiresInSeconds - TOKEN_EXPIRY_SLACK_SECONDS);
    ctx.state.tokens.set(ctx.scope ?? '', {
      header: `Bearer ${token.token}`,
      expiresAtMs: Date.now() + lifetime * 1000,
      withCredentials,
    });
  }

  #unauthorized(
    ctx: AuthContext,
    credential: Credential | undefined,
    untrustedMessage: string | undefined,
  ): CustomsError {
    const said = untrustedMessage === undefined ? '' : `: registry says: ${this.#scrub(untrustedMessage)}`;
    if (credential === undefined) {
      return new CustomsError('UNAUTHORIZED', `${ctx.registry}: authentication required${said}`, {
        hint: `run: customs login ${ctx.registry}`,
        details: { registry: ctx.registry },
      });
    }
    const user = describeCredential(credential);
    return new CustomsError(
      'UNAUTHORIZED',
      `${ctx.registry}: credentials for ${ctx.registry} were rejected (user ${this.#scrub(user)})${said}`,
      {
        hint: `Check the password or token, then run: customs login ${ctx.registry}`,
        details: { registry: ctx.registry, username: this.#scrub(user) },
      },
    );
  }

  /** Turn a non-`ok` final status into the error the user needs, reading at most 64 KiB of the body. */
  async #checkStatus(
    ctx: AuthContext,
    res: HttpResponse,
    ok: readonly number[],
    subject: string,
    signal?: AbortSignal,
  ): Promise<void> {
    if (ok.includes(res.status)) return;
    const untrustedMessage = await readErrorMessage(res.body, signal);
    const message = untrustedMessage === undefined ? undefined : this.#scrub(untrustedMessage);
    const said = message === undefined ? '' : `: registry says: ${message}`;
    const details = { status: res.status, url: redactUrl(res.url), ...(message === undefined ? {} : { message }) };
    if (res.status === 404) {
      throw new CustomsError('NOT_FOUND', `${subject}: not found${said}`, {
        hint: 'Check the repository name and the tag or digest.',
        details,
      });
    }
    if (res.status === 401) throw this.#unauthorized(ctx, await ctx.credential(signal), message);
    if (res.status === 403) {
      throw new CustomsError('UNAUTHORIZED', `${subject}: access denied (HTTP 403)${said}`, {
        hint: `Your account may lack pull access; check it, or run: customs login ${ctx.registry}`,
        details,
      });
    }
    throw new CustomsError(
      'HTTP_STATUS',
      `${subject}: unexpected HTTP status: expected ${ok.join(' or ')}, got ${res.status}${said}`,
      {
        ...(isRetryableStatus(res.status) ? { hint: 'The registry is failing or throttling; retry later.' } : {}),
        details,
      },
    );
  }
}

function assertPushable(bytes: Buffer, desc: Descriptor, subject: string): void {
  if (bytes.length > MAX_PUSH_BYTES) {
    throw mismatch(
      'TOO_LARGE',
      subject,
      'blob too large to push from memory',
      `at most ${MAX_PUSH_BYTES} bytes`,
      bytes.length,
    );
  }
  if (bytes.length !== desc.size) throw mismatch('SIZE_MISMATCH', subject, 'blob size', desc.size, bytes.length);
  const algorithm = digestAlgorithm(desc.digest);
  const computed = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
  if (computed !== desc.digest) throw mismatch('DIGEST_MISMATCH', subject, 'blob digest', desc.digest, computed);
}

function basicHeaderValue(credential: Extract<Credential, { kind: 'basic' }>): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64')}`;
}
