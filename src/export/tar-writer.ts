/**
 * A deterministic POSIX ustar writer for the archives customs exports (docker-archive, oci-archive).
 *
 * Deterministic means the same image always gives the same bytes: entries are written in bytewise-sorted name
 * order, with mtime 0, uid/gid 0, empty user/group names and fixed modes (0644 files, 0755 directories). Only
 * regular files and directories are ever written; there is no way to emit a link, a device or a PAX header, so
 * an archive customs writes never asks a reader to resolve anything (the reader-side attacks of CVE-2014-9356
 * and friends need links). Names are limited to what ustar holds (≤ 100 bytes, or prefix ≤ 155 + name ≤ 100),
 * which every name customs writes (`blobs/sha256/<64 hex>`, `manifest.json`, ...) fits.
 *
 * Source: POSIX.1-2017 pax, "ustar Interchange Format".
 */
import { CustomsError } from '../errors.js';

export const TAR_BLOCK_BYTES = 512;
/** Largest size the 11 octal digits of a ustar size field hold; beyond it the GNU base-256 form is used. */
const MAX_OCTAL_SIZE = 0o77777777777;

/** One entry of an archive to write. `body` must yield exactly `size` bytes (checked). */
export type TarEntrySpec =
  | { readonly type: 'dir'; readonly name: string }
  | {
      readonly type: 'file';
      readonly name: string;
      readonly size: number;
      /** The body's chunks (sync or async); called once, when the entry is written. */
      readonly body: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    };

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function splitName(name: string): { prefix: string; name: string } {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { prefix: '', name };
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '')
      return { prefix, name: rest };
  }
  throw new CustomsError('INTERNAL', `tar writer: name does not fit a ustar header: ${JSON.stringify(name)}`);
}

/** The 512-byte ustar header for one entry, checksum included. */
export function ustarHeader(entry: { type: 'file' | 'dir'; name: string; size: number }): Buffer {
  const h = Buffer.alloc(TAR_BLOCK_BYTES, 0);
  const fullName = entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const { prefix, name } = splitName(fullName);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(entry.type === 'dir' ? 0o755 : 0o644, 8), 100, 8, 'latin1');
  h.write(octal(0, 8), 108, 8, 'latin1'); // uid
  h.write(octal(0, 8), 116, 8, 'latin1'); // gid
  const size = entry.type === 'dir' ? 0 : entry.size;
  if (!Number.isSafeInteger(size) || size < 0) throw new CustomsError('INTERNAL', `tar writer: bad size ${size}`);
  if (size <= MAX_OCTAL_SIZE) {
    h.write(octal(size, 12), 124, 12, 'latin1');
  } else {
    // GNU base-256: high bit of the first byte set, big-endian value in the rest (Go archive/tar does the same).
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    h[124] = 0x80;
  }
  h.write(octal(0, 12), 136, 12, 'latin1'); // mtime: the epoch, for reproducible archives
  h.write('        ', 148, 8, 'latin1'); // checksum placeholder (spaces while summing)
  h.write(entry.type === 'dir' ? '5' : '0', 156, 1, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.write(octal(0, 8), 329, 8, 'latin1'); // devmajor
  h.write(octal(0, 8), 337, 8, 'latin1'); // devminor
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The archive's bytes, in order: entries sorted bytewise by name, each header followed by its body and zero
 * padding, then the two zero blocks of the end-of-archive marker. Refuses duplicate names and a body that
 * yields more or fewer bytes than declared (INTERNAL: the caller's plan was wrong, never write a torn archive).
 */
export async function* tarStream(entries: readonly TarEntrySpec[], signal?: AbortSignal): AsyncGenerator<Buffer> {
  const sorted = [...entries].sort((a, b) => compareBytes(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.name === sorted[i - 1]?.name) {
      throw new CustomsError('INTERNAL', `tar writer: duplicate entry ${JSON.stringify(sorted[i]?.name)}`);
    }
  }
  for (const entry of sorted) {
    signal?.throwIfAborted();
    if (entry.type === 'dir') {
      yield ustarHeader({ type: 'dir', name: entry.name, size: 0 });
      continue;
    }
    yield ustarHeader({ type: 'file', name: entry.name, size: entry.size });
    let written = 0;
    for await (const chunk of entry.body()) {
      signal?.throwIfAborted();
      written += chunk.length;
      if (written > entry.size) break;
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    if (written !== entry.size) {
      throw new CustomsError(
        'INTERNAL',
        `tar writer: ${entry.name}: body length: expected ${entry.size} bytes, got ${written > entry.size ? 'more' : written}`,
      );
    }
    const pad = (TAR_BLOCK_BYTES - (entry.size % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
    if (pad > 0) yield Buffer.alloc(pad, 0);
  }
  yield Buffer.alloc(2 * TAR_BLOCK_BYTES, 0);
}
