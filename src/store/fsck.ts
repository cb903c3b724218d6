/**
 * fsck: a read-only audit of a layout. Re-hashes every blob, checks every reference reachable from index.json
 * (present, right size, manifests parse), and lists stray files and garbage. Never changes anything, so it is
 * safe to run beside a pull; it takes no lock (index.json is replaced atomically, so it reads one version).
 */
import { join, relative } from 'node:path';
import { CustomsError } from '../errors.js';
import { TEMP_PREFIX } from '../internal/atomic.js';
import { isDigest } from '../ref/index.js';
import type { FsckProblem, FsckReport } from './content-store.js';
import { hashFile } from './hash-file.js';
import { parseIndexDocument, MAX_INDEX_BYTES } from './index-file.js';
import { readdirOrEmpty } from './io.js';
import {
  BLOB_ALGORITHMS,
  BLOBS_DIR,
  blobPathIn,
  CUSTOMS_DIR,
  INDEX_FILE,
  LOCK_FILE,
  QUARANTINE_DIR,
  validateLayout,
} from './layout.js';
import { isStaleLock } from './lock.js';
import { isOrphanedQuarantineName } from './quarantine.js';
import { readFileCapped, walkReferences } from './walk.js';

/** Temp files other tools leave in `blobs/` (containers/image oci transport: `oci-put-blob*`). */
const FOREIGN_TEMP = /^(?:\.tmp-|oci-put-blob)/;

/** Audit the layout at `root`. Paths in the report are relative to `root`. */
export async function fsckLayout(root: string, signal?: AbortSignal): Promise<FsckReport> {
  const problems: FsckProblem[] = [];
  const garbage: string[] = [];
  const rel = (p: string): string => relative(root, p);

  try {
    const state = await validateLayout(root);
    if (state !== 'layout')
      problems.push({ kind: 'bad-layout', path: '.', message: `store ${root}: not an OCI image layout` });
  } catch (err) {
    problems.push({ kind: 'bad-layout', path: '.', message: messageOf(err) });
    return { blobsChecked: 0, refsChecked: 0, problems, garbage };
  }

  let descriptors: Parameters<typeof walkReferences>[0] = [];
  try {
    const doc = parseIndexDocument(
      readFileCapped(join(root, INDEX_FILE), MAX_INDEX_BYTES, INDEX_FILE, signal),
      INDEX_FILE,
    );
    descriptors = doc.entries.map((e) => e.descriptor);
  } catch (err) {
    signal?.throwIfAborted();
    problems.push({ kind: 'bad-layout', path: INDEX_FILE, message: messageOf(err) });
  }

  // 1. Every file under blobs/: a well-named regular file whose bytes hash to its name.
  let blobsChecked = 0;
  const blobsDir = join(root, BLOBS_DIR);
  for (const top of await readdirOrEmpty(blobsDir)) {
    const topPath = join(blobsDir, top.name);
    if (!top.isDirectory() || !(BLOB_ALGORITHMS as readonly string[]).includes(top.name)) {
      if (FOREIGN_TEMP.test(top.name)) garbage.push(rel(topPath));
      else
        problems.push({
          kind: 'stray-file',
          path: rel(topPath),
          message: `${rel(topPath)}: not a digest algorithm directory`,
        });
      continue;
    }
    for (const e of await readdirOrEmpty(topPath)) {
      signal?.throwIfAborted();
      const p = join(topPath, e.name);
      if (FOREIGN_TEMP.test(e.name)) {
        garbage.push(rel(p));
        continue;
      }
      const digest = `${top.name}:${e.name}`;
      if (!isDigest(digest) || !e.isFile()) {
        problems.push({
          kind: 'stray-file',
          path: rel(p),
          message: `${rel(p)}: not a blob: expected a regular file named by a ${top.name} digest`,
        });
        continue;
      }
      const got = await hashFile(p, top.name as 'sha256' | 'sha512', signal);
      blobsChecked++;
      if (got.digest !== digest) {
        problems.push({
          kind: 'digest-mismatch',
          path: rel(p),
          message: `blob ${digest}: digest mismatch: expected ${digest}, got ${got.digest}`,
        });
      }
    }
  }

  // 2. Every reference from index.json resolves, recursively.
  const walk = walkReferences(descriptors, (d) => blobPathIn(root, d), signal);
  for (const p of walk.problems) {
    const d = p.descriptor;
    switch (p.kind) {
      case 'missing-blob':
        problems.push({
          kind: 'missing-blob',
          path: rel(p.path),
          message: `blob ${d.digest}: missing (${d.mediaType}, referenced from index.json)`,
        });
        break;
      case 'size-mismatch':
        problems.push({
          kind: 'size-mismatch',
          path: rel(p.path),
          message: `blob ${d.digest}: size mismatch: expected ${d.size} bytes, got ${p.actual} bytes`,
        });
        break;
      case 'unparsable':
        problems.push({
          kind: 'unparsable',
          path: rel(p.path),
          message: `blob ${d.digest}: cannot parse ${d.mediaType}: ${messageOf(p.error)}`,
        });
        break;
    }
  }

  // 3. Garbage: leftovers of interrupted runs. Files of a live ingest are work in progress, not garbage.
  for (const e of await readdirOrEmpty(join(root, QUARANTINE_DIR))) {
    if (isOrphanedQuarantineName(e.name) !== false) garbage.push(join(QUARANTINE_DIR, e.name));
  }
  for (const e of await readdirOrEmpty(root)) {
    if (e.name.startsWith(TEMP_PREFIX)) garbage.push(e.name);
  }
  for (const e of await readdirOrEmpty(join(root, CUSTOMS_DIR))) {
    if (e.name.startsWith('lock.stale-')) garbage.push(join(CUSTOMS_DIR, e.name));
  }
  if (await isStaleLock(join(root, LOCK_FILE)).catch(() => false)) garbage.push(LOCK_FILE);

  return { blobsChecked, refsChecked: walk.checked, problems, garbage };
}

function messageOf(err: unknown): string {
  return err instanceof CustomsError || err instanceof Error ? err.message : String(err);
}
