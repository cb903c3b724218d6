/**
 * Paths and the on-disk shape of an OCI image layout (image-spec image-layout.md): `oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`. customs keeps its own bookkeeping (quarantine, lock) under `.customs/` inside the layout
 * so that temp files live on the same filesystem as `blobs/` and a rename into place is atomic.
 */
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { readdir } from '../internal/fsp.js';
import { join } from 'node:path';
import { CustomsError } from '../errors.js';
import { fsyncDir, TEMP_PREFIX, writeFileStaged } from '../internal/atomic.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { readRegularFileSync } from '../internal/read-file.js';
import { KiB } from '../internal/units.js';
import { digestAlgorithm, digestHex, parseDigest, type Digest } from '../ref/index.js';
import { emptyIndexDocument, serializeIndexDocument } from './index-file.js';
import { ioError, isErrno } from './io.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BLOBS_DIR = 'blobs';
/** customs' own bookkeeping inside the layout; other tools (skopeo, umoci) ignore unknown top-level entries. */
export const CUSTOMS_DIR = '.customs';
export const QUARANTINE_DIR = join(CUSTOMS_DIR, 'quarantine');
export const LOCK_FILE = join(CUSTOMS_DIR, 'lock');

/** The one layout version customs writes (image-layout.md "oci-layout file"). */
export const IMAGE_LAYOUT_VERSION = '1.0.0';
/** `oci-layout` is a tiny JSON file; anything bigger is not one. */
const MAX_OCI_LAYOUT_BYTES = 4 * KiB;
/** An index.json an interrupted create left: ~100 bytes with no entries; anything bigger holds something. */
const MAX_EMPTY_INDEX_BYTES = 4 * KiB;

/** Digest algorithms that may appear as directories under `blobs/`. */
export const BLOB_ALGORITHMS = ['sha256', 'sha512'] as const;

const NOT_A_LAYOUT_HINT =
  'Point the store at an empty directory (it will be created as an OCI image layout) or at an existing OCI image layout.';

/**
 * Path of the blob file for `digest`. The digest is parsed again here, whatever its static type says, so a
 * string like `sha256:../../etc/passwd` can never become a path (path traversal through a digest).
 */
export function blobPathIn(root: string, digest: Digest): string {
  const d = parseDigest(digest, 'blob digest');
  return join(root, BLOBS_DIR, digestAlgorithm(d), digestHex(d));
}

/**
 * Validate an existing layout or create a new one. With `create`, an absent or empty directory (or one left
 * half-initialised by an interrupted create) becomes a layout; the caller holds the store lock. Without it,
 * anything that is not a layout is refused with STORE_CORRUPT. Never modifies an existing layout. The common path
 * (a listing, and the small `oci-layout` read only if it is a regular file) is synchronous, as
 * src/internal/atomic.ts explains.
 */
export async function validateLayout(root: string): Promise<'layout' | 'absent' | 'initialisable'> {
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'absent';
    if (isErrno(err, 'ENOTDIR')) throw notALayout(root, 'not a directory');
    throw ioError(`store ${root}`, 'cannot read the directory', err);
  }
  if (!entries.includes(OCI_LAYOUT_FILE)) {
    if (await isInitialisable(root, entries)) return 'initialisable';
    // Another process may have finished creating the layout (the marker comes last) and begun filling it since
    // the listing above: what looked like a half-made layout is now a real one. The marker is never removed, so
    // one look after the check settles it.
    if (!hasEntry(root, OCI_LAYOUT_FILE)) throw notALayout(root, `no ${OCI_LAYOUT_FILE} file`);
  }
  checkOciLayoutFile(root);
  return 'layout';
}

function hasEntry(root: string, name: string): boolean {
  try {
    lstatSync(join(root, name));
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw ioError(`store ${root}`, `cannot read ${name}`, err);
  }
}

function checkOciLayoutFile(root: string): void {
  const path = join(root, OCI_LAYOUT_FILE);
  const notRegular = (): CustomsError => notALayout(root, `${OCI_LAYOUT_FILE} is not a regular file`);
  let bytes: Buffer;
  try {
    // Checked on the file that is read (a symlink or FIFO swapped in after a check by path is refused, not read).
    bytes = readRegularFileSync(path, {
      maxBytes: MAX_OCI_LAYOUT_BYTES,
      noFollow: true,
      notRegular,
      tooLarge: (size) =>
        notALayout(root, `${OCI_LAYOUT_FILE} is ${size ?? `over ${MAX_OCI_LAYOUT_BYTES}`} bytes, not a layout marker`),
    });
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    if (isErrno(err, 'ELOOP')) throw notRegular(); // a symbolic link
    throw ioError(`store ${root}`, `cannot read ${OCI_LAYOUT_FILE}`, err);
  }
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes, path);
  } catch (err) {
    throw notALayout(root, `${OCI_LAYOUT_FILE} is not valid JSON`, err);
  }
  const version = isJsonObject(doc) ? doc.imageLayoutVersion : undefined;
  // image-layout.md: imageLayoutVersion "1.0.0"; a different major version means a layout customs cannot read.
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new CustomsError(
      'STORE_CORRUPT',
      `store ${root}: unsupported image layout version: expected ${IMAGE_LAYOUT_VERSION}, got ${JSON.stringify(version) ?? 'none'}`,
      { hint: NOT_A_LAYOUT_HINT, details: { root, expected: IMAGE_LAYOUT_VERSION } },
    );
  }
}

/**
 * True for a directory that is empty or holds only what an interrupted `create` leaves behind (our
 * bookkeeping dir, an index.json with no entries, empty blob directories, temp files): creating the layout
 * over it loses nothing.
 */
async function isInitialisable(root: string, entries: readonly string[]): Promise<boolean> {
  for (const name of entries) {
    if (name === CUSTOMS_DIR || name.startsWith(TEMP_PREFIX)) continue;
    if (name === BLOBS_DIR) {
      if (!(await isEmptyBlobTree(join(root, BLOBS_DIR)))) return false;
      continue;
    }
    if (name === INDEX_FILE) {
      try {
        // Read like every small store file: a FIFO or symlink planted here is refused, not waited on or followed.
        const bytes = readRegularFileSync(join(root, INDEX_FILE), {
          maxBytes: MAX_EMPTY_INDEX_BYTES,
          noFollow: true,
          notRegular: () => new Error('not a regular file'),
          tooLarge: () => new Error('too large for an empty index'),
        });
        const doc = parseStrictJsonBytes(bytes, INDEX_FILE);
        if (!isJsonObject(doc) || !Array.isArray(doc.manifests) || doc.manifests.length !== 0) return false;
      } catch {
        return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

async function isEmptyBlobTree(dir: string): Promise<boolean> {
  try {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) return false;
      if ((await readdir(join(dir, e.name))).length !== 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Write the layout skeleton. `index.json` is written only when absent and `oci-layout` last, so a crash at
 * any point leaves a directory `validateLayout` still calls initialisable.
 */
export async function createLayout(root: string): Promise<void> {
  try {
    mkdirSync(join(root, BLOBS_DIR, 'sha256'), { recursive: true, mode: 0o755 });
    let hasIndex = true;
    try {
      lstatSync(join(root, INDEX_FILE));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      hasIndex = false;
    }
    // The files are written and fsynced at once (each fsync waits on the disk; in a row they were most of a
    // first pull's set-up), then committed in order: index.json durable before the oci-layout marker appears,
    // so a layout marker always comes with its index.
    const [blobs, index, marker] = await Promise.allSettled([
      fsyncDir(join(root, BLOBS_DIR)),
      hasIndex
        ? Promise.resolve(undefined)
        : writeFileStaged(join(root, INDEX_FILE), serializeIndexDocument(emptyIndexDocument())),
      writeFileStaged(join(root, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION })),
    ]);
    if (blobs.status === 'rejected' || index.status === 'rejected' || marker.status === 'rejected') {
      if (index.status === 'fulfilled') await index.value?.discard();
      if (marker.status === 'fulfilled') await marker.value.discard();
      throw [blobs, index, marker].find((r) => r.status === 'rejected')?.reason;
    }
    if (index.value !== undefined) {
      await index.value.commit();
      await fsyncDir(root);
    }
    await marker.value.commit();
    await fsyncDir(root);
  } catch (err) {
    throw ioError(`store ${root}`, 'cannot create the image layout', err);
  }
}

function notALayout(root: string, what: string, cause?: unknown): CustomsError {
  return new CustomsError('STORE_CORRUPT', `store ${root}: not an OCI image layout: ${what}`, {
    hint: NOT_A_LAYOUT_HINT,
    details: { root },
    ...(cause === undefined ? {} : { cause }),
  });
}
