/**
 * Quarantine: the only path by which bytes become trusted (download → cap → hash → commit). A body is
 * streamed into `<root>/.customs/quarantine/<pid>-<host>-<random>.partial` while being hashed in the same
 * pass; it is read to at most `size + 1` bytes; only an exact size and digest match is fsynced and renamed
 * into `blobs/`. Every other outcome deletes the temp file. A crash leaves a `.partial` file whose owner pid
 * is dead: garbage that fsck reports and gc removes, never a blob.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { close, closeSync, fdatasync, mkdirSync, openSync, renameSync, write, writev } from 'node:fs';
import { unlink } from '../internal/fsp.js';
import { dirname, join } from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import { CustomsError, mismatch } from '../errors.js';
import { isBulkSource, type BulkSink, type BulkSource } from '../internal/bulk.js';
import { fsyncDir, fsyncFd, writeAllSync } from '../internal/atomic.js';
import { MiB } from '../internal/units.js';
import { digestAlgorithm, parseDigest, type Digest } from '../ref/index.js';
import { ioError } from './io.js';
import { HOST_TAG, isPidAlive } from './owner.js';

/**
 * Small network chunks (16–64 KiB) are coalesced into writes of at least this size: fewer syscalls, and the
 * write of one batch overlaps the hashing of the next. Memory held: about two batches per ingest.
 */
export const WRITE_BATCH_BYTES = 1 * MiB;

const PARTIAL_SUFFIX = '.partial';
const QUARANTINE_NAME = /^(\d{1,10})-([0-9a-f]{8})-[0-9a-f]{12}\.partial$/;

const DIGEST_MISMATCH_HINT =
  'The source sent different bytes than the descriptor names; they were discarded. The registry or a proxy is faulty or hostile.';
const SIZE_MISMATCH_HINT =
  'The source sent a different number of bytes than the descriptor names; they were discarded. Retry; if it persists, the registry is faulty or hostile.';

/** A fresh quarantine file name carrying this process's pid and host tag (so gc can tell when it is orphaned). */
export function quarantineName(): string {
  return `${process.pid}-${HOST_TAG}-${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
}

/**
 * True when quarantine file `name` belongs to a process that no longer runs on this host. Files of other
 * hosts and files that do not follow customs' naming are left alone (the caller decides by age).
 */
export function isOrphanedQuarantineName(name: string): boolean | undefined {
  const m = QUARANTINE_NAME.exec(name);
  if (m === null) return undefined;
  if (m[2] !== HOST_TAG) return false;
  return !isPidAlive(Number(m[1]));
}

export interface QuarantineTarget {
  readonly quarantineDir: string;
  /** Final path under blobs/; its directory is created if needed. */
  readonly blobPath: string;
  readonly digest: Digest;
  readonly size: number;
}

export interface StreamIngestOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((bytesSoFar: number) => void) | undefined;
}

/**
 * Stream `untrustedBody` into quarantine and commit it as `target.blobPath`. Errors: SIZE_MISMATCH (longer:
 * "expected N bytes, got more"; shorter), DIGEST_MISMATCH, STORE_IO for filesystem failures, the body's own
 * error unchanged, or `signal.reason` on abort. On every error the temp file is gone and the body destroyed.
 */
export async function ingestStream(
  target: QuarantineTarget,
  untrustedBody: Readable | AsyncIterable<Uint8Array>,
  options: StreamIngestOptions = {},
): Promise<void> {
  const { signal, onProgress } = options;
  const digest = parseDigest(target.digest, 'blob digest');
  const subject = `blob ${digest}`;
  const body = untrustedBody instanceof Readable ? untrustedBody : Readable.from(untrustedBody, { objectMode: false });
  if (signal?.aborted === true) {
    body.destroy();
    signal.throwIfAborted();
  }
  // Abort destroys the body, which wakes a for-await that is waiting on a stalled sender.
  if (signal !== undefined) addAbortSignal(signal, body);
  const tmp = join(target.quarantineDir, quarantineName());
  let fd: number | undefined;
  try {
    try {
      fd = openSync(tmp, 'wx', 0o644);
    } catch (err) {
      throw ioError(subject, 'cannot create a quarantine file', err);
    }
    const out = fd;
    const hash = createHash(digestAlgorithm(digest));
    const work: IngestWork = { out, hash, size: target.size, digest, subject, signal, onProgress };
    const received = isBulkSource(untrustedBody)
      ? await ingestBulk(untrustedBody, work)
      : await ingestChunks(body, work);
    if (received !== target.size) {
      throw mismatch('SIZE_MISMATCH', subject, 'size mismatch', `${target.size} bytes`, `${received} bytes`, {
        hint: SIZE_MISMATCH_HINT,
        details: { digest },
      });
    }
    const got = `${digestAlgorithm(digest)}:${hash.digest('hex')}`;
    if (got !== digest) {
      throw mismatch('DIGEST_MISMATCH', subject, 'digest mismatch', digest, got, { hint: DIGEST_MISMATCH_HINT });
    }
    fd = undefined;
    await commit(out, tmp, target.blobPath, subject);
  } catch (err) {
    body.destroy();
    if (fd !== undefined) closeQuietly(fd);
    await unlink(tmp).catch(() => undefined);
    signal?.throwIfAborted(); // an abort is reported as the abort, not as the stream error it caused
    throw err;
  }
}

/**
 * Commit bytes already in memory and already checked by the caller (size and digest) through the same
 * quarantine → fsync → rename path.
 */
export async function ingestVerifiedBytes(target: QuarantineTarget, bytes: Uint8Array): Promise<void> {
  const subject = `blob ${target.digest}`;
  const tmp = join(target.quarantineDir, quarantineName());
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    writeAllSync(fd, bytes);
    const out = fd;
    fd = undefined;
    await commit(out, tmp, target.blobPath, subject);
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    await unlink(tmp).catch(() => undefined);
    throw ioError(subject, 'cannot store the blob', err);
  }
}

/** fsync and close the temp file, rename it into blobs/, fsync the directory. Closes `fd` in every case. */
async function commit(fd: number, tmp: string, blobPath: string, subject: string): Promise<void> {
  try {
    try {
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    mkdirSync(dirname(blobPath), { recursive: true, mode: 0o755 }); // synchronous: src/internal/atomic.ts
    // Same filesystem (quarantine is inside the store): the rename is atomic, so blobs/ only ever holds
    // complete, verified files. A blob already there (a concurrent ingest of the same digest) has the same bytes.
    renameSync(tmp, blobPath);
    await fsyncDir(dirname(blobPath));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError(subject, 'cannot commit the blob', err);
  }
}

/** What the two ingest paths share: the open quarantine file, the running hash, the expected blob. */
interface IngestWork {
  /** The quarantine file, written through the fs callback API on its fd (see writeAt). */
  readonly out: number;
  readonly hash: Hash;
  readonly size: number;
  readonly digest: Digest;
  readonly subject: string;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((bytesSoFar: number) => void) | undefined;
}

/**
 * The chunk path: hash each chunk as it arrives, coalesce into writes of WRITE_BATCH_BYTES, at most one write in
 * flight. Returns the byte count; throws SIZE_MISMATCH one byte past `size`. Every write has settled when it
 * returns or throws.
 */
async function ingestChunks(body: Readable, work: IngestWork): Promise<number> {
  const { out, hash, size, digest, subject, signal, onProgress } = work;
  let inflight: Promise<void> = Promise.resolve();
  let received = 0;
  let written = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    const bufs = batch;
    const n = batchBytes;
    batch = [];
    batchBytes = 0;
    await inflight; // at most one write in flight: bounded memory, and disk I/O overlaps hashing
    const p = writeAll(out, bufs).then(
      () => {
        written += n;
        onProgress?.(written);
      },
      (err: unknown) => {
        throw ioError(subject, 'cannot write to quarantine', err);
      },
    );
    p.catch(() => undefined); // handled when awaited; keeps an early failure from being "unhandled"
    inflight = p;
  };
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      received += buf.length;
      if (received > size) throw longerThan(size, subject, digest);
      hash.update(buf);
      batch.push(buf);
      batchBytes += buf.length;
      if (batchBytes >= WRITE_BATCH_BYTES) await flush();
    }
    signal?.throwIfAborted();
    if (batchBytes > 0) await flush();
    await inflight;
    return received;
  } finally {
    await inflight.catch(() => undefined);
  }
}

/** Buffers lent to bulk sources, kept for the next ingest: reused memory is what makes the bulk path fast. */
const bulkBufferPool: Buffer[] = [];
/**
 * Buffers one bulk ingest may own: one being filled while the others are written. Three, not four: every buffer's
 * memory is faulted in on first use, and on a VM a fault costs ~10 µs a page (1 MiB ~2.5 ms), while the fourth was
 * rarely needed (debian pull: 5-6 ms faster with three; two was no faster, the reader then copies into spare memory).
 */
const BULK_BUFFERS_PER_INGEST = 3;
/** Buffers kept in the pool between ingests (3 parallel layer pulls × 3, with room to spare). */
const MAX_POOLED_BULK_BUFFERS = 12;
/** Written bytes between background datasyncs of a bulk ingest. */
const SYNC_AHEAD_BYTES = 8 * MiB;

/**
 * The bulk path: the source reads straight into WRITE_BATCH_BYTES buffers owned here; each read is hashed in
 * place, each full buffer is written at its own file position (up to BULK_BUFFERS_PER_INGEST in flight) and
 * then lent again. Same contract as ingestChunks.
 */
async function ingestBulk(source: BulkSource, work: IngestWork): Promise<number> {
  const { out, hash, size, digest, subject, signal, onProgress } = work;
  const owned: Buffer[] = [];
  const free: Buffer[] = [];
  const writes = new Set<Promise<void>>();
  let current: Buffer | undefined;
  let fill = 0;
  let received = 0;
  let position = 0;
  let written = 0;
  let failure: Error | undefined;
  let wake: { resolve: () => void; reject: (err: Error) => void } | undefined;

  const ensureCurrent = (): Buffer | undefined => {
    if (current !== undefined) return current;
    let next = free.pop();
    if (next === undefined && owned.length < BULK_BUFFERS_PER_INGEST) {
      next = bulkBufferPool.pop() ?? Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES);
      owned.push(next);
    }
    current = next;
    fill = 0;
    return current;
  };
  const settled = (): void => {
    const w = wake;
    wake = undefined;
    if (failure === undefined) w?.resolve();
    else w?.reject(failure);
  };
  const flush = (): void => {
    const buf = current;
    if (buf === undefined || fill === 0) return;
    const length = fill;
    const at = position;
    position += length;
    current = undefined;
    fill = 0;
    const p = writeAt(out, buf, length, at).then(
      () => {
        written += length;
        onProgress?.(written);
        syncAhead();
      },
      (err: unknown) => {
        failure ??= ioError(subject, 'cannot write to quarantine', err);
      },
    );
    const done = p.finally(() => {
      writes.delete(done);
      free.push(buf);
      settled();
    });
    writes.add(done);
  };
  // Write back while the transfer goes on, so the fsync before the commit finds little left to do (it still
  // runs: durability is the commit's fsync, this only moves disk work off the critical path).
  let syncing: Promise<void> | undefined;
  let syncedUpTo = 0;
  const syncAhead = (): void => {
    if (syncing !== undefined || written - syncedUpTo < SYNC_AHEAD_BYTES || failure !== undefined) return;
    const upTo = written;
    syncing = datasync(out).then(
      () => {
        syncedUpTo = upTo;
        syncing = undefined;
        syncAhead();
      },
      () => {
        syncing = undefined; // the commit's own fsync reports a real failure
      },
    );
  };
  const sink: BulkSink = {
    space: () => {
      const buf = ensureCurrent();
      if (buf === undefined) throw new CustomsError('INTERNAL', `${subject}: bulk sink has no free buffer`);
      return buf.subarray(fill);
    },
    filled: (n) => {
      if (failure !== undefined) throw failure;
      const buf = current;
      if (buf === undefined || n < 0 || fill + n > buf.length) {
        throw new CustomsError('INTERNAL', `${subject}: bulk source wrote outside the space it was given`);
      }
      received += n;
      if (received > size) throw longerThan(size, subject, digest);
      hash.update(buf.subarray(fill, fill + n));
      fill += n;
      if (fill === buf.length) flush();
    },
    wants: () => failure === undefined && ensureCurrent() !== undefined,
    whenReady: () => {
      if (failure !== undefined) return Promise.reject(failure);
      if (ensureCurrent() !== undefined) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        wake = { resolve, reject };
      });
    },
  };
  try {
    await source.pipeBulk(sink, signal);
    signal?.throwIfAborted();
    flush();
    while (writes.size > 0) await Promise.all([...writes]);
    if (failure !== undefined) throw failure;
    return received;
  } finally {
    // A buffer goes back to the pool only once no write can still be reading it.
    while (writes.size > 0) await Promise.allSettled([...writes]);
    while (syncing !== undefined) await syncing; // never close the file under a running datasync
    for (const b of owned) if (bulkBufferPool.length < MAX_POOLED_BULK_BUFFERS) bulkBufferPool.push(b);
  }
}

function longerThan(size: number, subject: string, digest: Digest): CustomsError {
  // One byte past the declared size proves the sender lied; reading on would let it fill the disk.
  return mismatch('SIZE_MISMATCH', subject, 'size mismatch', `${size} bytes`, 'more', {
    hint: SIZE_MISMATCH_HINT,
    details: { digest },
  });
}

// The quarantine file is written through node:fs's callback API on a plain fd rather than a FileHandle: the
// same thread-pool calls, without node:fs/promises on a pull's path at all (src/internal/fsp.ts).

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
}

function pwrite(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, buf, offset, length, position, (err, n) => (err === null ? resolve(n) : reject(err))),
  );
}

function writevAtEnd(fd: number, bufs: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => writev(fd, bufs, (err, n) => (err === null ? resolve(n) : reject(err))));
}

/** Close a file being abandoned after an error (the error that got us here is the one reported). */
function closeQuietly(fd: number): void {
  close(fd, () => undefined);
}

async function writeAt(fd: number, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const bytesWritten = await pwrite(fd, buf, done, length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

async function writeAll(fd: number, bufs: readonly Buffer[]): Promise<void> {
  // writev hands the batch to the kernel without first copying it into one buffer.
  let pending = bufs.filter((b) => b.length > 0);
  while (pending.length > 0) {
    const bytesWritten = await writevAtEnd(fd, pending);
    let n = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (n >= b.length) n -= b.length;
      else {
        rest.push(n === 0 ? b : b.subarray(n));
        n = 0;
      }
    }
    pending = rest;
  }
}
