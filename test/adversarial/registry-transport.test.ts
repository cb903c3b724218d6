// Transport attacks against RegistryClient: stalled servers, flapping servers, throttling, and the HTTPS-first
// scheme decision that must never fall back to plain HTTP on a certificate error.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { RegistryClient } from '../../src/registry/index.js';
import { isCustomsError, type CustomsError } from '../../src/errors.js';
import type { ProgressEvent } from '../../src/oci/index.js';
import type { Reference } from '../../src/ref/index.js';
import {
  certsDirTrusting,
  type HostileServer,
  makeTlsFixture,
  manifestBytes,
  OCI_MANIFEST,
  serveBytes,
  sha256,
  startHostileServer,
} from './helpers/hostile-server.js';

function ref(server: HostileServer, repository: string): Reference {
  return { registry: server.host, repository, tag: 'v1' };
}

async function caught(p: Promise<unknown>): Promise<CustomsError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isCustomsError(err), `expected a CustomsError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('transport', () => {
  test('a server that stalls before answering is a TIMEOUT naming the redacted URL', async () => {
    // Attack: slowloris-style stall that would hang a pull forever without an idle timeout.
    const server = await startHostileServer();
    const c = new RegistryClient({ credentials: [], certsDirs: [], idleTimeoutMs: 300 });
    try {
      server.route('GET', '/v2/stall/app/manifests/v1', () => {
        // never answers
      });
      const err = await caught(c.manifest(ref(server, 'stall/app')));
      assert.equal(err.code, 'TIMEOUT');
      assert.ok(err.message.includes(`${server.origin}/v2/stall/app/manifests/v1`), err.message);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('a blob body that stalls mid-way is resumed, then reported as TIMEOUT when it keeps stalling', async () => {
    // Attack: trickle a few bytes then stall; bounded resumes keep the pull from hanging.
    const server = await startHostileServer();
    const c = new RegistryClient({ credentials: [], certsDirs: [], idleTimeoutMs: 300, backoffBaseMs: 1 });
    try {
      const blob = Buffer.alloc(10_000, 7);
      const digest = sha256(blob);
      server.route('GET', `/v2/trickle/app/blobs/${digest}`, (_req, res) => {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, 100));
      });
      const stream = await c.fetch(ref(server, 'trickle/app'), {
        mediaType: 'application/octet-stream',
        digest: digest as never,
        size: blob.length,
      });
      const err = await caught(
        (async () => {
          for await (const _ of stream) {
            // drain
          }
        })(),
      );
      assert.equal(err.code, 'TIMEOUT');
      assert.equal(server.requestsTo('/v2/trickle/').length, 4); // first attempt + 3 resumes
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('503 twice then 200 succeeds with two retry events', async () => {
    // Robustness: registries shed load with 503 (distribution-spec; Docker Hub during incidents).
    const server = await startHostileServer();
    const events: ProgressEvent[] = [];
    const c = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 5, onEvent: (e) => events.push(e) });
    try {
      const bytes = manifestBytes();
      server.route('GET', '/v2/flaky/app/manifests/v1', (_req, res, n) => {
        if (n < 2) res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
        else serveBytes(res, bytes, { 'content-type': OCI_MANIFEST });
      });
      const m = await c.manifest(ref(server, 'flaky/app'));
      assert.equal(m.descriptor.digest, sha256(bytes));
      const retries = events.filter((e) => e.type === 'retry');
      assert.equal(retries.length, 2);
      assert.deepEqual(
        retries.map((e) => (e.type === 'retry' ? e.attempt : 0)),
        [1, 2],
      );
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('retries are bounded: a registry that always answers 503 fails with HTTP_STATUS', async () => {
    // Attack: keep the client retrying forever.
    const server = await startHostileServer();
    const c = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 1, maxRetries: 3 });
    try {
      server.route('GET', '/v2/down/app/manifests/v1', (_req, res) => {
        res.writeHead(503).end();
      });
      const err = await caught(c.manifest(ref(server, 'down/app')));
      assert.equal(err.code, 'HTTP_STATUS');
      assert.equal(server.requestsTo('/v2/down/').length, 4);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('a Retry-After beyond 10 s is not waited for', async () => {
    // Attack: pin the client with a huge Retry-After.
    const server = await startHostileServer();
    const c = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 1 });
    try {
      server.route('GET', '/v2/slow/app/manifests/v1', (_req, res) => {
        res.writeHead(429, { 'retry-after': '3600' }).end();
      });
      const err = await caught(c.manifest(ref(server, 'slow/app')));
      assert.equal(err.code, 'HTTP_STATUS');
      assert.equal(server.requestsTo('/v2/slow/').length, 1);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('404 is not retried', async () => {
    // Retrying final answers only multiplies load; distribution-spec 4xx are final except 429.
    const server = await startHostileServer();
    const c = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 1 });
    try {
      const err = await caught(c.manifest(ref(server, 'nothing/here')));
      assert.equal(err.code, 'NOT_FOUND');
      assert.equal(server.requestsTo('/v2/nothing/').length, 1);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('a loopback registry with an untrusted certificate fails; it never falls back to plain HTTP', async () => {
    // Attack: TLS stripping — a MITM presenting a bad certificate must not push the client onto plain HTTP.
    const tls = makeTlsFixture();
    const server = await startHostileServer({ tls: { key: tls.serverKey, cert: tls.serverCert } });
    const c = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 1 });
    try {
      server.route('GET', '/v2/tls/app/manifests/v1', (_req, res) =>
        serveBytes(res, manifestBytes(), { 'content-type': OCI_MANIFEST }),
      );
      const err = await caught(c.manifest(ref(server, 'tls/app')));
      assert.equal(err.code, 'NETWORK');
      assert.ok(err.message.includes('certificate'), err.message);
      assert.ok(err.message.includes('https://'), err.message);
      assert.equal(server.requests.length, 0);
    } finally {
      await c.close();
      await server.close();
    }
  });

  test('a loopback port that speaks TLS to the probe and plain HTTP to the early request: the plain answer is dropped', async () => {
    // Attack: protocol sniffing on one port. The first request to a loopback registry goes out over plain HTTP while
    // the ClientHello probe runs; a port that answers the probe with TLS and serves a manifest over plain HTTP must
    // not get that manifest accepted. The probe said TLS, so only HTTPS counts, and its certificate is checked.
    const tls = makeTlsFixture();
    const plain = await startHostileServer();
    const secure = await startHostileServer({ tls: { key: tls.serverKey, cert: tls.serverCert } });
    plain.route('GET', '/v2/tls/app/manifests/v1', (_req, res) =>
      serveBytes(res, manifestBytes(), { 'content-type': OCI_MANIFEST }),
    );
    const front = createNetServer((client) => {
      client.once('data', (first: Buffer) => {
        // A TLS record starts with 0x16 (handshake); anything else is plain HTTP.
        const upstream = connect({ host: '127.0.0.1', port: first[0] === 0x16 ? secure.port : plain.port }, () => {
          upstream.write(first);
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(front.address() as AddressInfo).port}`;
    const c = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 1 });
    try {
      const err = await caught(c.manifest({ registry: host, repository: 'tls/app', tag: 'v1' }));
      assert.equal(err.code, 'NETWORK');
      assert.ok(err.message.includes('certificate'), err.message);
      assert.ok(err.message.includes('https://'), err.message);
      // The early plain request did reach the plain side (this is the attack's whole bait), and was not used.
      assert.equal(plain.requestsTo('/v2/tls/app/manifests/v1').length, 1);
      assert.equal(secure.requests.length, 0);
    } finally {
      await c.close();
      front.close();
      await plain.close();
      await secure.close();
    }
  });

  test('a certs.d CA that did not issue the server certificate: one more try with the system roots, then refused', async () => {
    // A registry is trusted through its certs.d CAs alone first (parsing the system roots costs ~40 ms); a
    // certificate that does not chain to them is retried with the roots added, as containers/image trusts it,
    // and refused when it chains to neither. Never plain HTTP, nothing served.
    const served = makeTlsFixture();
    const other = makeTlsFixture();
    const server = await startHostileServer({ tls: { key: served.serverKey, cert: served.serverCert } });
    const certsDir = certsDirTrusting(server.host, other.caCert);
    const c = new RegistryClient({ credentials: [], certsDirs: [certsDir], backoffBaseMs: 1 });
    try {
      server.route('GET', '/v2/tls/app/manifests/v1', (_req, res) =>
        serveBytes(res, manifestBytes(), { 'content-type': OCI_MANIFEST }),
      );
      const before = server.connections;
      const err = await caught(c.manifest(ref(server, 'tls/app')));
      assert.equal(err.code, 'NETWORK');
      assert.ok(err.message.includes('certificate'), err.message);
      assert.ok(err.message.includes('https://'), err.message);
      assert.equal(server.requests.length, 0);
      // The ClientHello probe, the plain-HTTP attempt sent while it ran (a loopback registry's first request; this
      // TLS server answers it with nothing served), the narrow attempt, the widened one (retries of a certificate
      // error: none).
      assert.equal(server.connections - before, 4);
    } finally {
      await c.close();
      await server.close();
      rmSync(certsDir, { recursive: true, force: true });
    }
  });

  test('an HTTPS registry is trusted through its certs.d CA, or without verification when marked insecure', async () => {
    // containers-certs.d(5) and registries.conf `insecure = true` semantics.
    const tls = makeTlsFixture();
    const server = await startHostileServer({ tls: { key: tls.serverKey, cert: tls.serverCert } });
    const certsDir = certsDirTrusting(server.host, tls.caCert);
    const viaCa = new RegistryClient({ credentials: [], certsDirs: [certsDir] });
    const insecure = new RegistryClient({
      credentials: [],
      certsDirs: [],
      insecureRegistries: (h) => h === server.host,
    });
    try {
      const bytes = manifestBytes();
      server.route('GET', '/v2/tls/app/manifests/v1', (_req, res) =>
        serveBytes(res, bytes, { 'content-type': OCI_MANIFEST }),
      );
      assert.equal((await viaCa.manifest(ref(server, 'tls/app'))).descriptor.digest, sha256(bytes));
      assert.equal((await insecure.manifest(ref(server, 'tls/app'))).descriptor.digest, sha256(bytes));
    } finally {
      await viaCa.close();
      await insecure.close();
      await server.close();
      rmSync(certsDir, { recursive: true, force: true });
    }
  });

  test('an aborted signal stops a request and rejects with the abort reason', async () => {
    // Every I/O function takes an AbortSignal (STYLE.md); a stalled registry must not outlive Ctrl-C.
    const server = await startHostileServer();
    const c = new RegistryClient({ credentials: [], certsDirs: [] });
    try {
      server.route('GET', '/v2/hang/app/manifests/v1', () => {
        // never answers
      });
      const controller = new AbortController();
      const p = c.manifest(ref(server, 'hang/app'), undefined, controller.signal);
      setTimeout(() => controller.abort(new Error('user abort')), 50);
      await assert.rejects(p, /user abort/);
    } finally {
      await c.close();
      await server.close();
    }
  });
});
