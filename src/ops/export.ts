/**
 * `export`: a stored image → a docker-archive or oci-archive file (docs/security.md "Export and load").
 *
 * 1. The name is resolved in the local store only (no network).
 * 2. Every manifest and index is re-hashed from the bytes that are written; every config and layer is re-hashed
 *    while it is streamed into the archive. Foreign-layer `urls` are never fetched.
 * 3. The archive is written to a temp file beside the output and renamed only when complete and verified.
 */
import { CustomsError } from '../errors.js';
import { planExport, readVerifiedBlob, writeArchive, type ArchiveFormat, ARCHIVE_FORMATS } from '../export/index.js';
import type { Descriptor, Platform } from '../oci/index.js';
import { hostPlatform, MAX_MANIFEST_BYTES, parseManifest } from '../oci/index.js';
import type { Context } from './context.js';
import { openExistingStore, resolveLocal } from './local.js';
import { selectPlatform } from './pull.js';

export interface ExportOptions {
  readonly format: ArchiveFormat;
  /** For docker-archive of an index: the platform to export (default: this host's). Ignored for oci-archive. */
  readonly platform?: Platform | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface ExportResult {
  /** The store name exported. */
  readonly name: string;
  readonly format: ArchiveFormat;
  /** Absolute path of the archive written. */
  readonly file: string;
  /** The descriptor the archive's index.json points at (for docker-archive: the one image manifest). */
  readonly descriptor: Descriptor;
  readonly bytes: number;
  readonly blobs: number;
}

/** Parse `--format`; USAGE for anything else. */
export function parseArchiveFormat(untrusted: string | undefined): ArchiveFormat {
  const found = ARCHIVE_FORMATS.find((f) => f === untrusted);
  if (found === undefined) {
    throw new CustomsError(
      'USAGE',
      `export: --format: expected ${ARCHIVE_FORMATS.join(' or ')}, got ${JSON.stringify(untrusted ?? '')}`,
    );
  }
  return found;
}

/**
 * The `customs export` verb: write the stored image `untrustedName` to `output` in `options.format`. All blobs
 * are verified against their digests on the bytes written; on any failure `output` is left as it was.
 */
export async function exportArchive(
  ctx: Context,
  untrustedName: string,
  output: string,
  options: ExportOptions,
): Promise<ExportResult> {
  const { signal, format } = options;
  const store = await openExistingStore(ctx);
  const { name, descriptor } = await resolveLocal(store, untrustedName);
  let top = descriptor;
  if (format === 'docker-archive') {
    // A docker-archive holds one image: narrow an index to one platform, as docker save does.
    const bytes = await readVerifiedBlob(store, descriptor, MAX_MANIFEST_BYTES);
    const doc = parseManifest(bytes, { descriptorMediaType: descriptor.mediaType, subject: name });
    if (doc.kind === 'index') top = selectPlatform(doc.manifests, options.platform ?? hostPlatform(), name);
  }
  const plan = await planExport(store, name, top, signal);
  const written = await writeArchive(store, plan, format, output, { signal });
  return { name, format, file: written.file, descriptor: top, bytes: written.bytes, blobs: written.blobs };
}
