// The bulk blob GET (src/registry/bulk-get.ts) against real sockets: strict head parsing, exact Content-Length
// framing, the zero-copy sink path with a sink that keeps running out of room, and every way a transfer ends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import fc from 'fast-check';
import { makeTlsFixture } from '../adversarial/helpers/hostile-server.js';
import { ChunkedDecoder, bulkGet, framedBodyLength, parseResponseHead } from '../../src/registry/bulk-get.js';
import type { BulkSink } from '../../src/internal/bulk.js';
import { readCapped } from '../../src/internal/limit.js';
import { CustomsError } from '../../src/errors.js';

/** A raw TCP server: each connection gets `respond(socket, requestHead)`. */
let respond: (socket: Socket, requestHead: string) => void = () => undefined;
let server: Server;
let base: URL;
const requests: string[] = [];

before(async () => {
  server = createServer((socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        requests.push(head);
        respond(socket, head);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
after(() => {
  server.close();
});

function get(path = '/v2/r/blobs/x', signal?: AbortSignal, idleTimeoutMs = 2_000): ReturnType<typeof bulkGet> {
  return bulkGet({ url: new URL(path, base), headers: { accept: '*/*' }, connect: {}, idleTimeoutMs, signal });
}

/** A sink with `slots` buffers of `slotBytes`, each released asynchronously (like a disk write). */
function testSink(slotBytes: number, slots: number): BulkSink & { bytes(): Buffer } {
  const out: Buffer[] = [];
  const free: Buffer[] = Array.from({ length: slots }, () => Buffer.alloc(slotBytes));
  let current: Buffer | undefined;
  let fill = 0;
  let waiter: (() => void) | undefined;
  const ensure = (): Buffer | undefined => {
    if (current === undefined && free.length > 0) {
      current = free.pop();
      fill = 0;
    }
    return current;
  };
  return {
    space: () => (ensure() as Buffer).subarray(fill),
    filled: (n) => {
      const buf = current as Buffer;
      out.push(Buffer.from(buf.subarray(fill, fill + n)));
      fill += n;
      if (fill === buf.length) {
        current = undefined;
        setImmediate(() => {
          free.push(buf);
          waiter?.();
          waiter = undefined;
        });
      }
    },
    wants: () => ensure() !== undefined,
    whenReady: () =>
      ensure() !== undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiter = resolve;
          }),
    bytes: () => Buffer.concat(out),
  };
}

function ok(body: Buffer, extraHeaders = ''): (s: Socket) => void {
  return (s) => {
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extraHeaders}\r\n`);
    s.end(body);
  };
}

/** A 200 with `body` in chunks of `piece` bytes, each chunk's size line, data and CRLF written separately. */
function chunked(body: Buffer, piece: number): (s: Socket) => void {
  return (s) => {
    s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
    for (let at = 0; at < body.length; at += piece) {
      const part = body.subarray(at, at + piece);
      s.write(`${part.length.toString(16)}\r\n`);
      s.write(part);
      s.write('\r\n');
    }
    s.end('0\r\n\r\n');
  };
}

describe('bulk GET: framing and the zero-copy sink path', () => {
  test('fills a sink that runs out of room every few bytes with exactly the body', async () => {
    const body = randomBytes(300_000);
    respond = ok(body);
    const res = await get();
    assert.ok(res);
    assert.equal(res.status, 200);
    const sink = testSink(4096, 2);
    await res.body.pipeBulk(sink);
    assert.equal(
      createHash('sha256').update(sink.bytes()).digest('hex'),
      createHash('sha256').update(body).digest('hex'),
    );
  });

  test('sends the request with connection: close and the given headers, never a second Host', async () => {
    respond = ok(Buffer.from('x'));
    const before = requests.length;
    const res = await bulkGet({
      url: new URL('/v2/r/blobs/y?q=1', base),
      headers: { accept: 'a/b', host: 'evil.example' },
      connect: {},
      idleTimeoutMs: 2_000,
    });
    await res?.body.dump();
    const head = requests[before] ?? '';
    assert.match(head, /^GET \/v2\/r\/blobs\/y\?q=1 HTTP\/1\.1\r\n/);
    assert.equal(head.match(/^host:/gim)?.length, 1);
    assert.match(head, /^host: 127\.0\.0\.1:\d+\r$/m);
    assert.match(head, /^connection: close\r$/m);
    assert.match(head, /^accept: a\/b\r$/m);
  });

  test('reads as a plain Readable too, and stops at Content-Length even when the peer sends more', async () => {
    respond = (s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n\r\nsmuggled');
      s.end();
    };
    const res = await get();
    assert.ok(res);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
  });

  test('readCapped collects a bulk body whole, and refuses one byte past its cap (an endless manifest)', async () => {
    // Manifests are read whole through readCapped, which takes the bulk path for these bodies: the cap must hold
    // there as it does for streams (issue 3: "never read past size + 1"), chunked bodies included.
    const body = randomBytes(200_000);
    respond = ok(body);
    const whole = await get();
    assert.ok(whole);
    assert.deepEqual(await readCapped(whole.body, body.length, 'manifest'), body);
    respond = chunked(Buffer.alloc(8 * 4096, 'a'), 4096);
    const endless = await get();
    assert.ok(endless);
    await assert.rejects(
      readCapped(endless.body, 4096 * 3, 'manifest'),
      (err: unknown) => err instanceof CustomsError && err.code === 'TOO_LARGE',
    );
    assert.equal(endless.body.destroyed, true);
  });

  test('a zero-length body ends at once in both modes', async () => {
    respond = ok(Buffer.alloc(0));
    const a = await get();
    assert.ok(a);
    await a.body.pipeBulk(testSink(16, 1));
    const b = await get();
    assert.ok(b);
    const chunks: unknown[] = [];
    for await (const c of b.body) chunks.push(c);
    assert.equal(chunks.length, 0);
  });

  test('a connection closed before Content-Length bytes fails with UND_ERR_SOCKET (resumable)', async () => {
    respond = (s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n');
      s.end(Buffer.alloc(10));
    };
    const res = await get();
    assert.ok(res);
    await assert.rejects(res.body.pipeBulk(testSink(64, 2)), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'UND_ERR_SOCKET');
      return true;
    });
  });

  test('a body that stalls fails with UND_ERR_BODY_TIMEOUT', async () => {
    respond = (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nabc');
    const res = await get('/stall', undefined, 200);
    assert.ok(res);
    await assert.rejects(res.body.pipeBulk(testSink(64, 2)), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'UND_ERR_BODY_TIMEOUT');
      return true;
    });
  });

  test('a server that never answers fails with UND_ERR_HEADERS_TIMEOUT', async () => {
    respond = () => undefined;
    await assert.rejects(get('/silent', undefined, 200), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'UND_ERR_HEADERS_TIMEOUT');
      return true;
    });
  });

  test('a head dribbled a byte at a time fails once the whole head is overdue (slowloris)', async () => {
    respond = (s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write('x')), 50);
      s.on('close', () => clearInterval(timer));
    };
    await assert.rejects(get('/slow-head', undefined, 300), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'UND_ERR_HEADERS_TIMEOUT');
      return true;
    });
  });

  test('an abort rejects with the signal reason and closes the connection', async () => {
    respond = (s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nabc');
    const res = await get();
    assert.ok(res);
    const ac = new AbortController();
    const reason = new Error('stop');
    const p = res.body.pipeBulk(testSink(64, 2), ac.signal);
    setTimeout(() => ac.abort(reason), 20);
    await assert.rejects(p, (err) => err === reason);
  });

  test('a sink that throws stops the transfer with its error', async () => {
    respond = ok(randomBytes(100_000));
    const res = await get();
    assert.ok(res);
    const sink = testSink(1024, 2);
    let seen = 0;
    const capped: BulkSink = {
      ...sink,
      filled: (n) => {
        seen += n;
        if (seen > 5000) throw new Error('cap');
        sink.filled(n);
      },
    };
    await assert.rejects(res.body.pipeBulk(capped), /cap/);
  });
});

/**
 * Serve `respond` over TLS on 127.0.0.1 and GET it three times with bulkGet through a pausing sink of `sinkBytes`
 * buffers; every attempt must deliver exactly `body`.
 */
async function tlsRoundTrips(body: Buffer, sinkBytes: number, respond: (s: Socket) => void): Promise<void> {
  const fixture = makeTlsFixture();
  const tlsServer = createTlsServer({ key: fixture.serverKey, cert: fixture.serverCert }, (s) => {
    s.once('data', () => respond(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  try {
    const port = (tlsServer.address() as AddressInfo).port;
    for (let i = 0; i < 3; i++) {
      const res = await bulkGet({
        url: new URL(`https://127.0.0.1:${port}/v2/r/blobs/x`),
        headers: {},
        connect: { tls: { rejectUnauthorized: true, secureContext: createSecureContext({ ca: fixture.caCert }) } },
        idleTimeoutMs: 5_000,
      });
      assert.ok(res);
      const sink = testSink(sinkBytes, 2);
      await res.body.pipeBulk(sink);
      assert.ok(sink.bytes().equals(body), `attempt ${i}: bytes differ`);
    }
  } finally {
    tlsServer.close();
  }
}

describe('bulk GET over TLS', () => {
  test('a large body through a sink that keeps pausing arrives whole and in order (Node 20 TLS onread lost records)', async () => {
    // Regression: a TLS socket paused from the read callback still delivers the records it already decrypted; the
    // reader replaced its pending bytes with them, and pulls of large layers from HTTPS registries failed their
    // digest check. It now appends (fails with the old 'replace').
    const body = randomBytes(6 * 1024 * 1024 + 123);
    await tlsRoundTrips(body, 256 * 1024, (s) => {
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`);
      s.end(body);
    });
  });
});

describe('bulk GET over TLS: chunked framing through a pausing sink', () => {
  test('a chunked body over TLS arrives whole while the sink keeps pausing (records after a pause are appended)', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 77);
    await tlsRoundTrips(body, 100 * 1024, chunked(body, 50_000));
  });
});

describe('bulk GET: responses it leaves to undici', () => {
  for (const [what, head] of [
    ['a 204', 'HTTP/1.1 204 No Content\r\n\r\n'],
    [
      'a chunked error with Content-Length too',
      'HTTP/1.1 404 N\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n',
    ],
    ['a gzip transfer coding', 'HTTP/1.1 404 N\r\ntransfer-encoding: gzip, chunked\r\n\r\n'],
    [
      'Content-Length with Transfer-Encoding (smuggling shape)',
      'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n',
    ],
    ['two Content-Length headers', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\nabc'],
    ['a gzip content coding', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-encoding: gzip\r\n\r\nabc'],
    ['an informational response first', 'HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n'],
  ] as const) {
    test(`${what}: returns undefined`, async () => {
      respond = (s) => s.end(head);
      assert.equal(await get(), undefined);
    });
  }
});

describe('bulk GET: redirects and errors framed by Content-Length come back as they are', () => {
  test('a 307 is returned with its headers (the caller follows it; nothing is requested twice)', async () => {
    respond = (s) =>
      s.end('HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/x\r\ncontent-length: 0\r\n\r\n');
    const before = requests.length;
    const res = await get();
    assert.ok(res);
    assert.equal(res.status, 307);
    assert.equal(res.headers.location, 'http://127.0.0.1:1/x');
    await res.body.dump();
    assert.equal(requests.length, before + 1);
  });

  test('a body without Content-Length runs until the server closes (RFC 9112 §6.3)', async () => {
    const body = randomBytes(200_000);
    respond = (s) => {
      s.write('HTTP/1.1 200 OK\r\n\r\n');
      s.end(body);
    };
    const res = await get();
    assert.ok(res);
    const sink = testSink(8192, 2);
    await res.body.pipeBulk(sink);
    assert.ok(sink.bytes().equals(body));
  });

  test('a chunked redirect (node:http chunks empty bodies) comes back once, its body decoded', async () => {
    respond = (s) =>
      s.end(
        'HTTP/1.1 302 Found\r\nlocation: /x\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\nmove\r\n0\r\nx-t: 1\r\n\r\n',
      );
    const before = requests.length;
    const res = await get();
    assert.ok(res);
    assert.equal(res.status, 302);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'move');
    assert.equal(requests.length, before + 1);
  });

  test('a chunked 200 body is decoded into a sink, split at awkward places', async () => {
    const body = randomBytes(70_000);
    respond = chunked(body, 9_999);
    const res = await get();
    assert.ok(res);
    const sink = testSink(4096, 2);
    await res.body.pipeBulk(sink);
    assert.ok(sink.bytes().equals(body));
  });

  test('a chunked body cut off before its last chunk fails (UND_ERR_SOCKET)', async () => {
    respond = (s) => s.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n');
    const res = await get();
    assert.ok(res);
    await assert.rejects(
      res.body.pipeBulk(testSink(64, 1)),
      (err: NodeJS.ErrnoException) => err.code === 'UND_ERR_SOCKET',
    );
  });

  test('a 404 body reads as a stream', async () => {
    respond = (s) => s.end('HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found');
    const res = await get();
    assert.ok(res);
    assert.equal(res.status, 404);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'not found');
  });

  test('bytes sent just before a reset are still delivered before the failure', async () => {
    respond = (s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789');
      setTimeout(() => s.resetAndDestroy(), 20);
    };
    const res = await get();
    assert.ok(res);
    await new Promise((r) => setTimeout(r, 80)); // the reset has arrived before anyone reads
    const sink = testSink(1024, 1);
    await assert.rejects(res.body.pipeBulk(sink), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ECONNRESET');
      return true;
    });
    assert.equal(sink.bytes().toString(), '0123456789');
  });
});

describe('ChunkedDecoder: strict RFC 9112 §7.1', () => {
  const whole = Buffer.from('5\r\nhello\r\n6;name=v\r\n world\r\n0\r\ntrailer: x\r\n\r\nIGNORED');

  test('decodes the same bytes however they are split', () => {
    for (let cut = 1; cut < whole.length; cut++) {
      const d = new ChunkedDecoder();
      const out = [...d.push(whole.subarray(0, cut)), ...d.push(whole.subarray(cut))];
      assert.equal(Buffer.concat(out).toString(), 'hello world', `cut at ${cut}`);
      assert.ok(d.done);
    }
  });

  for (const [what, body] of [
    ['a non-hex size', 'zz\r\n'],
    ['a size of 16 hex digits', `${'f'.repeat(16)}\r\n`],
    ['data without its CRLF', '3\r\nabcX\r\n'],
    ['a bare LF', '3\nabc\r\n'],
    ['a malformed trailer', '0\r\nno colon\r\n\r\n'],
    ['a negative size', '-1\r\n'],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(() => new ChunkedDecoder().push(Buffer.from(body)), /malformed chunked body/);
    });
  }

  test('refuses endless trailers and extension-padded one-byte chunks (framing budget)', () => {
    const trailers = new ChunkedDecoder();
    trailers.push(Buffer.from('1\r\na\r\n0\r\n'));
    assert.throws(() => {
      for (let i = 0; i < 100_000; i++) trailers.push(Buffer.from(`x-t${i}: ${'v'.repeat(100)}\r\n`));
    }, /too much framing/);
    const padded = new ChunkedDecoder();
    let decoded = 0;
    assert.throws(() => {
      for (let i = 0; i < 10_000; i++) {
        for (const b of padded.push(Buffer.from(`1;${'e'.repeat(4000)}\r\nz\r\n`))) decoded += b.length;
      }
    }, /too much framing/);
    assert.ok(decoded < 1000, `decoded ${decoded} bytes before refusing`);
  });

  test('refuses an endless chunk-size line', () => {
    const d = new ChunkedDecoder();
    assert.throws(() => {
      for (let i = 0; i < 10; i++) d.push(Buffer.alloc(1024, 0x31));
    }, /line too long/);
  });
});

describe('parseResponseHead: strict RFC 9112 heads', () => {
  const parse = (s: string): ReturnType<typeof parseResponseHead> => parseResponseHead(Buffer.from(s, 'latin1'));

  test('parses status, lowercases names, trims values, keeps repeats as arrays', () => {
    const h = parse('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/2 \r\nX-A: 1\r\nx-a: 2\r\n\r\nrest');
    assert.ok(h);
    assert.equal(h.status, 206);
    assert.equal(h.headers['content-range'], 'bytes 0-1/2');
    assert.deepEqual(h.headers['x-a'], ['1', '2']);
    assert.equal(
      h.length,
      Buffer.byteLength('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-1/2 \r\nX-A: 1\r\nx-a: 2\r\n\r\n'),
    );
  });

  test('returns undefined until the blank line arrives', () => {
    assert.equal(parse('HTTP/1.1 200 OK\r\ncontent-length: 3\r\n'), undefined);
  });

  for (const [what, head] of [
    ['obs-fold continuation', 'HTTP/1.1 200 OK\r\nx: a\r\n b\r\n\r\n'],
    ['bare LF line ending', 'HTTP/1.1 200 OK\nx: a\r\n\r\n'],
    ['NUL in a value', 'HTTP/1.1 200 OK\r\nx: a\0b\r\n\r\n'],
    ['space before the colon', 'HTTP/1.1 200 OK\r\nx : a\r\n\r\n'],
    ['HTTP/2 status line', 'HTTP/2 200\r\n\r\n'],
    ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n'],
    ['empty header name', 'HTTP/1.1 200 OK\r\n: a\r\n\r\n'],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(() => parse(head), /malformed response head/);
    });
  }

  test('refuses a head larger than 64 KiB, complete or not', () => {
    const big = `HTTP/1.1 200 OK\r\nx: ${'a'.repeat(70 * 1024)}`;
    assert.throws(() => parse(big), /response head larger/);
    assert.throws(() => parse(`${big}\r\n\r\n`), /response head larger/);
  });

  test('property: never throws anything but its own errors, and any accepted head has a 3-digit status', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const h = parseResponseHead(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.from(bytes)]));
          if (h !== undefined) assert.ok(h.status >= 100 && h.status <= 999);
        } catch (err) {
          assert.match((err as Error).message, /malformed response head|response head larger/);
        }
      }),
    );
  });

  test('framedBodyLength accepts one numeric Content-Length on a final status with a body', () => {
    const len = (s: string): ReturnType<typeof framedBodyLength> =>
      framedBodyLength(parse(s) ?? assert.fail('incomplete'));
    assert.equal(len('HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n'), 12);
    assert.equal(len('HTTP/1.1 206 P\r\ncontent-length: 3\r\ncontent-encoding: identity\r\n\r\n'), 3);
    assert.equal(len('HTTP/1.1 401 U\r\ncontent-length: 0\r\n\r\n'), 0);
    assert.equal(len('HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n'), undefined);
    assert.equal(len('HTTP/1.1 200 OK\r\ncontent-length: 1e3\r\n\r\n'), undefined);
    assert.equal(len('HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n'), undefined);
    assert.equal(len('HTTP/1.1 100 Continue\r\ncontent-length: 0\r\n\r\n'), undefined);
    assert.equal(len('HTTP/1.1 200 OK\r\n\r\n'), 'until-close');
    assert.equal(len('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 1\r\n\r\n'), undefined);
  });
});
