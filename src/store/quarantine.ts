/**
 * Quarantine: the only path by which bytes become trusted (download → cap → hash → commit). A body is
 * streamed into `<root>/.customs/quarantine/<pid>-<host>-<random>.partial` while being hashed in the same
 * pass; it is read to at most `size + 1` bytes; only an exact size and digest match is fsynced and renamed
 * into `blobs/`. Every other outcome deletes the temp file. A crash leaves a `.partial` file whose owner pid
 * is dead: garbage that fsck reports and gc removes, never a blob.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import { mismatch } from '../errors.js';
import { fsyncDir } from '../internal/atomic.js';
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
  let fh: FileHandle | undefined;
  let inflight: Promise<void> = Promise.resolve();
  try {
    fh = await open(tmp, 'wx', 0o644).catch((err: unknown) => {
      throw ioError(subject, 'cannot create a quarantine file', err);
    });
    const out = fh;
    const hash = createHash(digestAlgorithm(digest));
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
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      received += buf.length;
      if (received > target.size) {
        // One byte past the declared size proves the sender lied; reading on would let it fill the disk.
        throw mismatch('SIZE_MISMATCH', subject, 'size mismatch', `${target.size} bytes`, 'more', {
          hint: SIZE_MISMATCH_HINT,
          details: { digest },
        });
      }
      hash.update(buf);
      batch.push(buf);
      batchBytes += buf.length;
      if (batchBytes >= WRITE_BATCH_BYTES) await flush();
    }
    signal?.throwIfAborted();
    if (batchBytes > 0) await flush();
    await inflight;
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
    await commit(out, tmp, target.blobPath, subject);
    fh = undefined;
  } catch (err) {
    body.destroy();
    await inflight.catch(() => undefined);
    await fh?.close().catch(() => undefined);
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
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', 0o644);
    await fh.writeFile(bytes);
    const out = fh;
    fh = undefined;
    await commit(out, tmp, target.blobPath, subject);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw ioError(subject, 'cannot store the blob', err);
  }
}

/** fsync and close the temp file, rename it into blobs/, fsync the directory. Closes `fh` in every case. */
async function commit(fh: FileHandle, tmp: string, blobPath: string, subject: string): Promise<void> {
  try {
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await mkdir(dirname(blobPath), { recursive: true, mode: 0o755 });
    // Same filesystem (quarantine is inside the store): the rename is atomic, so blobs/ only ever holds
    // complete, verified files. A blob already there (a concurrent ingest of the same digest) has the same bytes.
    await rename(tmp, blobPath);
    await fsyncDir(dirname(blobPath));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError(subject, 'cannot commit the blob', err);
  }
}

async function writeAll(fh: FileHandle, bufs: readonly Buffer[]): Promise<void> {
  // writev hands the batch to the kernel without first copying it into one buffer.
  let pending = bufs.filter((b) => b.length > 0);
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending);
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
