/**
 * Atomic file replacement: write a temp file in the same directory, fsync it, rename over the target, fsync the
 * directory (umoci oci/cas, containers/storage ioutils.AtomicWriteFile). A crash at any point leaves either the
 * old file or the new one, never a torn one; leftover temp files start with `.tmp-` and are garbage.
 *
 * The metadata calls (open, write of a small file, rename, close) are synchronous and only fsync is awaited: on
 * a local filesystem those calls take microseconds, while each one sent through the thread pool waited for a
 * turn of an event loop that a pull keeps busy hashing, so a store's set-up or a tag took tens of ms of waiting
 * (bench/README.md). fsync waits on the disk and stays off the event loop.
 */
import { closeSync, fsync, openSync, renameSync, writeSync } from 'node:fs';
import { unlink } from './fsp.js';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Prefix of every temp file customs creates; `gc`/`fsck` treat such files as garbage. */
export const TEMP_PREFIX = '.tmp-';

/** A fresh temp path beside `target` (same directory, so same filesystem and rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}-${randomBytes(6).toString('hex')}`);
}

/** Write all of `bytes` at the file's current position. */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) {
    const n = writeSync(fd, bytes, done, bytes.length - done);
    if (n <= 0) throw new Error('write made no progress');
    done += n;
  }
}

/** fsync(2) on the thread pool. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err === null ? resolve() : reject(err))));
}

/** fsync a directory so a rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replace `target` with `data` atomically and durably. */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const staged = await writeFileStaged(target, data, mode);
  await staged.commit();
  await fsyncDir(dirname(target));
}

/**
 * The first half of writeFileAtomic: `data` written and fsynced in a temp file beside `target`. The returned
 * commit() renames it into place (it does not fsync the directory: that is the caller's, once for several
 * renames); discard() removes it. For callers that prepare several files at once and commit them in an order.
 */
export async function writeFileStaged(
  target: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<{ commit: () => Promise<void>; discard: () => Promise<void> }> {
  const tmp = tempPathFor(target);
  const fd = openSync(tmp, 'wx', mode);
  const discard = (): Promise<void> => unlink(tmp).catch(() => undefined);
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      writeAllSync(fd, bytes);
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    await discard();
    throw err;
  }
  return {
    commit: async () => {
      try {
        renameSync(tmp, target);
      } catch (err) {
        await discard();
        throw err;
      }
    },
    discard,
  };
}
