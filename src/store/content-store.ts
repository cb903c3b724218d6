/**
 * The trusted side: an OCI image layout (image-spec image-layout.md) on local disk. `ingest` is the only way
 * bytes become trusted; everything else in customs reads from a ContentStore.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/index.js';
import type { Digest } from '../ref/index.js';

/** One entry of index.json: a descriptor, usually tagged with `org.opencontainers.image.ref.name`. */
export interface StoreEntry {
  /** The `org.opencontainers.image.ref.name` annotation, or undefined for untagged entries. */
  readonly name: string | undefined;
  readonly descriptor: Descriptor;
}

export interface IngestOptions {
  readonly signal?: AbortSignal;
  /** Called with the number of bytes written so far (for progress). */
  readonly onProgress?: (bytesSoFar: number) => void;
}

/** One thing fsck found wrong. `path` is relative to the store root (e.g. `blobs/sha256/<hex>`, `index.json`). */
export interface FsckProblem {
  readonly kind: 'digest-mismatch' | 'size-mismatch' | 'missing-blob' | 'unparsable' | 'stray-file' | 'bad-layout';
  readonly path: string;
  readonly message: string;
}

/** What fsck checked and found. A store is healthy when `problems` is empty, whatever `garbage` holds. */
export interface FsckReport {
  readonly blobsChecked: number;
  readonly refsChecked: number;
  readonly problems: readonly FsckProblem[];
  /**
   * Leftover quarantine/temp files and stale locks (paths relative to the root): garbage from an interrupted
   * run, not content, and not a problem. `gc` removes it.
   */
  readonly garbage: readonly string[];
}

/** What gc removed. */
export interface GcReport {
  readonly removedBlobs: readonly Digest[];
  readonly removedBytes: number;
  readonly removedTempFiles: number;
}

export interface ContentStore {
  /** Absolute path of the layout directory. */
  readonly root: string;
  /**
   * Stream `untrustedBody` into quarantine (inside the store, same filesystem) while hashing; read at most
   * `expected.size + 1` bytes; on exact digest and size match fsync and rename into `blobs/`. On any other
   * outcome (mismatch, short body, long body, stream error, abort) the temp file is deleted and the error
   * rethrown (DIGEST_MISMATCH / SIZE_MISMATCH / the stream's error unchanged / the abort reason; STORE_IO
   * for filesystem failures). Idempotent when the blob already exists: the body is destroyed unread.
   * Takes no lock: a blob that is ingested but not yet tagged can be removed by a concurrent gc, which
   * `tag` then reports.
   */
  ingest(
    expected: Descriptor,
    untrustedBody: Readable | AsyncIterable<Uint8Array>,
    options?: IngestOptions,
  ): Promise<void>;
  /** Same as ingest for bytes already in memory (manifests, configs). */
  ingestBytes(expected: Descriptor, untrustedBytes: Uint8Array): Promise<void>;
  /**
   * True when the blob is a regular file (not a symlink) with the expected size. Not re-hashed: files only
   * enter via ingest.
   */
  has(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean>;
  /** Read a whole blob into memory, refusing one larger than `maxBytes`. Not re-hashed. */
  readBlob(digest: Digest, maxBytes: number): Promise<Buffer>;
  /** A stream of the blob's bytes. Not re-hashed: callers that need re-verification use verifyBlob. */
  open(digest: Digest): Promise<Readable>;
  /** Re-hash a blob and compare with the descriptor; throws DIGEST_MISMATCH / SIZE_MISMATCH / IMAGE_NOT_IN_STORE. */
  verifyBlob(desc: Pick<Descriptor, 'digest' | 'size'>, signal?: AbortSignal): Promise<void>;
  /** Path of a blob file (for tools that need a path, e.g. a worker that reads it). */
  blobPath(digest: Digest): string;
  /** index.json entries, in file order (entries without a ref.name have `name` undefined). */
  list(): Promise<readonly StoreEntry[]>;
  /** The descriptor tagged `name`, or undefined; STORE_CORRUPT when the name points at two different digests. */
  resolve(name: string): Promise<Descriptor | undefined>;
  /**
   * Point `name` at `desc` in index.json (replacing an entry of the same name). Atomic (temp + fsync +
   * rename) under the store lock, re-reading index.json inside it. Refuses (STORE_CORRUPT) a descriptor whose
   * blob, or any blob it references through indexes and manifests, is missing or has the wrong size, and a
   * manifest that does not parse; USAGE for a name outside the org.opencontainers.image.ref.name grammar.
   */
  tag(name: string, desc: Descriptor): Promise<void>;
  /** Remove the entry `name`; returns false when there was none. Blobs stay until gc. */
  untag(name: string): Promise<boolean>;
  /**
   * Roll back blobs a failed operation added: under the lock, delete each of `digests` that no index.json entry
   * reaches. Returns how many were removed. A concurrent pull that was about to reuse one of them fails at tag()
   * with STORE_CORRUPT and a hint to pull again; it never tags missing content.
   */
  discard(digests: readonly Digest[]): Promise<number>;
  /**
   * Under the store lock: remove blobs no entry reaches (walking indexes and manifests; referenced blobs that
   * do not parse are kept), quarantine files whose owner process on this host is gone, and index temp files.
   */
  gc(): Promise<GcReport>;
  /**
   * Re-hash every blob, check every reference from index.json resolves (recursively, with the right size and
   * parsing), list stray files in blobs/ and garbage; never changes anything and takes no lock.
   */
  fsck(signal?: AbortSignal): Promise<FsckReport>;
}
