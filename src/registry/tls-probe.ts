/**
 * "Does this peer speak TLS?" for the registries that may use plain HTTP (loopback, or marked insecure): send a
 * TLS ClientHello over a plain TCP connection and look at the first bytes of the answer.
 *
 * Any TLS server answers a ClientHello with a TLS record: a handshake (ServerHello, HelloRetryRequest) or an
 * alert (no shared version or cipher, a client certificate demanded). A plain-HTTP server answers with text
 * ("HTTP/1.1 400 Bad Request") or closes. Nothing is negotiated or verified here: the requests that follow do
 * that with the registry's own TLS material, so a certificate problem is never a reason to fall back.
 *
 * Why not a real handshake: loading node:tls and building a TLS socket was ~15 ms of every pull from a
 * plain-HTTP registry (bench/README.md), to learn one bit.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/** Record types that begin a TLS answer (RFC 8446 §5.1): alert(21), handshake(22). */
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;
/** Major version byte of every TLS record header (0x0301-0x0304). */
const TLS_MAJOR = 0x03;

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A TLS vector with a one-byte length prefix. */
function vec8(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([body.length]), body]);
}

/** A TLS vector with a two-byte length prefix. */
function vec16(body: Buffer): Buffer {
  return Buffer.concat([u16(body.length), body]);
}

function u16s(...values: number[]): Buffer {
  return Buffer.concat(values.map(u16));
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(body)]);
}

/**
 * A ClientHello a TLS 1.2 or 1.3 server answers with a ServerHello (RFC 8446 §4.1.2): the usual cipher suites,
 * groups and signature schemes, a random X25519 key share, SNI for a host name, ALPN http/1.1. It also carries
 * a 0x0a byte (the supported_groups extension type), which a plain-HTTP server reads as the end of a request
 * line and answers at once instead of waiting for one.
 */
export function clientHello(serverName: string | undefined): Buffer {
  const extensions = [
    ...(serverName === undefined
      ? []
      : [extension(0x0000, vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(serverName, 'ascii'))])))]),
    extension(0x000a, vec16(u16s(0x001d, 0x0017, 0x0018))), // supported_groups: x25519, P-256, P-384
    extension(0x000b, vec8(Buffer.from([0]))), // ec_point_formats: uncompressed
    extension(0x000d, vec16(u16s(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601))),
    extension(0x0010, vec16(vec8(Buffer.from('http/1.1', 'ascii')))), // ALPN
    extension(0x002b, vec8(u16s(0x0304, 0x0303))), // supported_versions: TLS 1.3, 1.2
    extension(0x002d, vec8(Buffer.from([1]))), // psk_key_exchange_modes: psk_dhe_ke
    extension(0x0033, vec16(Buffer.concat([u16(0x001d), vec16(randomBytes(32))]))), // key_share: x25519
  ];
  const body = Buffer.concat([
    u16(0x0303), // legacy_version: TLS 1.2
    randomBytes(32), // random
    vec8(randomBytes(32)), // legacy_session_id (middlebox compatibility)
    vec16(u16s(0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8)),
    vec8(Buffer.from([0])), // compression: null
    vec16(Buffer.concat(extensions)),
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([TLS_HANDSHAKE, 0x03, 0x01]), vec16(handshake)]);
}

/** True when `answer` begins like a TLS record (alert or handshake, version 3.x). */
export function looksLikeTls(answer: Uint8Array): boolean {
  return (answer[0] === TLS_HANDSHAKE || answer[0] === TLS_ALERT) && answer[1] === TLS_MAJOR;
}

export interface TlsProbeOptions {
  readonly host: string;
  readonly port: number;
  /** SNI; omitted for IP addresses. */
  readonly serverName?: string | undefined;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Connect, send a ClientHello, and resolve true when the peer answers with a TLS record, false when it answers
 * anything else or closes (a reset included) before answering. Rejects when it cannot connect, with a
 * `UND_ERR_CONNECT_TIMEOUT` error when nothing comes back within `timeoutMs`, or with `signal.reason`.
 */
export function probeTls(options: TlsProbeOptions): Promise<boolean> {
  const { signal } = options;
  signal?.throwIfAborted();
  return new Promise<boolean>((resolve, reject) => {
    let answered = false;
    let answer = Buffer.alloc(0);
    // `onread`: the answer's first bytes land here directly, without the socket's readable-stream machinery (the
    // probe is a pull's first connection; that machinery is otherwise compiled just for two bytes).
    const scratch = Buffer.alloc(64);
    const socket = connect({
      host: options.host,
      port: options.port,
      onread: {
        buffer: scratch,
        callback: (n: number): boolean => {
          answer = Buffer.concat([answer, scratch.subarray(0, n)]);
          if (answer.length >= 2) done(looksLikeTls(answer));
          return !answered;
        },
      },
    });
    const done = (result: boolean | Error): void => {
      if (answered) return;
      answered = true;
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onAbort = (): void => {
      const reason: unknown = signal?.reason;
      done(reason instanceof Error ? reason : new Error('TLS probe aborted', { cause: reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(options.timeoutMs, () => {
      const err: NodeJS.ErrnoException = new Error(`no answer to a TLS ClientHello in ${options.timeoutMs} ms`);
      err.code = 'UND_ERR_CONNECT_TIMEOUT';
      done(err);
    });
    socket.once('connect', () => socket.write(clientHello(options.serverName)));
    // Closed or reset before two bytes of answer: a plain-HTTP server refusing the bytes. A reset can surface as
    // the connect's own error when it arrives with the handshake (as the handshake probe it replaces treated it).
    socket.once('end', () => done(false));
    socket.once('error', (err: NodeJS.ErrnoException) => done(isReset(err) ? false : err));
    socket.once('close', () => done(false));
  });
}

function isReset(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ECONNRESET' || err.code === 'EPIPE';
}
