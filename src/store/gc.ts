/**
 * Garbage collection (run under the store lock). Keeps every blob reachable from index.json — including
 * referenced blobs that do not parse, which are kept rather than guessed about — and removes the rest, plus
 * quarantine files whose owner process is gone and temp files of interrupted index.json writes.
 */
import { lstat, unlink } from '../internal/fsp.js';
import { join } from 'node:path';
import { TEMP_PREFIX } from '../internal/atomic.js';
import { isDigest, type Digest } from '../ref/index.js';
import type { GcReport } from './content-store.js';
import type { IndexDocument } from './index-file.js';
import { ioError, isErrno, readdirOrEmpty } from './io.js';
import { BLOB_ALGORITHMS, BLOBS_DIR, blobPathIn, CUSTOMS_DIR, QUARANTINE_DIR } from './layout.js';
import { isPidAlive } from './owner.js';
import { isOrphanedQuarantineName } from './quarantine.js';
import { walkReferences } from './walk.js';

/**
 * Quarantine files that do not follow customs' naming (nothing customs writes) are removed only after this
 * long untouched, in case some other tool is using the directory.
 */
const FOREIGN_QUARANTINE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Collect garbage in the layout at `root`, whose current index is `doc`. The caller holds the store lock. */
export async function collectGarbage(root: string, doc: IndexDocument, signal?: AbortSignal): Promise<GcReport> {
  const walk = walkReferences(
    doc.entries.map((e) => e.descriptor),
    (d) => blobPathIn(root, d),
    signal,
  );
  const removedBlobs: Digest[] = [];
  let removedBytes = 0;
  let removedTempFiles = 0;
  const remove = async (path: string): Promise<boolean> => {
    try {
      await unlink(path);
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw ioError(`gc ${path}`, 'cannot remove', err);
    }
  };

  for (const alg of BLOB_ALGORITHMS) {
    for (const e of await readdirOrEmpty(join(root, BLOBS_DIR, alg))) {
      signal?.throwIfAborted();
      const digest = `${alg}:${e.name}`;
      // Only well-named regular files are blobs; anything else is not ours to delete (fsck reports it).
      if (!e.isFile() || !isDigest(digest) || walk.reachable.has(digest)) continue;
      const path = blobPathIn(root, digest);
      const size = (await lstat(path).catch(() => undefined))?.size ?? 0;
      if (await remove(path)) {
        removedBlobs.push(digest);
        removedBytes += size;
      }
    }
  }

  for (const e of await readdirOrEmpty(join(root, QUARANTINE_DIR))) {
    const path = join(root, QUARANTINE_DIR, e.name);
    const orphaned = isOrphanedQuarantineName(e.name);
    if (orphaned === false) continue; // a live ingest
    if (orphaned === undefined) {
      const st = await lstat(path).catch(() => undefined);
      if (st === undefined || Date.now() - st.mtimeMs < FOREIGN_QUARANTINE_MAX_AGE_MS) continue;
    }
    if (await remove(path)) removedTempFiles++;
  }
  // Only the lock holder writes index.json (and we hold the lock), so every index temp file is left over.
  for (const e of await readdirOrEmpty(root)) {
    if (e.isFile() && e.name.startsWith(TEMP_PREFIX) && (await remove(join(root, e.name)))) removedTempFiles++;
  }
  for (const e of await readdirOrEmpty(join(root, CUSTOMS_DIR))) {
    const m = /^lock\.stale-(\d+)-[0-9a-f]+$/.exec(e.name);
    if (m !== null && !isPidAlive(Number(m[1])) && (await remove(join(root, CUSTOMS_DIR, e.name)))) removedTempFiles++;
  }
  return { removedBlobs, removedBytes, removedTempFiles };
}
