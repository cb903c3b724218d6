// Attack: a registry (or a proxy in the path) lies about a blob — wrong bytes for the digest (content
// substitution), an endless or oversized body to fill the disk (CVE-2020-15157-style resource exhaustion, and
// distribution-spec's rule that clients verify size and digest), a short body, a broken or aborted transfer.
// Nothing of a failed ingest may remain in the store, and an oversized body is never read past size + 1.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import { CustomsError } from '../../src/errors.js';
import type { ContentStore } from '../../src/store/index.js';
import { bytesOf, chunked, descriptorOf, freshStore, quarantineFiles, snapshot } from '../unit/store-helpers.js';

let store: ContentStore;

before(async () => {
  store = await freshStore();
  // One good blob first, so the quarantine directory exists in the "before" snapshot.
  const b = bytesOf(10, 1);
  await store.ingestBytes(descriptorOf(b), b);
});

/** Run `attempt`, assert it fails with `check`, and that the store is byte-for-byte as it was. */
async function assertLeavesNoTrace(attempt: () => Promise<void>, check: (err: unknown) => boolean): Promise<void> {
  const beforeSnap = await snapshot(store.root);
  await assert.rejects(attempt(), check);
  assert.equal(await snapshot(store.root), beforeSnap);
  assert.deepEqual(await quarantineFiles(store.root), []);
}

describe('ingest of a lying body', () => {
  it('refuses bytes whose digest differs, naming expected and actual digests', async () => {
    const good = bytesOf(2 * 1024 * 1024, 2);
    const desc = descriptorOf(good);
    const evil = bytesOf(good.length, 3);
    await assertLeavesNoTrace(
      () => store.ingest(desc, chunked(evil, 64 * 1024)),
      (err) => {
        assert.ok(err instanceof CustomsError && err.code === 'DIGEST_MISMATCH');
        assert.match(
          err.message,
          new RegExp(`^blob ${desc.digest}: digest mismatch: expected ${desc.digest}, got sha256:[0-9a-f]{64}$`),
        );
        return true;
      },
    );
    assert.equal(await store.has(desc), false);
  });

  it('stops an endless body after size + 1 bytes and reports SIZE_MISMATCH', async () => {
    const size = 4096;
    const declared = descriptorOf(bytesOf(size, 4));
    let pulled = 0;
    function* endless(): Generator<Buffer> {
      for (;;) {
        pulled += 1;
        yield Buffer.from('A');
      }
    }
    // highWaterMark 1: the stream itself may buffer at most one chunk ahead of what ingest consumed.
    const body = Readable.from(endless(), { objectMode: false, highWaterMark: 1 });
    await assertLeavesNoTrace(
      () => store.ingest(declared, body),
      (err) => {
        assert.ok(err instanceof CustomsError && err.code === 'SIZE_MISMATCH');
        assert.equal(err.message, `blob ${declared.digest}: size mismatch: expected ${size} bytes, got more`);
        return true;
      },
    );
    assert.ok(pulled <= size + 2, `pulled ${pulled} bytes from the source, at most ${size + 2} allowed`);
    assert.equal(body.destroyed, true);
  });

  it('refuses a body shorter than declared', async () => {
    const bytes = bytesOf(3000, 5);
    const desc = descriptorOf(bytes);
    await assertLeavesNoTrace(
      () => store.ingest(desc, chunked(bytes.subarray(0, 2999), 100)),
      (err) => {
        assert.ok(err instanceof CustomsError && err.code === 'SIZE_MISMATCH');
        assert.match(err.message, /expected 3000 bytes, got 2999 bytes/);
        return true;
      },
    );
  });

  it('rethrows a stream error from mid-body unchanged, after cleaning up', async () => {
    const bytes = bytesOf(3 * 1024 * 1024, 6);
    const desc = descriptorOf(bytes);
    const boom = new Error('connection reset by peer');
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 2 * 1024 * 1024) {
          this.destroy(boom);
          return;
        }
        this.push(bytes.subarray(sent, sent + 256 * 1024));
        sent += 256 * 1024;
      },
    });
    await assertLeavesNoTrace(
      () => store.ingest(desc, body),
      (err) => err === boom,
    );
  });

  it('rethrows the abort reason when aborted while the sender stalls', async () => {
    const bytes = bytesOf(1024 * 1024, 7);
    const desc = descriptorOf(bytes);
    const controller = new AbortController();
    let sent = false;
    const body = new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(bytes.subarray(0, 1024));
          setTimeout(() => controller.abort(new Error('user pressed ^C')), 20);
        }
        // then stall forever: only the abort can end this
      },
    });
    await assertLeavesNoTrace(
      () => store.ingest(desc, body, { signal: controller.signal }),
      (err) => err instanceof Error && err.message === 'user pressed ^C',
    );
    assert.equal(body.destroyed, true);
  });

  it('rethrows the abort reason when the signal is already aborted, reading nothing', async () => {
    const bytes = bytesOf(100, 8);
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    let reads = 0;
    const body = new Readable({
      read() {
        reads++;
        this.push(null);
      },
    });
    await assertLeavesNoTrace(
      () => store.ingest(descriptorOf(bytes), body, { signal: controller.signal }),
      (err) => err instanceof Error && err.message === 'gone',
    );
    assert.equal(reads, 0);
  });
});
