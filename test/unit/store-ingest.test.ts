import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { CustomsError } from '../../src/errors.js';
import { MediaTypes } from '../../src/oci/index.js';
import { bytesOf, chunked, descriptorOf, freshStore, quarantineFiles } from './store-helpers.js';

function hasCode(code: string) {
  return (err: unknown): boolean => err instanceof CustomsError && err.code === code;
}

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('ingest', () => {
  it('streams a body of many small chunks into blobs/, reporting progress up to the size', async () => {
    const store = await freshStore();
    const bytes = bytesOf(3 * 1024 * 1024 + 17, 5);
    const desc = descriptorOf(bytes);
    const progress: number[] = [];
    await store.ingest(desc, chunked(bytes, 16 * 1024), { onProgress: (n) => progress.push(n) });
    assert.equal(await store.has(desc), true);
    assert.deepEqual(await store.readBlob(desc.digest, bytes.length), bytes);
    assert.deepEqual(await readAll(await store.open(desc.digest)), bytes);
    await store.verifyBlob(desc);
    assert.equal(progress.at(-1), bytes.length);
    assert.ok(progress.every((n, i) => i === 0 || n > (progress[i - 1] ?? 0)));
    assert.deepEqual(await quarantineFiles(store.root), []);
  });

  it('accepts an async iterable body and an empty blob', async () => {
    const store = await freshStore();
    const bytes = bytesOf(1000, 9);
    async function* gen(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield new Uint8Array(bytes.subarray(0, 10));
      yield new Uint8Array(bytes.subarray(10));
    }
    await store.ingest(descriptorOf(bytes), gen());
    const empty = Buffer.alloc(0);
    await store.ingest(descriptorOf(empty), Readable.from([]));
    assert.equal(await store.has(descriptorOf(empty)), true);
  });

  it('verifies sha512 digests', async () => {
    const store = await freshStore();
    const bytes = bytesOf(5000, 11);
    const desc = descriptorOf(bytes, MediaTypes.ociLayer, 'sha512');
    await store.ingest(desc, chunked(bytes, 999));
    assert.equal(await store.has(desc), true);
    await store.verifyBlob(desc);
  });

  it('does not read a byte of the body when the blob is already stored', async () => {
    const store = await freshStore();
    const bytes = bytesOf(100, 3);
    const desc = descriptorOf(bytes);
    await store.ingestBytes(desc, bytes);
    let reads = 0;
    const body = new Readable({
      read() {
        reads++;
        this.push(Buffer.from('x'));
      },
    });
    await store.ingest(desc, body);
    assert.equal(reads, 0);
    assert.equal(body.destroyed, true);
  });

  it('replaces a stored file of the wrong size instead of trusting it', async () => {
    const store = await freshStore();
    const bytes = bytesOf(100, 3);
    const desc = descriptorOf(bytes);
    await store.ingestBytes(desc, bytes);
    await writeFile(store.blobPath(desc.digest), 'truncated');
    assert.equal(await store.has(desc), false);
    await store.ingest(desc, chunked(bytes, 7));
    await store.verifyBlob(desc);
  });

  it('ingestBytes checks size and digest before writing', async () => {
    const store = await freshStore();
    const bytes = bytesOf(64, 1);
    const desc = descriptorOf(bytes);
    await assert.rejects(store.ingestBytes(desc, bytesOf(64, 2)), (err: unknown) => {
      assert.ok(err instanceof CustomsError && err.code === 'DIGEST_MISMATCH');
      assert.match(
        err.message,
        new RegExp(`^blob ${desc.digest}: digest mismatch: expected ${desc.digest}, got sha256:[0-9a-f]{64}$`),
      );
      return true;
    });
    await assert.rejects(store.ingestBytes(desc, bytesOf(65, 1)), hasCode('SIZE_MISMATCH'));
    assert.equal(await store.has(desc), false);
    await store.ingestBytes(desc, bytes);
    assert.equal(await store.has(desc), true);
  });
});

describe('reading blobs', () => {
  it('readBlob refuses a blob larger than the cap', async () => {
    const store = await freshStore();
    const bytes = bytesOf(2000, 1);
    const desc = descriptorOf(bytes);
    await store.ingestBytes(desc, bytes);
    await assert.rejects(store.readBlob(desc.digest, 1999), hasCode('TOO_LARGE'));
    assert.equal((await store.readBlob(desc.digest, 2000)).length, 2000);
  });

  it('reports a missing blob as IMAGE_NOT_IN_STORE', async () => {
    const store = await freshStore();
    const desc = descriptorOf(Buffer.from('absent'));
    await assert.rejects(store.readBlob(desc.digest, 100), hasCode('IMAGE_NOT_IN_STORE'));
    await assert.rejects(store.open(desc.digest), hasCode('IMAGE_NOT_IN_STORE'));
    await assert.rejects(store.verifyBlob(desc), hasCode('IMAGE_NOT_IN_STORE'));
    assert.equal(await store.has(desc), false);
  });

  it('verifyBlob detects a blob changed on disk after ingest', async () => {
    const store = await freshStore();
    const bytes = bytesOf(300, 1);
    const desc = descriptorOf(bytes);
    await store.ingestBytes(desc, bytes);
    const changed = Buffer.from(bytes);
    changed[10] = (changed[10] ?? 0) ^ 0xff;
    await writeFile(store.blobPath(desc.digest), changed);
    await assert.rejects(store.verifyBlob(desc), hasCode('DIGEST_MISMATCH'));
    await writeFile(store.blobPath(desc.digest), bytes.subarray(1));
    await assert.rejects(store.verifyBlob(desc), hasCode('SIZE_MISMATCH'));
  });
});
