// Attack: special files planted in a store (a FIFO, or a directory where a manifest blob or index.json belongs).
// Opening a FIFO for reading blocks until a writer comes: the "hanging fifo" class containerd fixed with
// non-blocking opens (containerd/containerd#330); the fix pattern is O_NONBLOCK, then refuse anything fstat
// does not call a regular file. The store reads its small files synchronously (src/internal/atomic.ts), so a hang
// there would freeze the whole process, not one request: every such read must refuse at once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CustomsError } from '../../src/errors.js';
import { MAX_INDEX_BYTES } from '../../src/store/index-file.js';
import { readFileCapped } from '../../src/store/walk.js';
import { bytesOf, descriptorOf, freshStore } from '../unit/store-helpers.js';

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

const corrupt = (err: unknown): boolean => err instanceof CustomsError && err.code === 'STORE_CORRUPT';

describe('special files in a store are refused, never waited on', { timeout: 10_000 }, () => {
  it('a FIFO as a blob: readBlob and tag refuse it at once', async () => {
    const store = await freshStore();
    const desc = descriptorOf(bytesOf(100, 7));
    mkfifo(store.blobPath(desc.digest));
    await assert.rejects(store.readBlob(desc.digest, 1000), corrupt);
    await assert.rejects(store.tag('fifo', { ...desc, mediaType: 'application/vnd.oci.image.manifest.v1+json' }));
  });

  it('a FIFO or a directory as index.json: reading the index refuses it', async () => {
    const store = await freshStore();
    const index = join(store.root, 'index.json');
    await rm(index);
    mkfifo(index);
    await assert.rejects(store.list(), corrupt);
    await rm(index);
    await mkdir(index);
    await assert.rejects(store.list(), (err: unknown) => err instanceof CustomsError);
  });

  it('reads a regular file whole, and refuses one byte past the cap', async () => {
    const store = await freshStore();
    const path = join(store.root, 'probe');
    await writeFile(path, bytesOf(4096, 3));
    assert.equal(readFileCapped(path, 4096, 'probe').length, 4096);
    assert.throws(
      () => readFileCapped(path, 4095, 'probe'),
      (err: unknown) => err instanceof CustomsError && err.code === 'TOO_LARGE',
    );
    await writeFile(path, '');
    assert.equal(readFileCapped(path, MAX_INDEX_BYTES, 'probe').length, 0);
  });
});
