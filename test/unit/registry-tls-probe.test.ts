// The scheme probe for loopback and insecure registries (src/registry/tls-probe.ts): a ClientHello over plain
// TCP; a TLS answer (handshake or alert) means https, anything else means the peer speaks plain HTTP. Peers are
// real node:http / node:https / node:tls / node:net servers on 127.0.0.1.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { clientHello, looksLikeTls, probeTls } from '../../src/registry/tls-probe.js';
import { makeTlsFixture } from '../adversarial/helpers/hostile-server.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Probe a server, then close it (and every socket it still holds). */
async function probeServer(server: Server, timeoutMs = 5_000): Promise<boolean> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  const port = await listen(server);
  try {
    return await probeTls({ host: '127.0.0.1', port, timeoutMs });
  } finally {
    await closeServer(server, sockets);
  }
}

describe('TLS probe', () => {
  test('the ClientHello is a well-formed TLS record and carries a 0x0a byte', () => {
    const hello = clientHello('registry.localhost');
    assert.equal(hello[0], 0x16);
    assert.equal(hello.readUInt16BE(3), hello.length - 5);
    assert.equal(hello[5], 0x01); // client_hello
    assert.equal(hello.readUIntBE(6, 3), hello.length - 9);
    assert.ok(hello.includes(Buffer.from('registry.localhost')));
    assert.ok(hello.includes(0x0a)); // a plain-HTTP server sees a line end and answers at once
    assert.ok(!clientHello(undefined).includes(Buffer.from('registry.localhost')));
  });

  test('TLS records are recognised; HTTP and other bytes are not', () => {
    assert.equal(looksLikeTls(Buffer.from([0x16, 0x03, 0x03])), true);
    assert.equal(looksLikeTls(Buffer.from([0x15, 0x03, 0x01])), true);
    assert.equal(looksLikeTls(Buffer.from('HTTP/1.1 400 Bad Request')), false);
    assert.equal(looksLikeTls(Buffer.from([0x16, 0x48])), false);
    assert.equal(looksLikeTls(Buffer.from([0x17, 0x03])), false); // application data never comes first
  });

  test('an HTTPS server (TLS 1.3) is TLS', async () => {
    const tls = makeTlsFixture();
    const server = createHttpsServer({ key: tls.serverKey, cert: tls.serverCert }, (_q, r) => r.end());
    assert.equal(await probeServer(server), true);
  });

  test('a TLS 1.2-only server and one that demands a client certificate are TLS', async () => {
    const tls = makeTlsFixture();
    const tls12 = createTlsServer({ key: tls.serverKey, cert: tls.serverCert, maxVersion: 'TLSv1.2' });
    assert.equal(await probeServer(tls12), true);
    const mtls = createTlsServer({
      key: tls.serverKey,
      cert: tls.serverCert,
      ca: [tls.caCert],
      requestCert: true,
      rejectUnauthorized: true,
    });
    assert.equal(await probeServer(mtls), true);
  });

  test('a TLS server that accepts no version we offer answers with an alert: still TLS, never plain HTTP', async () => {
    // TLS stripping: refusing our hello must not push the client onto plain HTTP.
    const tls = makeTlsFixture();
    const server = createTlsServer({
      key: tls.serverKey,
      cert: tls.serverCert,
      minVersion: 'TLSv1.3',
      ciphers: 'NULL',
    });
    assert.equal(await probeServer(server), true);
  });

  test('a plain-HTTP server is not TLS', async () => {
    const server = createHttpServer((_q, r) => r.end());
    assert.equal(await probeServer(server), false);
  });

  test('a peer that closes or resets the connection without answering is not TLS', async () => {
    assert.equal(await probeServer(createNetServer((s) => s.end())), false);
    assert.equal(await probeServer(createNetServer((s) => s.resetAndDestroy())), false);
  });

  test('a silent peer times out; a refused connection is an error, not a verdict', async () => {
    const silent = createNetServer(() => undefined);
    await assert.rejects(probeServer(silent, 200), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'UND_ERR_CONNECT_TIMEOUT');
      return true;
    });
    const gone = createNetServer();
    const port = await listen(gone);
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    await assert.rejects(probeTls({ host: '127.0.0.1', port, timeoutMs: 5_000 }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ECONNREFUSED');
      return true;
    });
  });

  test('an aborted probe rejects with the reason and closes its connection', async () => {
    let peer: Socket | undefined;
    const server = createNetServer((s) => {
      peer = s;
    });
    const port = await listen(server);
    const controller = new AbortController();
    const probing = probeTls({ host: '127.0.0.1', port, timeoutMs: 5_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await assert.rejects(probing, /stop/);
    const connected = peer;
    assert.ok(connected !== undefined, 'the probe connected before the abort');
    const closed =
      connected.closed ||
      (await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 2_000);
        connected.once('close', () => {
          clearTimeout(t);
          resolve(true);
        });
        connected.resume(); // read to the FIN
      }));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(closed, true);
  });
});
