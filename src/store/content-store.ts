/**
 * The trusted side: an OCI image layout (image-spec image-layout.md) on local disk. `ingest` is the only way
 * bytes become trusted; everything else in customs reads from a ContentStore.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../ref/digest.js';

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

export interface FsckProblem {
  readonly kind: 'digest-mismatch' | 'size-mismatch' | 'missing-blob' | 'unparsable' | 'stray-file' | 'bad-layout';
  readonly path: string;
  readonly message: string;
}

export interface FsckReport {
  readonly blobsChecked: number;
  readonly refsChecked: number;
  readonly problems: readonly FsckProblem[];
  /** Leftover quarantine/temp files: garbage from an interrupted run, not content. */
  readonly garbage: readonly string[];
}

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
   * rethrown (DIGEST_MISMATCH / SIZE_MISMATCH / the stream's error). Idempotent when the blob already exists.
   */
  ingest(expected: Descriptor, untrustedBody: Readable | AsyncIterable<Uint8Array>, options?: IngestOptions): Promise<void>;
  /** Same as ingest for bytes already in memory (manifests, configs). */
  ingestBytes(expected: Descriptor, untrustedBytes: Uint8Array): Promise<void>;
  /** True when the blob file exists with the expected size (not re-hashed: files only enter via ingest). */
  has(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean>;
  /** Read a whole blob into memory, refusing one larger than `maxBytes`. Not re-hashed. */
  readBlob(digest: Digest, maxBytes: number): Promise<Buffer>;
  /** A stream of the blob's bytes. Not re-hashed: callers that need re-verification use verifyBlob. */
  open(digest: Digest): Promise<Readable>;
  /** Re-hash a blob and compare with the descriptor; throws DIGEST_MISMATCH / SIZE_MISMATCH / IMAGE_NOT_IN_STORE. */
  verifyBlob(desc: Pick<Descriptor, 'digest' | 'size'>, signal?: AbortSignal): Promise<void>;
  /** Path of a blob file (for tools that need a path, e.g. a worker that reads it). */
  blobPath(digest: Digest): string;
  /** index.json entries. */
  list(): Promise<readonly StoreEntry[]>;
  /** The descriptor tagged `name`, or undefined. */
  resolve(name: string): Promise<Descriptor | undefined>;
  /**
   * Point `name` at `desc` in index.json (replacing an entry of the same name). Atomic (temp + fsync +
   * rename) under the store lock; refuses a descriptor whose blob is not in the store.
   */
  tag(name: string, desc: Descriptor): Promise<void>;
  /** Remove the entry `name`; returns false when there was none. Blobs stay until gc. */
  untag(name: string): Promise<boolean>;
  /** Remove blobs no entry reaches (walking indexes and manifests) and stale quarantine/temp files. */
  gc(): Promise<GcReport>;
  /** Re-hash every blob, check every reference resolves; never changes anything. */
  fsck(signal?: AbortSignal): Promise<FsckReport>;
}
