// Attack: a registry answers blob GETs with bodies shaped to confuse the bulk reader (src/registry/bulk-get.ts),
// the path by which layers go socket → quarantine buffers: HTTP response smuggling shapes (Content-Length with
// Transfer-Encoding, RFC 9112 §6.3; obs-fold, §5.2), oversized heads, close-delimited bodies that run long or
// short, broken transfers that must resume into one continuous hashed stream (distribution-spec "Pulling blobs"
// allows Range; a 200 to a Range request resends from byte 0), and resumes that start at the wrong offset.
// Every case goes through ContentStore.ingest, as a pull does; after a refusal the store is as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryClient } from '../../src/registry/index.js';
import { isCustomsError } from '../../src/errors.js';
import type { Descriptor } from '../../src/oci/index.js';
import type { ContentStore } from '../../src/store/index.js';
import type { Reference } from '../../src/ref/index.js';
import { layerDescriptor, startHostileServer, type HostileServer } from './helpers/hostile-server.js';
import { freshStore, quarantineFiles, snapshot } from '../unit/store-helpers.js';

let server: HostileServer;
let client: RegistryClient;
let store: ContentStore;
let seq = 0;

before(async () => {
  server = await startHostileServer();
  client = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 5, idleTimeoutMs: 2_000 });
  store = await freshStore();
  const warm = randomBytes(10);
  await store.ingestBytes(layerDescriptor(warm), warm);
});
after(async () => {
  await client.close();
  await server.close();
});

/** A fresh repository and blob route; `handler` answers it. */
function blobRoute(
  blob: Buffer,
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): { ref: Reference; desc: Descriptor } {
  const repository = `bulk/r${seq++}`;
  const desc = layerDescriptor(blob);
  server.route('GET', `/v2/${repository}/blobs/${desc.digest}`, handler);
  return { ref: { registry: server.host, repository, tag: 'v1' }, desc };
}

/** Write raw bytes on the connection, bypassing node:http's own framing, then close it. */
function raw(res: ServerResponse, ...parts: (string | Buffer)[]): void {
  const socket = res.socket;
  assert.ok(socket);
  for (const p of parts) socket.write(p);
  socket.end();
}

async function pullInto(ref: Reference, desc: Descriptor): Promise<void> {
  await store.ingest(desc, await client.fetch(ref, desc));
}

async function refusedLeavingNoTrace(ref: Reference, desc: Descriptor, codes: readonly string[]): Promise<void> {
  const beforeSnap = await snapshot(store.root);
  await assert.rejects(pullInto(ref, desc), (err: unknown) => {
    assert.ok(isCustomsError(err) && codes.includes(err.code), String(err));
    return true;
  });
  assert.equal(await snapshot(store.root), beforeSnap);
  assert.deepEqual(await quarantineFiles(store.root), []);
}

describe('bulk path: resumes into one hashed stream', () => {
  test('a transfer broken mid-body resumes with Range and the blob is stored whole', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    let ranges: (string | undefined)[] = [];
    const { ref, desc } = blobRoute(blob, (req, res, n) => {
      ranges.push(req.headers.range);
      if (n === 0) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, 1_000_000), () => res.socket?.destroy());
        return;
      }
      const start = Number(/^bytes=(\d+)-$/.exec(String(req.headers.range))?.[1]);
      res.writeHead(206, {
        'content-length': String(blob.length - start),
        'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}`,
      });
      res.end(blob.subarray(start));
    });
    ranges = [];
    await pullInto(ref, desc);
    assert.equal(ranges[0], undefined);
    assert.match(String(ranges[1]), /^bytes=[1-9]\d*-$/);
    assert.ok(await store.has(desc));
  });

  test('a server that ignores Range and resends from byte 0 is handled by skipping what was already hashed', async () => {
    const blob = randomBytes(2 * 1024 * 1024);
    const { ref, desc } = blobRoute(blob, (_req, res, n) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      if (n === 0) res.write(blob.subarray(0, 700_000), () => res.socket?.destroy());
      else res.end(blob);
    });
    await pullInto(ref, desc);
    assert.ok(await store.has(desc));
  });

  test('a resume that starts at another offset is refused and leaves no trace', async () => {
    const blob = randomBytes(1024 * 1024);
    const { ref, desc } = blobRoute(blob, (_req, res, n) => {
      if (n === 0) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, 300_000), () => res.socket?.destroy());
        return;
      }
      res.writeHead(206, { 'content-range': `bytes 0-${blob.length - 1}/${blob.length}` });
      res.end(blob);
    });
    await refusedLeavingNoTrace(ref, desc, ['HTTP_STATUS']);
  });
});

describe('bulk path: bodies and heads that lie', () => {
  test('a close-delimited body longer than the descriptor is cut at size + 1 and refused', async () => {
    const blob = randomBytes(100_000);
    const { ref, desc } = blobRoute(blob, (_req, res) =>
      raw(res, 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n', blob, randomBytes(50_000)),
    );
    await refusedLeavingNoTrace(ref, desc, ['SIZE_MISMATCH']);
  });

  test('a close-delimited body shorter than the descriptor is refused', async () => {
    const blob = randomBytes(100_000);
    const { ref, desc } = blobRoute(blob, (_req, res) =>
      raw(res, 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n', blob.subarray(0, 60_000)),
    );
    await refusedLeavingNoTrace(ref, desc, ['SIZE_MISMATCH']);
  });

  test('bytes after Content-Length (a smuggled second response) are never read into the blob', async () => {
    const blob = randomBytes(50_000);
    const { ref, desc } = blobRoute(blob, (_req, res) =>
      raw(res, `HTTP/1.1 200 OK\r\ncontent-length: ${blob.length}\r\n\r\n`, blob, 'HTTP/1.1 200 OK\r\n\r\nEVIL'),
    );
    await pullInto(ref, desc);
    assert.ok(await store.has(desc));
  });

  test('Content-Length together with Transfer-Encoding (smuggling shape) is never read as a blob', async () => {
    const blob = randomBytes(1000);
    const { ref, desc } = blobRoute(blob, (_req, res) =>
      raw(res, `HTTP/1.1 200 OK\r\ncontent-length: ${blob.length}\r\ntransfer-encoding: chunked\r\n\r\n`, blob),
    );
    await refusedLeavingNoTrace(ref, desc, ['NETWORK', 'SIZE_MISMATCH']);
  });

  test('an obs-folded header is refused, not unfolded', async () => {
    const blob = randomBytes(1000);
    const { ref, desc } = blobRoute(blob, (_req, res) =>
      raw(res, `HTTP/1.1 200 OK\r\ncontent-length: ${blob.length}\r\nx-a: 1\r\n  folded\r\n\r\n`, blob),
    );
    await refusedLeavingNoTrace(ref, desc, ['NETWORK']);
  });

  test('a response head over 64 KiB is refused', async () => {
    const blob = randomBytes(1000);
    const { ref, desc } = blobRoute(blob, (_req, res) =>
      raw(res, `HTTP/1.1 200 OK\r\ncontent-length: ${blob.length}\r\nx-big: ${'a'.repeat(70 * 1024)}\r\n\r\n`, blob),
    );
    await refusedLeavingNoTrace(ref, desc, ['NETWORK']);
  });

  test('a chunked 200 blob is decoded and still verified', async () => {
    const blob = randomBytes(200_000);
    const { ref, desc } = blobRoute(blob, (_req, res) => {
      res.writeHead(200); // no Content-Length: node:http chunks the body
      res.write(blob.subarray(0, 100_000));
      res.end(blob.subarray(100_000));
    });
    await pullInto(ref, desc);
    assert.ok(await store.has(desc));
  });

  test('a chunked 200 blob with the wrong bytes is refused', async () => {
    const blob = randomBytes(50_000);
    const { ref, desc } = blobRoute(blob, (_req, res) => {
      res.writeHead(200);
      res.end(randomBytes(blob.length));
    });
    await refusedLeavingNoTrace(ref, desc, ['DIGEST_MISMATCH']);
  });
});
