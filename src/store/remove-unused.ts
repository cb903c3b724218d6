/**
 * Undo the creation of a store that a failed command created: "bad input leaves the store as it was", and for a
 * store that did not exist, as it was means absent (`customs pull` of a refused image into a new `--store DIR`
 * used to leave an empty layout behind).
 *
 * Only a store holding nothing is removed: no image in index.json, no blob, no quarantine file (another process
 * may be mid-pull). Everything is checked and removed under the store lock, and directories are removed with
 * rmdir, never recursively, so anything unexpected inside stops the removal and stays.
 */
import { readdir, readFile, rmdir, unlink } from '../internal/fsp.js';
import { basename, join } from 'node:path';
import { parseIndexDocument } from './index-file.js';
import { acquireLock } from './lock.js';
import {
  BLOB_ALGORITHMS,
  BLOBS_DIR,
  CUSTOMS_DIR,
  INDEX_FILE,
  LOCK_FILE,
  OCI_LAYOUT_FILE,
  QUARANTINE_DIR,
} from './layout.js';

/** rmdir that treats an absent directory as removed. */
async function rmdirIfPresent(path: string): Promise<void> {
  await rmdir(path).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
}

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Remove the store at `root` if it holds nothing at all. Never throws; returns whether it was removed. */
export async function removeStoreIfUnused(root: string): Promise<boolean> {
  let lock;
  try {
    lock = await acquireLock(join(root, LOCK_FILE), { timeoutMs: 2_000 });
  } catch {
    return false;
  }
  let removedLock = false;
  try {
    const index = parseIndexDocument(await readFile(join(root, INDEX_FILE)), join(root, INDEX_FILE));
    if (index.entries.length > 0) return false;
    for (const algorithm of BLOB_ALGORITHMS) {
      if (!(await isEmptyDir(join(root, BLOBS_DIR, algorithm)))) return false;
    }
    if (!(await isEmptyDir(join(root, QUARANTINE_DIR)))) return false;
    const names = (await readdir(root)).sort();
    if (names.join(',') !== [BLOBS_DIR, CUSTOMS_DIR, INDEX_FILE, OCI_LAYOUT_FILE].sort().join(',')) return false;
    const ours = new Set([basename(LOCK_FILE), basename(QUARANTINE_DIR)]);
    const customs = (await readdir(join(root, CUSTOMS_DIR))).filter((n) => !ours.has(n));
    if (customs.length > 0) return false;
    // Quarantine first: a process that opened this store a moment ago may be writing there without the lock, and
    // rmdir fails on its file before anything else is touched.
    await rmdirIfPresent(join(root, QUARANTINE_DIR));
    await unlink(join(root, INDEX_FILE));
    await unlink(join(root, OCI_LAYOUT_FILE));
    for (const algorithm of BLOB_ALGORITHMS) {
      await rmdirIfPresent(join(root, BLOBS_DIR, algorithm));
    }
    await rmdir(join(root, BLOBS_DIR));
    await lock.release();
    removedLock = true;
    await rmdir(join(root, CUSTOMS_DIR));
    await rmdir(root);
    return true;
  } catch {
    return false;
  } finally {
    if (!removedLock) await lock.release().catch(() => undefined);
  }
}
