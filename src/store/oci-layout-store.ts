/**
 * The ContentStore implementation: an OCI image layout on local disk. Reads need no lock (blobs are
 * immutable once renamed into place; index.json is replaced atomically). Changes to index.json and gc run
 * under the store lock, re-reading index.json inside it, so concurrent processes never lose each other's tags.
 */
import { createHash } from 'node:crypto';
import { constants, lstatSync, mkdirSync } from 'node:fs';
import { open, unlink } from '../internal/fsp.js';
import { join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { CustomsError, mismatch } from '../errors.js';
import { writeFileAtomic } from '../internal/atomic.js';
import { promised } from '../internal/promised.js';
import type { Descriptor } from '../oci/index.js';
import { digestAlgorithm, parseDigest, type Digest } from '../ref/index.js';
import type { ContentStore, FsckReport, GcReport, IngestOptions, StoreEntry } from './content-store.js';
import { fsckLayout } from './fsck.js';
import { collectGarbage } from './gc.js';
import { hashFile } from './hash-file.js';
import {
  assertRefName,
  MAX_INDEX_BYTES,
  parseIndexDocument,
  serializeIndexDocument,
  withoutTag,
  withTag,
  type IndexDocument,
} from './index-file.js';
import { ioError, isErrno } from './io.js';
import {
  blobPathIn,
  createLayout,
  CUSTOMS_DIR,
  INDEX_FILE,
  LOCK_FILE,
  QUARANTINE_DIR,
  validateLayout,
} from './layout.js';
import { acquireLock } from './lock.js';
import { ingestStream, ingestVerifiedBytes } from './quarantine.js';
import { readFileCapped, walkReferences } from './walk.js';

export interface OpenStoreOptions {
  /** Create the layout when the directory is absent or empty. Without it, a missing layout is an error. */
  readonly create: boolean;
  readonly signal?: AbortSignal;
  /** How long to wait for the store lock before STORE_LOCKED (default 60 s). */
  readonly lockTimeoutMs?: number;
}

const MISSING_BLOB_HINT = 'blob missing; a concurrent gc may have removed it; run the pull again';

/**
 * Open (and with `create`, initialise) the OCI image layout at `root`. Refuses with STORE_CORRUPT a directory
 * that is neither empty nor a layout, an unsupported `oci-layout` version, or an unreadable index.json; with
 * STORE_IO a missing directory when `create` is false. Opening never modifies an existing layout.
 */
export async function openStore(root: string, options: OpenStoreOptions): Promise<ContentStore> {
  const abs = resolvePath(root);
  options.signal?.throwIfAborted();
  const state = await validateLayout(abs);
  if (state !== 'layout') {
    if (!options.create) {
      throw new CustomsError('STORE_IO', `store ${abs}: no OCI image layout here`, {
        hint: 'Create the store first (pull with --create-store), or point --store at an existing OCI image layout.',
        details: { root: abs },
      });
    }
    try {
      mkdirSync(join(abs, CUSTOMS_DIR), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw ioError(`store ${abs}`, 'cannot create the store directory', err);
    }
    // Several processes may create the same store at once: initialise under the lock, re-checking inside.
    const lock = await acquireLock(join(abs, LOCK_FILE), lockOptions(options));
    try {
      if ((await validateLayout(abs)) !== 'layout') await createLayout(abs);
    } finally {
      await lock.release();
    }
  }
  const store = new OciLayoutStore(abs, options.lockTimeoutMs);
  await store.readIndex(options.signal); // fail fast on a damaged index.json
  return store;
}

function lockOptions(o: { lockTimeoutMs?: number | undefined; signal?: AbortSignal | undefined }): {
  timeoutMs?: number;
  signal?: AbortSignal;
} {
  return {
    ...(o.lockTimeoutMs === undefined ? {} : { timeoutMs: o.lockTimeoutMs }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  };
}

class OciLayoutStore implements ContentStore {
  readonly root: string;
  readonly #lockTimeoutMs: number | undefined;
  /** Serialises this process's own index updates before they contend for the file lock. */
  #queue: Promise<unknown> = Promise.resolve();
  #quarantineReady = false;

  constructor(root: string, lockTimeoutMs: number | undefined) {
    this.root = root;
    this.#lockTimeoutMs = lockTimeoutMs;
  }

  blobPath(digest: Digest): string {
    return blobPathIn(this.root, digest);
  }

  async ingest(
    expected: Descriptor,
    untrustedBody: Readable | AsyncIterable<Uint8Array>,
    options: IngestOptions = {},
  ): Promise<void> {
    const target = this.#target(expected);
    if (await this.has(expected)) {
      // Already trusted: do not read a byte of the new body.
      if (typeof (untrustedBody as Partial<Readable>).destroy === 'function') (untrustedBody as Readable).destroy();
      return;
    }
    await ingestStream(target, untrustedBody, options);
  }

  async ingestBytes(expected: Descriptor, untrustedBytes: Uint8Array): Promise<void> {
    const target = this.#target(expected);
    const subject = `blob ${target.digest}`;
    if (untrustedBytes.length !== target.size) {
      throw mismatch(
        'SIZE_MISMATCH',
        subject,
        'size mismatch',
        `${target.size} bytes`,
        `${untrustedBytes.length} bytes`,
      );
    }
    const alg = digestAlgorithm(target.digest);
    const got = `${alg}:${createHash(alg).update(untrustedBytes).digest('hex')}`;
    if (got !== target.digest) throw mismatch('DIGEST_MISMATCH', subject, 'digest mismatch', target.digest, got);
    if (await this.has(expected)) return;
    await ingestVerifiedBytes(target, untrustedBytes);
  }

  #target(expected: Descriptor): { quarantineDir: string; blobPath: string; digest: Digest; size: number } {
    const digest = parseDigest(expected.digest, 'descriptor digest', true);
    if (!Number.isSafeInteger(expected.size) || expected.size < 0) {
      throw new CustomsError(
        'MANIFEST_INVALID',
        `blob ${digest}: invalid size: expected a non-negative integer, got ${expected.size}`,
      );
    }
    const quarantineDir = join(this.root, QUARANTINE_DIR);
    if (!this.#quarantineReady) {
      try {
        mkdirSync(quarantineDir, { recursive: true, mode: 0o755 });
      } catch (err) {
        throw ioError(`store ${this.root}`, 'cannot create the quarantine directory', err);
      }
      this.#quarantineReady = true;
    }
    return { quarantineDir, blobPath: this.blobPath(digest), digest, size: expected.size };
  }

  has(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    return promised(() => {
      const path = this.blobPath(desc.digest);
      try {
        const st = lstatSync(path);
        return st.isFile() && st.size === desc.size;
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
        throw ioError(`blob ${desc.digest}`, 'cannot stat', err);
      }
    });
  }

  readBlob(digest: Digest, maxBytes: number): Promise<Buffer> {
    return promised(() => {
      try {
        return readFileCapped(this.blobPath(digest), maxBytes, `blob ${digest}`);
      } catch (err) {
        throw this.#readError(digest, err);
      }
    });
  }

  async open(digest: Digest): Promise<Readable> {
    const path = this.blobPath(digest);
    try {
      // O_NOFOLLOW: a symlink planted in blobs/ must not make customs read a file outside the store.
      const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      return fh.createReadStream({ highWaterMark: 1024 * 1024 });
    } catch (err) {
      throw this.#readError(digest, err);
    }
  }

  async verifyBlob(desc: Pick<Descriptor, 'digest' | 'size'>, signal?: AbortSignal): Promise<void> {
    const digest = parseDigest(desc.digest, 'descriptor digest', true);
    let got: { digest: string; size: number };
    try {
      got = await hashFile(this.blobPath(digest), digestAlgorithm(digest), signal);
    } catch (err) {
      signal?.throwIfAborted();
      throw this.#readError(digest, err);
    }
    const subject = `blob ${digest}`;
    if (got.size !== desc.size)
      throw mismatch('SIZE_MISMATCH', subject, 'size mismatch', `${desc.size} bytes`, `${got.size} bytes`);
    if (got.digest !== digest) {
      throw mismatch('DIGEST_MISMATCH', subject, 'digest mismatch', digest, got.digest, {
        hint: 'The stored blob was changed after it was ingested; run `customs fsck` and pull the image again.',
      });
    }
  }

  #readError(digest: Digest, err: unknown): CustomsError {
    if (err instanceof CustomsError) return err;
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
      return new CustomsError('IMAGE_NOT_IN_STORE', `blob ${digest}: not in store ${this.root}`, {
        hint: 'Pull the image into this store first.',
        details: { digest },
      });
    }
    if (isErrno(err, 'ELOOP')) {
      return new CustomsError('STORE_CORRUPT', `blob ${digest}: is a symbolic link, not a blob`, {
        hint: 'Someone planted a link in blobs/; run `customs fsck` and remove it.',
        details: { digest },
      });
    }
    return ioError(`blob ${digest}`, 'cannot read', err);
  }

  /** Current index.json (no lock: the file is replaced atomically). */
  readIndex(signal?: AbortSignal): Promise<IndexDocument> {
    return promised(() => {
      const path = join(this.root, INDEX_FILE);
      let bytes: Buffer;
      try {
        bytes = readFileCapped(path, MAX_INDEX_BYTES, path, signal);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) {
          throw new CustomsError('STORE_CORRUPT', `store ${this.root}: index.json is missing`, {
            hint: 'An OCI image layout needs index.json; restore it or recreate the store.',
          });
        }
        throw ioError(path, 'cannot read', err);
      }
      return parseIndexDocument(bytes, path);
    });
  }

  async list(): Promise<readonly StoreEntry[]> {
    return (await this.readIndex()).entries.map((e) => ({ name: e.name, descriptor: e.descriptor }));
  }

  async resolve(name: string): Promise<Descriptor | undefined> {
    const found = (await this.readIndex()).entries.filter((e) => e.name === name);
    if (found.length > 1 && new Set(found.map((e) => e.descriptor.digest)).size > 1) {
      // Two entries with one name and different content: which one is meant is ambiguous, so neither is.
      throw new CustomsError(
        'STORE_CORRUPT',
        `store ${this.root}: tag ${JSON.stringify(name)} names ${found.length} different descriptors`,
        {
          hint: `Remove the duplicates with \`customs untag ${name}\` and pull again.`,
        },
      );
    }
    return found[0]?.descriptor;
  }

  async tag(name: string, desc: Descriptor): Promise<void> {
    assertRefName(name);
    parseDigest(desc.digest, 'descriptor digest', true);
    await this.#locked(async () => {
      // Verified under the lock: a gc cannot remove the blobs between this check and the index write.
      const walk = walkReferences([desc], (d) => this.blobPath(d));
      const problem = walk.problems[0];
      if (problem !== undefined) {
        const d = problem.descriptor;
        const what =
          problem.kind === 'missing-blob'
            ? 'blob missing'
            : problem.kind === 'size-mismatch'
              ? `size mismatch: expected ${d.size} bytes, got ${problem.actual} bytes`
              : 'manifest does not parse';
        throw new CustomsError('STORE_CORRUPT', `tag ${name}: blob ${d.digest} (${d.mediaType}): ${what}`, {
          hint: problem.kind === 'missing-blob' ? MISSING_BLOB_HINT : 'Run `customs fsck`, then pull the image again.',
          details: { digest: d.digest, name },
          ...(problem.kind === 'unparsable' ? { cause: problem.error } : {}),
        });
      }
      const doc = await this.readIndex();
      await this.#writeIndex(withTag(doc, name, desc));
    });
  }

  async untag(name: string): Promise<boolean> {
    return this.#locked(async () => {
      const doc = await this.readIndex();
      const next = withoutTag(doc, name);
      if (next.entries.length === doc.entries.length) return false;
      await this.#writeIndex(next);
      return true;
    });
  }

  async discard(digests: readonly Digest[]): Promise<number> {
    if (digests.length === 0) return 0;
    return this.#locked(async () => {
      const doc = await this.readIndex();
      const walk = walkReferences(
        doc.entries.map((e) => e.descriptor),
        (d) => this.blobPath(d),
      );
      let removed = 0;
      for (const digest of digests) {
        if (walk.reachable.has(digest)) continue; // another image refers to it now: it stays
        try {
          await unlink(this.blobPath(digest));
          removed++;
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw ioError(`discard ${digest}`, 'cannot remove', err);
        }
      }
      return removed;
    });
  }

  async gc(): Promise<GcReport> {
    return this.#locked(async () => collectGarbage(this.root, await this.readIndex()));
  }

  async fsck(signal?: AbortSignal): Promise<FsckReport> {
    return fsckLayout(this.root, signal);
  }

  async #writeIndex(doc: IndexDocument): Promise<void> {
    const path = join(this.root, INDEX_FILE);
    await writeFileAtomic(path, serializeIndexDocument(doc)).catch((err: unknown) => {
      throw ioError(path, 'cannot write', err);
    });
  }

  /** Run `fn` holding the store lock (and this process's queue), releasing it whatever happens. */
  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      // A layout written by another tool has no .customs/ yet.
      try {
        mkdirSync(join(this.root, CUSTOMS_DIR), { recursive: true, mode: 0o755 });
      } catch (err) {
        throw ioError(`store ${this.root}`, 'cannot create the lock directory', err);
      }
      const lock = await acquireLock(join(this.root, LOCK_FILE), lockOptions({ lockTimeoutMs: this.#lockTimeoutMs }));
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
