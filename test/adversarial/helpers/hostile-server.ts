/**
 * A tiny router over a real `node:http` server on 127.0.0.1 port 0, for adversarial registry tests: handlers
 * lie on purpose (wrong digests, endless bodies, redirects to other origins, hostile token realms) and every
 * request that reaches the server is recorded with its headers, so tests can assert what the client did and
 * did not send.
 */
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Socket as NetSocket, type AddressInfo, type Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Descriptor } from '../../../src/oci/index.js';
import type { Digest } from '../../../src/ref/index.js';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** `n` is how many requests this route has seen before this one (0 for the first). */
export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

export interface HostileServer {
  /** `http://127.0.0.1:PORT` (or https). */
  readonly origin: string;
  /** `127.0.0.1:PORT`: the registry part of references. */
  readonly host: string;
  readonly port: number;
  /** Every request that reached a handler, in order. */
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far (TLS handshakes that failed included). */
  connections: number;
  /** Answer `method path` (exact path, or a RegExp on path+query). Later routes win over earlier ones. */
  route(method: string, path: string | RegExp, handler: Handler): void;
  /** Requests whose path starts with `prefix`. */
  requestsTo(prefix: string): RecordedRequest[];
  close(): Promise<void>;
}

export interface HostileServerOptions {
  /** Serve HTTPS with this key and certificate (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/** Start a server on 127.0.0.1:0. Unrouted `GET /v2/` answers 200 `{}`; anything else unrouted answers 404. */
export async function startHostileServer(options: HostileServerOptions = {}): Promise<HostileServer> {
  const routes: { method: string; path: string | RegExp; handler: Handler; seen: number }[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '';
    const path = url.split('?')[0] ?? '';
    requests.push({ method: req.method ?? '', url, headers: { ...req.headers } });
    const match = [...routes]
      .reverse()
      .find((r) => r.method === req.method && (typeof r.path === 'string' ? r.path === path : r.path.test(url)));
    if (match === undefined) {
      if (path === '/v2/') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'not here' }] }));
      return;
    }
    const n = match.seen++;
    Promise.resolve(match.handler(req, res, n)).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(listener)
      : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener);
  const self = { connections: 0 };
  server.on('connection', (s: Socket) => {
    self.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = options.tls === undefined ? 'http' : 'https';
  return Object.assign(self, {
    origin: `${scheme}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    route(method: string, path: string | RegExp, handler: Handler): void {
      routes.push({ method, path, handler, seen: 0 });
    },
    requestsTo(prefix: string): RecordedRequest[] {
      return requests.filter((r) => r.url.startsWith(prefix));
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** Write `chunk` forever (respecting backpressure) until the client goes away; resolves with bytes written. */
export async function writeEndlessly(
  res: ServerResponse,
  chunk: Buffer = Buffer.alloc(64 * 1024, 0x61),
): Promise<number> {
  let written = 0;
  while (!res.destroyed && !res.writableEnded) {
    const ok = res.write(chunk);
    written += chunk.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  return written;
}

// ---- fixtures shared by the registry adversarial tests ----

/** sha256 digest string of `bytes`. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** A valid OCI image manifest document (one layer), as bytes, with optional top-level overrides. */
/** A gzip layer descriptor for `bytes` (digest and size computed here), for blob attacks. */
export function layerDescriptor(bytes: Uint8Array): Descriptor {
  return {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: sha256(bytes) as Digest,
    size: bytes.length,
  };
}

export function manifestBytes(overrides: Record<string, unknown> = {}): Buffer {
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('{}'), size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256('layer'), size: 5 }],
    ...overrides,
  };
  return Buffer.from(JSON.stringify(doc));
}

/** Answer 200 with `bytes`, a correct Content-Length, and the given extra headers. */
export function serveBytes(res: ServerResponse, bytes: Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-length': String(bytes.length), ...headers });
  res.end(bytes);
}

/** A throw-away CA and a server certificate for 127.0.0.1/localhost it signed, made with the openssl CLI. */
export interface TlsFixture {
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
}

/** A fresh certs.d base directory holding `caCert` as the CA for registry `host` (`certs.d/HOST/ca.crt`). */
export function certsDirTrusting(host: string, caCert: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'customs-certs-'));
  mkdirSync(join(dir, host));
  writeFileSync(join(dir, host, 'ca.crt'), caCert);
  return dir;
}

export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'customs-tls-'));
  try {
    const run = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=customs-test-ca');
    run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    );
    return {
      caCert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      serverKey: readFileSync(join(dir, 'server.key'), 'utf8'),
      serverCert: readFileSync(join(dir, 'server.crt'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Record the host of every TCP connection started while `fn` runs, by undici or by the bulk blob reader (both
 * end in net.Socket.prototype.connect; TLS sockets too), to prove that no connection to a refused host was
 * even attempted.
 */
export async function recordConnections<T>(
  fn: () => Promise<T>,
): Promise<{ hosts: string[]; result: PromiseSettledResult<T> }> {
  const hosts: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored as is in `finally`, called with apply
  const original = NetSocket.prototype.connect;
  const hostOf = (args: unknown[]): string => {
    const first: unknown = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (typeof first === 'object' && first !== null) {
      const host = (first as { host?: unknown }).host;
      return typeof host === 'string' ? host : '?';
    }
    return typeof args[1] === 'string' ? args[1] : '?';
  };
  NetSocket.prototype.connect = function (this: NetSocket, ...args: unknown[]): NetSocket {
    hosts.push(hostOf(args));
    return (original as (...a: unknown[]) => NetSocket).apply(this, args);
  };
  try {
    const [result] = await Promise.allSettled([fn()]);
    return { hosts, result: result as PromiseSettledResult<T> };
  } finally {
    NetSocket.prototype.connect = original;
  }
}
