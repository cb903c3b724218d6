/**
 * The narrow interfaces where the registry client, the store and the unpacker meet (STYLE.md "Core interfaces").
 * A Readable from a Source only ever goes to ContentStore.ingest; decompressors and tar readers accept only
 * store content.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from './descriptor.js';
import type { Digest, Reference } from '../ref/index.js';

/** A resolved manifest: its descriptor (digest computed locally from the bytes) and the raw bytes. */
export interface FetchedManifest {
  readonly descriptor: Descriptor;
  /** Raw manifest bytes, already capped and digest-checked against `descriptor`. Still untrusted JSON. */
  readonly bytes: Buffer;
  /** Content-Type the registry sent (untrusted; parseManifest checks it agrees with the body). */
  readonly contentType: string | undefined;
}

/** Registry side, untrusted. */
export interface Source {
  /**
   * Fetch the manifest `ref` names (tag or digest) with a size cap. The digest is computed locally from the
   * bytes; when `ref.digest` is set it must match, and a disagreeing Docker-Content-Digest header is an error.
   * `expected`, when given, is the descriptor that pointed here (from an index): size and digest must match.
   */
  manifest(ref: Reference, expected?: Descriptor, signal?: AbortSignal): Promise<FetchedManifest>;
  /**
   * A stream of at most `desc.size + 1` bytes of the blob. Unverified: give it to ContentStore.ingest only.
   * An interrupted transfer is resumed inside the stream with `Range` (bounded), so the consumer sees one
   * continuous byte sequence from byte 0 and hashes all of it.
   */
  fetch(ref: Reference, desc: Descriptor, signal?: AbortSignal): Promise<Readable>;
}

/** Progress and events from library code; the CLI renders them. Library code never prints. */
export type ProgressEvent =
  | { readonly type: 'blob-start'; readonly digest: Digest; readonly size: number; readonly mediaType: string }
  | { readonly type: 'blob-progress'; readonly digest: Digest; readonly bytes: number; readonly size: number }
  | { readonly type: 'blob-done'; readonly digest: Digest; readonly size: number; readonly skipped: boolean }
  | { readonly type: 'retry'; readonly what: string; readonly attempt: number; readonly reason: string }
  | { readonly type: 'info'; readonly message: string };

export type ProgressSink = (event: ProgressEvent) => void;
