/**
 * What an export writes, read from the store and re-verified: every manifest and index is re-hashed from the
 * bytes that will be written (never trusted because it sits in the store), configs are parsed, and every config
 * and layer must be present. Foreign-layer `urls` are never fetched: a blob that is not in the store stops the
 * export.
 */
import { createHash } from 'node:crypto';
import { CustomsError, mismatch } from '../errors.js';
import type { Descriptor, ImageConfig, ImageManifest } from '../oci/index.js';
import {
  INDEX_MEDIA_TYPES,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  MediaTypes,
  parseImageConfig,
  parseManifest,
} from '../oci/index.js';
import { digestAlgorithm, type Digest } from '../ref/index.js';
import type { ContentStore } from '../store/index.js';

/** Indexes nested deeper than this are refused (as pull does). */
export const MAX_EXPORT_INDEX_DEPTH = 2;

/** One image manifest of the export, with its verified config. */
export interface ExportImage {
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  /** Verified config bytes (written as they are: their digest is the image ID docker shows). */
  readonly configBytes: Buffer;
  /** Parsed config; undefined for artifacts whose config is not an image config. */
  readonly config: ImageConfig | undefined;
}

/** Everything one archive holds. */
export interface ExportPlan {
  /** The store name being exported, as tagged. */
  readonly name: string;
  /** The descriptor the name points at (an image manifest, or an index). */
  readonly top: Descriptor;
  /** Manifests and indexes with their verified bytes, children before parents. */
  readonly documents: readonly { readonly descriptor: Descriptor; readonly bytes: Buffer }[];
  readonly images: readonly ExportImage[];
  /** Distinct config and layer blobs, in first-seen order; streamed (and re-hashed) while the archive is written. */
  readonly blobs: readonly Descriptor[];
}

const IMAGE_CONFIG_MEDIA_TYPES: readonly string[] = [MediaTypes.ociConfig, MediaTypes.dockerConfig];

/** Read a blob into memory and check its size and digest against `desc` on exactly those bytes. */
export async function readVerifiedBlob(store: ContentStore, desc: Descriptor, maxBytes: number): Promise<Buffer> {
  if (desc.size > maxBytes) {
    throw mismatch('TOO_LARGE', `blob ${desc.digest}`, 'too large', `at most ${maxBytes} bytes`, `${desc.size} bytes`);
  }
  const bytes = await store.readBlob(desc.digest, maxBytes);
  assertDigest(desc, bytes.length, createHash(digestAlgorithm(desc.digest)).update(bytes).digest('hex'));
  return bytes;
}

function assertDigest(desc: Pick<Descriptor, 'digest' | 'size'>, size: number, hex: string): void {
  const hint = 'The store is corrupt: run customs fsck, then customs rm the image and pull it again.';
  if (size !== desc.size)
    throw mismatch('SIZE_MISMATCH', `store blob ${desc.digest}`, 'size', desc.size, size, { hint });
  const got = `${digestAlgorithm(desc.digest)}:${hex}`;
  if (got !== desc.digest)
    throw mismatch('DIGEST_MISMATCH', `store blob ${desc.digest}`, 'digest', desc.digest, got, { hint });
}

/**
 * The blob's bytes from the store, hashed as they pass: after the last chunk, a size or digest that differs
 * from `desc` throws (DIGEST_MISMATCH / SIZE_MISMATCH), so a writer that consumes this stream and only commits
 * after it ended has written exactly verified bytes (no check-then-read window).
 */
export async function* verifiedBlobStream(
  store: ContentStore,
  desc: Descriptor,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const hash = createHash(digestAlgorithm(desc.digest));
  let size = 0;
  const body = await store.open(desc.digest);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      size += chunk.length;
      if (size > desc.size) break;
      hash.update(chunk);
      yield chunk;
    }
  } finally {
    body.destroy();
  }
  assertDigest(desc, size, hash.digest('hex'));
}

/**
 * Walk `top` in the store (index → manifests → config and layers), re-verify every manifest and index from
 * the bytes that will be exported, parse configs (diff_id count = layer count), and check every blob is
 * present with its size. Does not re-hash configs and layers here: `verifiedBlobStream` does that while they
 * are written.
 */
export async function planExport(
  store: ContentStore,
  name: string,
  top: Descriptor,
  signal?: AbortSignal,
): Promise<ExportPlan> {
  const documents: { descriptor: Descriptor; bytes: Buffer }[] = [];
  const images: ExportImage[] = [];
  const blobs = new Map<Digest, Descriptor>();
  const walk = async (desc: Descriptor, depth: number): Promise<void> => {
    signal?.throwIfAborted();
    const bytes = await readVerifiedBlob(store, desc, MAX_MANIFEST_BYTES);
    const subject = `${name} (${desc.digest})`;
    const doc = parseManifest(bytes, { descriptorMediaType: desc.mediaType, subject });
    if (doc.kind === 'index') {
      if (depth >= MAX_EXPORT_INDEX_DEPTH) {
        throw new CustomsError(
          'MANIFEST_INVALID',
          `${subject}: indexes nested deeper than ${MAX_EXPORT_INDEX_DEPTH} levels are refused`,
        );
      }
      for (const child of doc.manifests) await walk(child, depth + 1);
      documents.push({ descriptor: desc, bytes });
      return;
    }
    const configBytes = await readVerifiedBlob(store, doc.config, MAX_CONFIG_BYTES);
    const config = IMAGE_CONFIG_MEDIA_TYPES.includes(doc.config.mediaType)
      ? parseImageConfig(configBytes, `${subject}: config ${doc.config.digest}`, doc.layers.length)
      : undefined;
    for (const d of [doc.config, ...doc.layers]) {
      const seen = blobs.get(d.digest);
      if (seen !== undefined && seen.size !== d.size) {
        throw new CustomsError(
          'MANIFEST_INVALID',
          `${subject}: blob ${d.digest} is declared with two sizes: ${seen.size} and ${d.size}`,
        );
      }
      if (!(await store.has(d))) {
        // Foreign layers (descriptor `urls`) are never fetched: what is exported is what was verified into the store.
        throw new CustomsError('IMAGE_NOT_IN_STORE', `${subject}: blob ${d.digest} is not in the store`, {
          hint:
            d.urls === undefined
              ? 'The store is incomplete: run customs fsck, then pull the image again.'
              : 'This is a foreign layer; customs never fetches descriptor urls, so it cannot be exported.',
        });
      }
      blobs.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
    }
    images.push({ descriptor: desc, manifest: doc, configBytes, config });
    documents.push({ descriptor: desc, bytes });
  };
  await walk(top, 0);
  return { name, top, documents, images, blobs: [...blobs.values()] };
}

/** True when `mediaType` names an index (OCI index or Docker manifest list). */
export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.includes(mediaType);
}
