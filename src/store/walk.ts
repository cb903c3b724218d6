/**
 * Reachability: from index.json entries through indexes and manifests to configs and layers (image-spec
 * image-layout.md: "blobs ... referenced ... from index.json"). One walk serves tag (everything must be
 * there), gc (what must be kept) and fsck (what is broken). Bounded against hostile layouts: cycles are cut by
 * digest, and the number of nodes is capped.
 */
import { lstatSync } from 'node:fs';
import { CustomsError } from '../errors.js';
import { tooLarge } from '../internal/limit.js';
import { readRegularFileSync } from '../internal/read-file.js';
import { MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, parseManifest, type Descriptor } from '../oci/index.js';
import type { Digest } from '../ref/index.js';
import { isErrno } from './io.js';

/** More distinct blobs than any real store reaches from one index.json; stops a manifest bomb. */
export const MAX_WALK_NODES = 1_000_000;

export type WalkProblem =
  | { readonly kind: 'missing-blob'; readonly descriptor: Descriptor; readonly path: string }
  | { readonly kind: 'size-mismatch'; readonly descriptor: Descriptor; readonly path: string; readonly actual: number }
  | { readonly kind: 'unparsable'; readonly descriptor: Descriptor; readonly path: string; readonly error: unknown };

export interface WalkResult {
  /** Every digest reached, whether or not its blob is present. */
  readonly reachable: ReadonlySet<Digest>;
  readonly problems: readonly WalkProblem[];
  /** Descriptors examined (one per distinct digest). */
  readonly checked: number;
}

/**
 * Walk from `roots`. Manifests and indexes (by descriptor media type) are read and parsed with
 * parseManifest, checking that the body agrees with the descriptor's media type; their children are walked.
 * Other media types are leaves. Missing, wrong-size and unparsable blobs are reported, never thrown.
 * Synchronous: local metadata and small reads, bounded by MAX_WALK_NODES (src/internal/atomic.ts says why).
 */
export function walkReferences(
  roots: readonly Descriptor[],
  blobPath: (d: Digest) => string,
  signal?: AbortSignal,
): WalkResult {
  const reachable = new Set<Digest>();
  const problems: WalkProblem[] = [];
  const queue: Descriptor[] = [...roots];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    signal?.throwIfAborted();
    if (reachable.has(d.digest)) continue;
    if (reachable.size >= MAX_WALK_NODES) {
      throw new CustomsError('LIMIT_EXCEEDED', `store: more than ${MAX_WALK_NODES} blobs reachable from index.json`);
    }
    reachable.add(d.digest);
    const path = blobPath(d.digest);
    let size: number;
    try {
      const st = lstatSync(path); // synchronous metadata call: src/internal/atomic.ts
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOENT' });
      size = st.size;
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
        problems.push({ kind: 'missing-blob', descriptor: d, path });
        continue;
      }
      throw err;
    }
    if (size !== d.size) {
      problems.push({ kind: 'size-mismatch', descriptor: d, path, actual: size });
      continue;
    }
    if (!MANIFEST_MEDIA_TYPES.includes(d.mediaType)) continue;
    try {
      const bytes = readFileCapped(path, MAX_MANIFEST_BYTES, `blob ${d.digest}`, signal);
      const m = parseManifest(bytes, { subject: `blob ${d.digest}`, descriptorMediaType: d.mediaType });
      if (m.kind === 'index') queue.push(...m.manifests);
      else queue.push(m.config, ...m.layers);
    } catch (err) {
      signal?.throwIfAborted();
      problems.push({ kind: 'unparsable', descriptor: d, path, error: err });
    }
  }
  return { reachable, problems, checked: reachable.size };
}

/**
 * Read a whole store file, refusing more than `maxBytes`; never follows a symlink planted at the final component,
 * and reads only a regular file (src/internal/read-file.ts).
 */
export function readFileCapped(path: string, maxBytes: number, subject: string, signal?: AbortSignal): Buffer {
  signal?.throwIfAborted();
  return readRegularFileSync(path, {
    maxBytes,
    noFollow: true,
    notRegular: () =>
      new CustomsError('STORE_CORRUPT', `${subject}: ${path} is not a regular file`, {
        hint: 'Something other than customs put it there; run `customs fsck`.',
      }),
    tooLarge: () => tooLarge(subject, maxBytes),
  });
}
