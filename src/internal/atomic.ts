/**
 * Atomic file replacement: write a temp file in the same directory, fsync it, rename over the target, fsync the
 * directory (umoci oci/cas, containers/storage ioutils.AtomicWriteFile). A crash at any point leaves either the
 * old file or the new one, never a torn one; leftover temp files start with `.tmp-` and are garbage.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Prefix of every temp file customs creates; `gc`/`fsck` treat such files as garbage. */
export const TEMP_PREFIX = '.tmp-';

/** A fresh temp path beside `target` (same directory, so same filesystem and rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}-${randomBytes(6).toString('hex')}`);
}

/** fsync a directory so a rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
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
  const fh = await open(tmp, 'wx', mode);
  const discard = (): Promise<void> => unlink(tmp).catch(() => undefined);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await discard();
    throw err;
  }
  return {
    commit: async () => {
      try {
        await rename(tmp, target);
      } catch (err) {
        await discard();
        throw err;
      }
    },
    discard,
  };
}
