/**
 * A narrow HTTP/1.1 GET that reads blob bodies straight into the consumer's reusable buffers (BulkSink).
 *
 * Why not undici here: undici (like node:http) hands every socket read to JavaScript as a fresh Buffer. For a
 * layer that is one fresh 64 KiB allocation per read, and on a virtual machine the page faults and garbage
 * collection behind them cost more than the transfer (measured over loopback for a 51 MB layer: 140 ms with
 * fresh buffers, 45 ms reading into one reused buffer; bench/pull). `net`/`tls` `onread` reads into memory we
 * choose, so the bytes go socket → sink buffer → hash and disk without another copy.
 *
 * Scope, deliberately small: GET only, one request per connection (`connection: close`), bodies framed by one
 * Content-Length, by `chunked` alone, or by the connection's close (framedBodyLength). Anything else (another
 * transfer or content coding, Content-Length with Transfer-Encoding, informational responses, 204/304) makes
 * `bulkGet` return `undefined` after closing the connection, and the caller sends the same idempotent GET
 * through undici, which stays the one place that follows the rest of HTTP. The response head is parsed strictly
 * (RFC 9112 §2-§5: CRLF lines, token names, no obs-fold, no NUL/CR/LF in values, head ≤ 64 KiB, whole within
 * the timeout); a malformed head is an error, never guessed at. The transport uses it for blob GETs and for
 * every GET to a plain-HTTP origin or a loopback host (transport.ts).
 *
 * Timeouts and errors carry the same codes as undici's (UND_ERR_CONNECT_TIMEOUT, UND_ERR_HEADERS_TIMEOUT,
 * UND_ERR_BODY_TIMEOUT, UND_ERR_SOCKET for a connection closed early), so retry, resume and translateError
 * treat both transports alike.
 */
import { isIP, connect as netConnect, type LookupFunction, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ConnectionOptions, SecureContext } from 'node:tls';
import type { BulkSink, BulkSource } from '../internal/bulk.js';
import { KiB } from '../internal/units.js';
import type { ResponseHeaders } from './transport.js';

/** Largest response head accepted (status line and headers); registries send a few hundred bytes. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * KiB;

/** Scratch memory for reads that do not go straight into a sink (the head, stream mode, after a pause). */
const SCRATCH_BYTES = 64 * KiB;

/**
 * Body bytes held while nobody reads yet (between the head and the consumer's first read). Reading on a little,
 * rather than pausing at the head, keeps bytes a peer sent before resetting the connection (a reset discards what
 * the kernel still holds); past this much the socket pauses and the kernel holds the rest. Kept small: every held
 * byte is copied twice into fresh memory (page faults cost ~3 ms/MB on small VMs), and a consumer that is still
 * opening its quarantine file held 1 MiB that way on every blob (bench/README.md).
 */
const MAX_PENDING_BYTES = 64 * KiB;

/** How to reach the origin: TLS material for https, and the DNS lookup guard for foreign hosts. */
export interface BulkConnectOptions {
  readonly tls?: {
    readonly rejectUnauthorized: boolean;
    /**
     * The registry's CAs and client certificate, built once per registry (transport.ts), not per connection.
     * Undefined: Node's default trust store.
     */
    readonly secureContext?: SecureContext | undefined;
  };
  readonly lookup?: LookupFunction | undefined;
}

export interface BulkGetOptions {
  readonly url: URL;
  /** Request headers (lowercase names). Host and Connection are set here. */
  readonly headers: Readonly<Record<string, string>>;
  readonly connect: BulkConnectOptions;
  /** Connect, head and between-reads timeout. */
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** A response framed by Content-Length (framedBodyLength); its body fills a BulkSink or reads as a stream. */
export interface BulkResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: RawBody;
}

/** A parsed response head. */
export interface ResponseHead {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** Bytes of the head including the blank line. */
  readonly length: number;
}

/** An error with a socket-style code (the same codes undici uses). */
function codedError(code: string, message: string): Error {
  const err = new Error(message) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Parse an HTTP/1.1 response head from the start of `untrustedBytes`. Returns undefined while the blank line
 * has not arrived yet; throws on anything malformed (no lenient recovery: a response that needs it is not one a
 * registry sends, and leniency is how response-splitting and smuggling start).
 */
export function parseResponseHead(untrustedBytes: Buffer): ResponseHead | undefined {
  const end = untrustedBytes.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) {
    if (untrustedBytes.length > MAX_RESPONSE_HEAD_BYTES) {
      throw codedError('UND_ERR_HEADERS_OVERFLOW', `response head larger than ${MAX_RESPONSE_HEAD_BYTES} bytes`);
    }
    return undefined;
  }
  if (end + 4 > MAX_RESPONSE_HEAD_BYTES) {
    throw codedError('UND_ERR_HEADERS_OVERFLOW', `response head larger than ${MAX_RESPONSE_HEAD_BYTES} bytes`);
  }
  const lines = untrustedBytes.toString('latin1', 0, end).split('\r\n');
  const malformed = (what: string): Error => codedError('HPE_INVALID_HEADER_TOKEN', `malformed response head: ${what}`);
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (status === null) throw malformed('status line');
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    // RFC 9112 §5.2: obs-fold (a line starting with whitespace) is refused rather than unfolded.
    if (colon <= 0) throw malformed('header line');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw malformed('header name');
    const value = line.slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw malformed('header value');
    const key = name.toLowerCase();
    const prior = headers[key];
    headers[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return { status: Number(status[1]), headers, length: end + 4 };
}

/**
 * The body length when this module may carry the response, else undefined: a final status that has a body (not
 * 1xx, 204 or 304), exactly one Content-Length of digits, no Transfer-Encoding (RFC 9112 §6.3: it would override
 * the length; both together is the classic smuggling shape) and no content coding (bytes are hashed as sent).
 * Without a Content-Length the body is delimited by the connection's close (`'until-close'`), or is
 * `'chunked'` (decoded by ChunkedDecoder, then copied into a sink rather than read into it). Redirects,
 * challenges and errors are returned as they are (their small bodies read as a stream), so a redirect chain is
 * not requested twice.
 */
export function framedBodyLength(head: ResponseHead): number | 'until-close' | 'chunked' | undefined {
  if (head.status < 200 || head.status === 204 || head.status === 304) return undefined;
  const h = head.headers;
  const te = h['transfer-encoding'];
  if (te !== undefined) {
    // Only `chunked` alone, without Content-Length (both together is request smuggling's shape, RFC 9112 §6.3
    // rule 3) and without a content coding; anything else is undici's to handle.
    const chunked = typeof te === 'string' && te.trim().toLowerCase() === 'chunked';
    return chunked && h['content-length'] === undefined && h['content-encoding'] === undefined ? 'chunked' : undefined;
  }
  const coding = h['content-encoding'];
  if (coding !== undefined && (typeof coding !== 'string' || coding.toLowerCase() !== 'identity')) return undefined;
  const length = h['content-length'];
  // RFC 9112 §6.3 rule 8: no length and no transfer coding means the body runs until the server closes.
  if (length === undefined) return 'until-close';
  if (typeof length !== 'string' || !/^[0-9]{1,15}$/.test(length)) return undefined;
  return Number(length);
}

/** Host (IPv6 brackets removed) and port (the scheme's default when absent) to connect to for `url`. */
export function socketAddress(url: URL): { readonly host: string; readonly port: number } {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port) };
}

/** Headers safe to put on the wire: lowercase token names, values without CR, LF or NUL. */
function requestHead(url: URL, headers: Readonly<Record<string, string>>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (key === 'host' || key === 'connection') continue;
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw new Error(`request header ${name}: invalid characters`);
    lines.push(`${key}: ${value}`);
  }
  lines.push('connection: close', '', '');
  return lines.join('\r\n');
}

/**
 * Send `GET url` on a fresh connection and read the response head. Returns a BulkResponse when framedBodyLength
 * accepts the framing; otherwise closes the connection and returns undefined (send the request through undici).
 * Rejects with the socket's error, a timeout (`UND_ERR_*_TIMEOUT`), or `signal.reason`.
 */
export async function bulkGet(options: BulkGetOptions): Promise<BulkResponse | undefined> {
  options.signal?.throwIfAborted();
  const tls = options.url.protocol === 'https:' ? await loadTls() : undefined;
  const body = new RawBody(options, tls);
  let head: ResponseHead;
  try {
    head = await body.head;
  } catch (err) {
    body.destroy();
    throw err;
  }
  const length = framedBodyLength(head);
  if (length === undefined) {
    body.destroy();
    return undefined;
  }
  body.expect(length);
  return { status: head.status, headers: head.headers, body };
}

/** `a` followed by `b`; either may be absent. */
function appendBytes(a: Buffer | undefined, b: Buffer | undefined): Buffer | undefined {
  if (b === undefined || b.length === 0) return a;
  return a === undefined ? b : Buffer.concat([a, b]);
}

type TlsModule = typeof import('node:tls');

let tlsModule: Promise<TlsModule> | undefined;

/** node:tls, loaded by the first HTTPS request: a pull from a plain-HTTP registry never needs it. */
function loadTls(): Promise<TlsModule> {
  tlsModule ??= import('node:tls');
  return tlsModule;
}

type State = 'head' | 'parsed' | 'stream' | 'bulk' | 'done';

/**
 * The body of a bulk response: a Readable (for callers that only read or discard it) that can also fill a
 * BulkSink without intermediate buffers. Delivers exactly the framed body (Content-Length bytes, the decoded
 * chunks, or everything up to the close); anything the peer sends after it is never read.
 */
export class RawBody extends Readable implements BulkSource {
  readonly head: Promise<ResponseHead>;
  readonly #socket: Socket;
  readonly #idleTimeoutMs: number;
  readonly #scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  #state: State = 'head';
  #headBytes: Buffer = Buffer.alloc(0);
  #pending: Buffer | undefined;
  /** Body bytes read before anyone reads the body, merged into #pending once (no concat per read). */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #remaining = 0;
  /** The body ends when the peer closes (no Content-Length); a reset is still a failure. */
  #untilClose = false;
  /** Set for a chunked body: reads go to scratch and are decoded; the decoder says when the body ended. */
  #chunked: ChunkedDecoder | undefined;
  #sink: BulkSink | undefined;
  #lent: Buffer | undefined;
  /** What the last read callback answered: only a read that continues may land straight in the sink. */
  #reading = false;
  #bulk: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  #headResult!: { resolve: (h: ResponseHead) => void; reject: (err: unknown) => void };
  #failure: Error | undefined;
  /** How the peer ended the connection while bytes were still pending: reported once they are handed on. */
  #deferredEnd: { readonly err: Error | undefined } | undefined;
  readonly #onAbort: () => void;
  #headTimer: NodeJS.Timeout | undefined;
  readonly #signal: AbortSignal | undefined;

  /** `tls`: node:tls, required for an https URL (bulkGet loads it). */
  constructor(options: BulkGetOptions, tls?: TlsModule) {
    super({ highWaterMark: SCRATCH_BYTES });
    // Failures reach the consumer through pipeBulk's promise, the async iterator, or `head`; an 'error' event
    // with nobody listening yet (bulkGet still waiting for the head) must not become an uncaught exception.
    this.on('error', () => undefined);
    this.head = new Promise<ResponseHead>((resolve, reject) => {
      this.#headResult = { resolve, reject };
    });
    this.head.catch(() => undefined); // observed by bulkGet; keeps a late failure from being "unhandled"
    this.#idleTimeoutMs = options.idleTimeoutMs;
    const { url, connect } = options;
    const https = url.protocol === 'https:';
    const { host, port } = socketAddress(url);
    const onread = {
      buffer: (): Buffer => this.#nextBuffer(),
      callback: (n: number, buf: Uint8Array): boolean => this.#onRead(n, buf),
    };
    const lookup = connect.lookup === undefined ? {} : { lookup: connect.lookup };
    if (https) {
      const t = connect.tls ?? { rejectUnauthorized: true };
      // `onread` as for plain TCP: decrypted records land in the sink's own memory. A TLS socket may deliver
      // more records after a callback asked it to pause (the rest of what it already decrypted); #handleRead
      // appends them (regression tests in test/unit/registry-bulk-get.test.ts).
      // tls.connect takes net's `onread` (Node docs: tls.connect options "any socket.connect() option"), which the
      // type of ConnectionOptions leaves out.
      const tlsOptions: ConnectionOptions & { onread: typeof onread } = {
        onread,
        host,
        port,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ALPNProtocols: ['http/1.1'],
        rejectUnauthorized: t.rejectUnauthorized,
        ...(t.secureContext === undefined ? {} : { secureContext: t.secureContext }),
        ...lookup,
      };
      if (tls === undefined) throw new Error('bulk GET: an https URL needs node:tls');
      this.#socket = tls.connect(tlsOptions);
    } else {
      this.#socket = netConnect({ host, port, ...lookup, onread });
    }
    const socket = this.#socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.#idleTimeoutMs);
    socket.on('timeout', () => {
      const code = socket.connecting
        ? 'UND_ERR_CONNECT_TIMEOUT'
        : this.#state === 'head'
          ? 'UND_ERR_HEADERS_TIMEOUT'
          : 'UND_ERR_BODY_TIMEOUT';
      this.#fail(codedError(code, `no data for ${this.#idleTimeoutMs} ms`));
    });
    // The whole head must arrive within the timeout, not just each piece of it (undici's headersTimeout): a
    // server dribbling one header byte per interval would otherwise hold the request for days (slowloris).
    this.#headTimer = setTimeout(
      () => this.#fail(codedError('UND_ERR_HEADERS_TIMEOUT', `no complete response head in ${this.#idleTimeoutMs} ms`)),
      this.#idleTimeoutMs,
    );
    this.#headTimer.unref();
    socket.on('error', (err) => this.#peerEnded(err));
    socket.on('end', () => this.#peerEnded(undefined));
    socket.on('close', () => this.#peerEnded(undefined));
    this.#signal = options.signal;
    this.#onAbort = () => this.#fail(options.signal?.reason);
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    try {
      socket.write(requestHead(url, options.headers));
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Set the body length from the head (bulkGet). */
  expect(framing: number | 'until-close' | 'chunked'): void {
    this.#mergeHeld();
    const length = typeof framing === 'number' ? framing : Number.MAX_SAFE_INTEGER;
    this.#untilClose = framing === 'until-close';
    if (framing === 'chunked') this.#chunked = new ChunkedDecoder();
    const pending = this.#pending?.length ?? 0;
    this.#remaining = length;
    if (pending > length) this.#pending = this.#pending?.subarray(0, length);
    if (length === 0) this.#finishIfDone();
  }

  /** Fill `sink` with the body; resolves once the whole framed body was delivered. */
  async pipeBulk(sink: BulkSink, signal?: AbortSignal): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#state === 'done' && this.#remaining === 0 && this.#pending === undefined) return;
    if (this.#state !== 'parsed') throw new Error('RawBody: already being read');
    this.#mergeHeld();
    const raw = this.#chunked === undefined ? undefined : this.#pending;
    if (raw !== undefined) {
      this.#pending = undefined;
      this.#appendDecoded(raw);
    }
    this.#sink = sink;
    const onAbort = (): void => this.#fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        this.#bulk = { resolve, reject };
        this.#state = 'bulk';
        this.#continueBulk();
      });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Discard the body: the connection is never reused, so this just closes it. */
  async dump(_options?: { limit?: number }): Promise<void> {
    this.destroy();
    return Promise.resolve();
  }

  override _read(): void {
    if (this.#state === 'parsed') {
      this.#mergeHeld();
      this.#state = 'stream';
      const pending = this.#pending;
      this.#pending = undefined;
      try {
        if (pending !== undefined && pending.length > 0) this.#deliverStream(pending);
      } catch (err) {
        this.#fail(err);
        return;
      }
      if (this.#finishIfDone()) return;
    }
    if (this.#state === 'stream') this.#resumeSocket();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#stop();
    if (this.#state !== 'done') {
      this.#state = 'done';
      const failure = err ?? this.#failure ?? codedError('UND_ERR_ABORTED', 'body destroyed before it ended');
      this.#headResult.reject(failure);
      this.#bulk?.reject(failure);
      this.#bulk = undefined;
    }
    callback(err);
  }

  #stop(): void {
    clearTimeout(this.#headTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#socket.destroy();
    this.#sink = undefined;
    this.#lent = undefined;
  }

  /** Where the next socket read lands: straight in the sink while it wants bytes, else the scratch buffer. */
  #nextBuffer(): Buffer {
    const sink = this.#sink;
    // Node asks for the next buffer right after each read callback, even one that paused the socket. Sink memory
    // is lent only when reading goes on at once: lent while paused, it could go stale (pending bytes copied into
    // the sink first) and the next read would overwrite them.
    const lendable = this.#state === 'bulk' && this.#chunked === undefined && this.#pending === undefined;
    if (this.#reading && lendable && sink !== undefined) {
      if (this.#remaining > 0 && sink.wants()) {
        const space = sink.space();
        this.#lent = space.length > this.#remaining ? space.subarray(0, this.#remaining) : space;
        return this.#lent;
      }
    }
    this.#lent = undefined;
    return this.#scratch;
  }

  /** One socket read of `n` bytes into `buf`. Returns false to pause reading. */
  #onRead(n: number, buf: Uint8Array): boolean {
    this.#reading = this.#handleRead(n, buf);
    return this.#reading;
  }

  #handleRead(n: number, buf: Uint8Array): boolean {
    try {
      if (this.#lent !== undefined && buf === this.#lent) {
        this.#lent = undefined;
        this.#remaining -= n;
        (this.#sink as BulkSink).filled(n);
        if (this.#finishIfDone()) return false;
        return this.#bulkMayRead();
      }
      // Anything but lent sink memory is the scratch buffer, which the next read overwrites: what is kept is a
      // copy (Buffer.from below).
      const bytes = Buffer.from(buf.buffer, buf.byteOffset, n);
      switch (this.#state) {
        case 'head':
          return this.#onHeadBytes(bytes);
        case 'parsed':
          return this.#holdPending(Buffer.from(bytes));
        case 'stream': {
          const more = this.#deliverStream(Buffer.from(bytes));
          if (this.#finishIfDone()) return false;
          if (!more) this.#pauseSocket();
          return more;
        }
        case 'bulk': {
          // Append, never replace: a TLS socket delivers the rest of the records it already decrypted even after
          // a read callback asked it to pause (this is how pauses on TLS used to lose records).
          if (this.#chunked === undefined) {
            const room = Math.max(0, this.#remaining - (this.#pending?.length ?? 0));
            this.#pending = appendBytes(this.#pending, Buffer.from(bytes.subarray(0, Math.min(n, room))));
          } else {
            this.#appendDecoded(bytes); // decoded pieces are copied out of scratch (Buffer.concat)
          }
          this.#drainPendingIntoSink();
          if (this.#finishIfDone()) return false;
          return this.#bulkMayRead();
        }
        default:
          return false;
      }
    } catch (err) {
      this.#fail(err);
      return false;
    }
  }

  #onHeadBytes(bytes: Buffer): boolean {
    this.#headBytes = Buffer.concat([this.#headBytes, bytes]);
    const head = parseResponseHead(this.#headBytes);
    if (head === undefined) return true;
    const rest = this.#headBytes.subarray(head.length);
    this.#pending = rest.length > 0 ? Buffer.from(rest) : undefined;
    this.#headBytes = Buffer.alloc(0);
    clearTimeout(this.#headTimer);
    this.#state = 'parsed';
    this.#headResult.resolve(head);
    return true;
  }

  /** Fold the held bytes into #pending (one copy), before anyone looks at #pending. */
  #mergeHeld(): void {
    if (this.#held.length === 0) return;
    this.#pending = Buffer.concat(this.#pending === undefined ? this.#held : [this.#pending, ...this.#held]);
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** Bytes read before anyone reads the body: keep them (bounded), pause beyond MAX_PENDING_BYTES. */
  #holdPending(bytes: Buffer): boolean {
    // `bytes` is the caller's to give away (a copy of scratch).
    this.#held.push(bytes);
    this.#heldBytes += bytes.length;
    if ((this.#pending?.length ?? 0) + this.#heldBytes < MAX_PENDING_BYTES) return true;
    this.#pauseSocket();
    return false;
  }

  /**
   * Decode raw chunked bytes for the bulk path onto #pending. Once the last chunk was seen, what is left to hand
   * on is exactly what is pending, and `remaining` says so.
   */
  #appendDecoded(raw: Buffer): void {
    const decoder = this.#chunked as ChunkedDecoder;
    const pieces = decoder.push(raw);
    if (pieces.length > 0) this.#pending = appendBytes(this.#pending, Buffer.concat(pieces));
    if (decoder.done) this.#remaining = this.#pending?.length ?? 0;
  }

  /** Copy pending bytes into the sink while it has room. */
  #drainPendingIntoSink(): void {
    const sink = this.#sink as BulkSink;
    while (this.#pending !== undefined && sink.wants()) {
      const space = sink.space();
      const n = Math.min(space.length, this.#pending.length, this.#remaining);
      this.#pending.copy(space, 0, 0, n);
      this.#remaining -= n;
      this.#pending = n === this.#pending.length ? undefined : this.#pending.subarray(n);
      sink.filled(n);
      if (this.#remaining === 0) this.#pending = undefined;
    }
  }

  /** In bulk mode: keep reading when the sink has room and nothing is pending, else wait for the sink. */
  #bulkMayRead(): boolean {
    const sink = this.#sink as BulkSink;
    if (this.#pending === undefined && sink.wants()) return true;
    this.#pauseSocket();
    sink.whenReady().then(
      () => this.#continueBulk(),
      (err: unknown) => this.#fail(err),
    );
    return false;
  }

  #continueBulk(): void {
    if (this.#state !== 'bulk') return;
    try {
      this.#drainPendingIntoSink();
      if (this.#finishIfDone()) return;
      if (this.#bulkMayRead()) this.#resumeSocket();
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Hand body bytes to the Readable side (decoding chunked framing); returns push()'s answer. */
  #deliverStream(bytes: Buffer): boolean {
    if (this.#chunked !== undefined) {
      let more = true;
      for (const piece of this.#chunked.push(bytes)) more = this.push(piece);
      if (this.#chunked.done) this.#remaining = 0;
      return more;
    }
    const take = bytes.subarray(0, Math.min(bytes.length, this.#remaining));
    this.#remaining -= take.length;
    return take.length > 0 ? this.push(take) : true;
  }

  /** When every byte was delivered: close the connection and end the body. Returns true when done. */
  #finishIfDone(): boolean {
    if (this.#state === 'head' || this.#remaining > 0 || this.#pending !== undefined) return false;
    if (this.#state === 'parsed') return false; // nobody is reading yet; _read or pipeBulk finishes
    const wasStream = this.#state === 'stream';
    const bulk = this.#bulk;
    this.#state = 'done';
    this.#bulk = undefined;
    this.#stop();
    if (wasStream) this.push(null);
    bulk?.resolve();
    return true;
  }

  /**
   * The peer closed or reset the connection. Bytes already received are still handed on; then, if the body is
   * incomplete, the transfer fails with `err` (or UND_ERR_SOCKET for a plain close).
   */
  #peerEnded(err: Error | undefined): void {
    if (this.#state === 'done') return;
    this.#mergeHeld();
    if (this.#state !== 'head' && this.#remaining === 0 && this.#pending === undefined) return;
    if (this.#state !== 'head' && this.#pending !== undefined) {
      this.#deferredEnd ??= { err }; // acted on by #resumeSocket once the pending bytes are delivered
      return;
    }
    if (err === undefined && this.#untilClose && this.#state !== 'head') {
      this.#remaining = 0; // a close-delimited body ends here (finished now, or when someone starts reading)
      this.#finishIfDone();
      return;
    }
    this.#fail(
      err ??
        codedError(
          'UND_ERR_SOCKET',
          this.#state === 'head'
            ? 'other side closed before sending a response'
            : `other side closed: ${this.#remaining} byte(s) of the body missing`,
        ),
    );
  }

  #fail(err: unknown): void {
    if (this.#state === 'done') return;
    const failure = err instanceof Error ? err : codedError('UND_ERR_ABORTED', String(err));
    this.#failure ??= failure;
    this.destroy(failure);
  }

  #pauseSocket(): void {
    this.#socket.setTimeout(0); // waiting for our consumer is not the peer's idleness
    this.#socket.pause();
  }

  #resumeSocket(): void {
    if (this.#deferredEnd !== undefined || this.#socket.destroyed) {
      const ended = this.#deferredEnd;
      this.#deferredEnd = undefined;
      this.#peerEnded(ended?.err);
      return;
    }
    this.#socket.setTimeout(this.#idleTimeoutMs);
    this.#socket.resume();
  }
}

/** Largest chunk-size line (hex digits and extensions) accepted. */
const MAX_CHUNK_LINE_BYTES = 4 * KiB;
/**
 * Framing bytes (size lines, extensions, trailers) one body may spend. Without it a peer could send trailer
 * lines, or one-byte chunks with 4 KiB extensions, forever: the caps on decoded bytes would never be reached.
 */
export const MAX_CHUNK_FRAMING_BYTES = 1024 * KiB;

/**
 * An incremental, strict decoder of the chunked transfer coding (RFC 9112 §7.1): hex sizes (≤ 15 digits), chunk
 * extensions ignored, CRLF required after each chunk, trailers read and dropped, framing bytes capped at
 * MAX_CHUNK_FRAMING_BYTES. Throws on anything malformed.
 */
export class ChunkedDecoder {
  #state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  #line = '';
  #left = 0;
  #framing = 0;

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Feed raw bytes; returns the decoded data in them. Bytes after the end are ignored. */
  push(bytes: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < bytes.length && this.#state !== 'done') {
      if (this.#state === 'data') {
        const n = Math.min(this.#left, bytes.length - i);
        out.push(bytes.subarray(i, i + n));
        i += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = 'data-crlf';
        continue;
      }
      const nl = bytes.indexOf(0x0a, i);
      const end = nl < 0 ? bytes.length : nl + 1;
      this.#line += bytes.toString('latin1', i, end);
      this.#framing += end - i;
      i = end;
      if (this.#line.length > MAX_CHUNK_LINE_BYTES) throw malformedChunk('line too long');
      if (this.#framing > MAX_CHUNK_FRAMING_BYTES) throw malformedChunk('too much framing (size lines, trailers)');
      if (nl < 0) break;
      const line = this.#line;
      this.#line = '';
      if (!line.endsWith('\r\n')) throw malformedChunk('bare LF');
      const text = line.slice(0, -2);
      if (this.#state === 'data-crlf') {
        if (text !== '') throw malformedChunk('missing CRLF after chunk data');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const m = /^([0-9a-fA-F]{1,15})(?:[\t ]*;[\t\x20-\x7e]*)?$/.exec(text);
        if (m === null) throw malformedChunk('chunk size');
        this.#left = parseInt(m[1] as string, 16);
        this.#state = this.#left === 0 ? 'trailer' : 'data';
      } else if (text === '') {
        this.#state = 'done';
      } else {
        const colon = text.indexOf(':');
        if (colon <= 0 || !TOKEN.test(text.slice(0, colon)) || !FIELD_VALUE.test(text.slice(colon + 1))) {
          throw malformedChunk('trailer field');
        }
      }
    }
    return out;
  }
}

function malformedChunk(what: string): Error {
  return codedError('HPE_INVALID_CHUNK_SIZE', `malformed chunked body: ${what}`);
}
