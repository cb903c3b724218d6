/**
 * Write an ExportPlan as a docker-archive or oci-archive file, atomically: the tar goes to a temp file beside
 * the target (same directory, so the rename is atomic), is fsynced, and is renamed over the target only after
 * every blob streamed into it matched its digest. On any failure the temp file is removed: no half archive is
 * ever visible under the target name.
 */
import { open, rename, stat, unlink } from '../internal/fsp.js';
import { dirname, resolve } from 'node:path';
import { CustomsError } from '../errors.js';
import { fsyncDir, tempPathFor } from '../internal/atomic.js';
import type { ContentStore } from '../store/index.js';
import {
  blobPath,
  dockerManifestJson,
  dockerRepositoriesJson,
  ociIndexJson,
  ociLayoutJson,
  dockerArchiveImage,
  type ArchiveFormat,
} from './formats.js';
import { verifiedBlobStream, type ExportPlan } from './plan.js';
import { tarStream, type TarEntrySpec } from './tar-writer.js';

export interface WriteArchiveOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface WrittenArchive {
  readonly file: string;
  readonly format: ArchiveFormat;
  /** Size of the archive file. */
  readonly bytes: number;
  /** Blobs written (manifests, indexes, configs, layers). */
  readonly blobs: number;
}

function bytesEntry(name: string, bytes: Buffer): TarEntrySpec {
  return {
    type: 'file',
    name,
    size: bytes.length,
    body: () => [bytes],
  };
}

/**
 * The entries of the archive for `plan` in `format`. Blob bodies are streamed from the store and re-hashed
 * as they are read (verifiedBlobStream); manifests and indexes are the verified bytes held by the plan.
 */
export function archiveEntries(
  store: ContentStore,
  plan: ExportPlan,
  format: ArchiveFormat,
  signal?: AbortSignal,
): TarEntrySpec[] {
  const top = format === 'docker-archive' ? dockerArchiveImage(plan).descriptor : plan.top;
  const entries: TarEntrySpec[] = [
    { type: 'dir', name: 'blobs' },
    { type: 'dir', name: 'blobs/sha256' },
    bytesEntry('oci-layout', ociLayoutJson()),
    bytesEntry('index.json', ociIndexJson(plan.name, top)),
  ];
  const names = new Set<string>();
  for (const doc of plan.documents) {
    const name = blobPath(doc.descriptor.digest);
    if (names.has(name)) continue;
    names.add(name);
    entries.push(bytesEntry(name, doc.bytes));
  }
  for (const blob of plan.blobs) {
    const name = blobPath(blob.digest);
    if (names.has(name)) continue;
    names.add(name);
    entries.push({ type: 'file', name, size: blob.size, body: () => verifiedBlobStream(store, blob, signal) });
  }
  if ([...names].some((n) => n.startsWith('blobs/sha512/'))) entries.push({ type: 'dir', name: 'blobs/sha512' });
  if (format === 'docker-archive') {
    entries.push(bytesEntry('manifest.json', dockerManifestJson(plan)));
    const repositories = dockerRepositoriesJson(plan);
    if (repositories !== undefined) entries.push(bytesEntry('repositories', repositories));
  }
  return entries;
}

/**
 * Write the archive to `target` atomically. The target's directory must exist; an existing file is replaced
 * (as `docker save -o` does), a directory is refused. Errors: the blob stream's DIGEST_MISMATCH/SIZE_MISMATCH
 * (store corruption), STORE_IO for filesystem failures, the abort reason.
 */
export async function writeArchive(
  store: ContentStore,
  plan: ExportPlan,
  format: ArchiveFormat,
  target: string,
  options: WriteArchiveOptions = {},
): Promise<WrittenArchive> {
  const { signal } = options;
  const file = resolve(target);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory() === true) {
    throw new CustomsError('USAGE', `export: output ${file}: is a directory`, { hint: 'Pass -o with a file name.' });
  }
  const entries = archiveEntries(store, plan, format, signal);
  const tmp = tempPathFor(file);
  let fh;
  try {
    fh = await open(tmp, 'wx', 0o644);
  } catch (err) {
    throw new CustomsError('STORE_IO', `export: cannot create ${tmp}: ${(err as Error).message}`, {
      cause: err,
      hint: 'Check that the output directory exists and is writable.',
    });
  }
  let bytes = 0;
  try {
    try {
      for await (const chunk of tarStream(entries, signal)) {
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
        bytes += chunk.length;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof CustomsError) throw err;
    if (signal?.aborted === true) throw signal.reason;
    throw new CustomsError('STORE_IO', `export: writing ${file}: ${(err as Error).message}`, { cause: err });
  }
  await fsyncDir(dirname(file)).catch(() => undefined);
  return { file, format, bytes, blobs: plan.documents.length + plan.blobs.length };
}
