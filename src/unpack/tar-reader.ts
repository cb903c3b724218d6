/**
 * A strict streaming tar reader (POSIX ustar + pax, GNU long names) for layer tars.
 *
 * Why hand-written instead of tar-stream@3: tar-stream is built to be lenient (it accepts v7 headers without magic,
 * reads PAX records without a size cap or duplicate-key check, keeps NULs in PAX paths, and treats typeflags it does
 * not know as files), and every leniency is a place where customs and another parser (Go archive/tar in containerd,
 * GNU tar, umoci) could disagree about what a layer contains. Being strict is simpler here than patching around a
 * lenient library, and keeps the worker free of node_modules (it runs with only dist/src bound in).
 *
 * Refused (ARCHIVE_INVALID unless noted): a bad header checksum; missing ustar/GNU magic (so non-tar payloads fail on
 * the first block); negative or non-octal numbers; data ending inside a header or body; a PAX header or GNU long
 * name/link over the limit (LIMIT_EXCEEDED); malformed PAX records, duplicate PAX keys, NUL in a PAX path or
 * linkpath; GNU sparse files and other typeflags customs does not apply; a non-zero size on header-only types (Go
 * skips such bodies, GNU tar reads them: a differential); both a PAX path and a GNU long name for one entry; meta
 * headers not followed by an entry; non-UTF-8 names; non-zero bytes after the end-of-archive marker.
 *
 * Sources: POSIX.1-2017 pax "ustar Interchange Format" and "pax Extended Header"; Go archive/tar reader.go
 * (parsePAXRecord, validPAXRecord, readGNUSparse); GNU tar manual "Basic Tar Format".
 */
import { CustomsError } from '../errors.js';
import { ByteSource, TruncatedError } from './byte-source.js';

export const BLOCK = 512;

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One archive entry's metadata, after PAX/GNU overrides. Paths are raw and untrusted. */
export interface TarEntry {
  readonly untrustedPath: string;
  readonly untrustedLinkname: string;
  readonly type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky (`& 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Body bytes that follow (0 for everything but files). */
  readonly size: number;
  /** Seconds since the epoch (may be fractional from PAX). */
  readonly mtime: number;
  /** xattr names seen (SCHILY.xattr.* / LIBARCHIVE.xattr.*); values are not kept. */
  readonly xattrs: readonly string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Shared by the layer reader and the outer-archive indexer of `customs load` (ops/load.ts), so both refuse the
// same malformed headers with the same checks.
function invalid(what: string, details: Record<string, unknown> = {}): CustomsError {
  return new CustomsError('ARCHIVE_INVALID', `tar: ${what}`, {
    details,
    hint: 'The tar stream is not well-formed; customs refuses ambiguous archives rather than guess.',
  });
}

export function decodeName(bytes: Buffer, field: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalid(`${field} is not valid UTF-8`);
  }
}

/** Bytes of a NUL-terminated header field. */
export function cstring(block: Buffer, start: number, len: number): Buffer {
  const f = block.subarray(start, start + len);
  const nul = f.indexOf(0);
  return nul === -1 ? f : f.subarray(0, nul);
}

/**
 * A numeric header field: octal digits with optional leading spaces/zeros and trailing NUL/space, or GNU base-256
 * (high bit set). Negative base-256 is refused. Empty means 0.
 */
export function parseNumeric(block: Buffer, start: number, len: number, field: string): number {
  const f = block.subarray(start, start + len);
  const b0 = f[0] ?? 0;
  if ((b0 & 0x80) !== 0) {
    // The second-highest bit is the sign of a base-256 number (GNU tar, Go archive/tar).
    if ((b0 & 0x40) !== 0) throw invalid(`negative ${field}`, { field });
    let v = BigInt(b0 & 0x7f);
    for (let i = 1; i < f.length; i++) v = (v << 8n) | BigInt(f[i] ?? 0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${field} out of range`, { field });
    return Number(v);
  }
  const s = f
    .toString('latin1')
    .replace(/^[ ]+/, '')
    .replace(/[\0 ]+$/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw invalid(`${field} is not an octal number`, { field, got: JSON.stringify(s) });
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw invalid(`${field} out of range`, { field });
  return v;
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Verify the header checksum (unsigned sum, or the historic signed sum Go also accepts) and the magic. */
export function checkHeader(block: Buffer): 'ustar' | 'gnu' {
  const stored = block
    .subarray(148, 156)
    .toString('latin1')
    .replace(/^[ ]+/, '')
    .replace(/[\0 ]+$/, '');
  if (!/^[0-7]{1,7}$/.test(stored)) throw invalid('header checksum field is not octal: not a tar archive');
  const want = parseInt(stored, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += c;
    signed += c < 128 ? c : c - 256;
  }
  if (want !== unsigned && want !== signed) {
    throw invalid(`bad header checksum: expected ${unsigned}, got ${want}`, { expected: unsigned, got: want });
  }
  const magic = block.subarray(257, 265).toString('latin1');
  if (magic === 'ustar\x0000') return 'ustar';
  if (magic === 'ustar  \x00') return 'gnu';
  throw invalid('missing ustar magic: not a POSIX or GNU tar archive (v7 tar is not accepted)');
}

export interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs: string[];
}

const PAX_DECIMAL = /^[0-9]+$/;
const PAX_TIME = /^-?[0-9]+(\.[0-9]+)?$/;

/** Parse PAX records `"%d %s=%s\n"` strictly (POSIX pax "pax Extended Header File Format"). */
export function parsePax(untrusted: Buffer): PaxOverrides {
  const out: PaxOverrides = { xattrs: [] };
  const seen = new Set<string>();
  let off = 0;
  while (off < untrusted.length) {
    const sp = untrusted.indexOf(0x20, off);
    if (sp === -1 || sp - off > 20) throw invalid('malformed PAX record: no length');
    const lenStr = untrusted.subarray(off, sp).toString('latin1');
    if (!/^[1-9][0-9]*$/.test(lenStr)) throw invalid('malformed PAX record: bad length');
    const len = parseInt(lenStr, 10);
    if (off + len > untrusted.length || len <= lenStr.length + 2) throw invalid('malformed PAX record: bad length');
    const rec = untrusted.subarray(sp + 1, off + len);
    if (rec[rec.length - 1] !== 0x0a) throw invalid('malformed PAX record: no trailing newline');
    const kv = rec.subarray(0, rec.length - 1);
    const eq = kv.indexOf(0x3d);
    if (eq <= 0) throw invalid('malformed PAX record: no key');
    const key = decodeName(kv.subarray(0, eq), 'PAX key');
    const rawValue = kv.subarray(eq + 1);
    if (key.includes('\0')) throw invalid('NUL in PAX key');
    if (seen.has(key)) throw invalid(`duplicate PAX key ${JSON.stringify(key)}`);
    seen.add(key);
    off += len;
    if (key.startsWith('GNU.sparse.')) throw invalid('GNU sparse files are not supported');
    if (key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.')) {
      out.xattrs.push(key.slice(key.indexOf('xattr.') + 6));
      continue;
    }
    switch (key) {
      case 'path':
      case 'linkpath': {
        // Go archive/tar: "PAX records with NUL in path are invalid"; a NUL would truncate the name in C tools.
        if (rawValue.includes(0)) throw invalid(`NUL in PAX ${key}`);
        const v = decodeName(rawValue, `PAX ${key}`);
        if (key === 'path') out.path = v;
        else out.linkpath = v;
        break;
      }
      case 'size':
      case 'uid':
      case 'gid': {
        const v = rawValue.toString('latin1');
        if (!PAX_DECIMAL.test(v)) throw invalid(`malformed PAX ${key}: ${JSON.stringify(v.slice(0, 40))}`);
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw invalid(`PAX ${key} out of range`);
        out[key] = n;
        break;
      }
      case 'mtime': {
        const v = rawValue.toString('latin1');
        if (!PAX_TIME.test(v)) throw invalid(`malformed PAX mtime`);
        out.mtime = Number(v);
        break;
      }
      default:
        // atime, ctime, uname, gname, comment, charset, SCHILY.* and vendor keys: not applied (POSIX: ignore
        // unknown keywords). Their values are still required to be well-formed records above.
        break;
    }
  }
  return out;
}

/** Content of a GNU 'L'/'K' body: bytes up to the first NUL, and nothing but NULs after it. */
function parseGnuLong(untrusted: Buffer, what: string): string {
  const nul = untrusted.indexOf(0);
  const name = nul === -1 ? untrusted : untrusted.subarray(0, nul);
  if (nul !== -1 && !isZeroBlock(untrusted.subarray(nul))) throw invalid(`NUL inside GNU long ${what}`);
  return decodeName(name, `GNU long ${what}`);
}

const TYPEFLAGS: Readonly<Record<string, EntryType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file (POSIX)
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

export interface TarReaderLimits {
  readonly maxMetaHeaderBytes: number;
}

/**
 * Iterate entries. After each yielded entry with size > 0, the caller must consume the body with `body()` (or
 * `skipBody()`) before asking for the next entry.
 */
export class StrictTarReader {
  readonly #src: ByteSource;
  readonly #limits: TarReaderLimits;
  #pendingBody = 0;
  #pendingPad = 0;
  #done = false;

  constructor(decompressed: AsyncIterable<Buffer>, limits: TarReaderLimits) {
    this.#src = new ByteSource(decompressed);
    this.#limits = limits;
  }

  async #block(): Promise<Buffer | null> {
    try {
      return await this.#src.readExact(BLOCK);
    } catch (err) {
      if (err instanceof TruncatedError) throw invalid('truncated header block');
      throw err;
    }
  }

  async #meta(size: number, what: string): Promise<Buffer> {
    if (size > this.#limits.maxMetaHeaderBytes) {
      throw new CustomsError(
        'LIMIT_EXCEEDED',
        `layer tar: ${what} too large: expected at most ${this.#limits.maxMetaHeaderBytes} bytes, got ${size}`,
        { details: { limitBytes: this.#limits.maxMetaHeaderBytes, got: size } },
      );
    }
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    let buf: Buffer | null;
    try {
      buf = padded === 0 ? Buffer.alloc(0) : await this.#src.readExact(padded);
    } catch (err) {
      if (err instanceof TruncatedError) throw invalid(`truncated ${what}`);
      throw err;
    }
    if (buf === null) throw invalid(`truncated ${what}`);
    return buf.subarray(0, size);
  }

  /** The next entry, or null at the end-of-archive marker. */
  async next(): Promise<TarEntry | null> {
    if (this.#pendingBody > 0 || this.#pendingPad > 0) throw new Error('tar reader: body not consumed');
    if (this.#done) return null;
    let pax: PaxOverrides | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const block = await this.#block();
      if (block === null) {
        // A clean end at a header boundary without the two zero blocks: Go archive/tar accepts it and umoci writes
        // such layers (it never closes its tar writer), so it is accepted. A layer cut at a boundary is still
        // caught: the diff_id covers the whole uncompressed stream.
        if (pax !== undefined || longName !== undefined || longLink !== undefined) {
          throw invalid('extended header not followed by an entry');
        }
        this.#done = true;
        return null;
      }
      if (isZeroBlock(block)) {
        if (pax !== undefined || longName !== undefined || longLink !== undefined) {
          throw invalid('extended header not followed by an entry');
        }
        await this.#finish();
        return null;
      }
      const flavour = checkHeader(block);
      const flag = String.fromCharCode(block[156] as number);
      const size = parseNumeric(block, 124, 12, 'size');
      if (flag === 'x') {
        if (pax !== undefined) throw invalid('two PAX headers for one entry');
        pax = parsePax(await this.#meta(size, 'PAX header'));
        continue;
      }
      if (flag === 'g') {
        // Global headers are validated and ignored: customs applies no global state (as Go, containerd, moby do).
        // A global `path` would be honoured by some tools and not others, so it is refused.
        const g = parsePax(await this.#meta(size, 'PAX global header'));
        if (g.path !== undefined || g.linkpath !== undefined) throw invalid('path in a PAX global header');
        continue;
      }
      if (flag === 'L') {
        if (longName !== undefined) throw invalid('two GNU long names for one entry');
        longName = parseGnuLong(await this.#meta(size, 'GNU long name'), 'name');
        continue;
      }
      if (flag === 'K') {
        if (longLink !== undefined) throw invalid('two GNU long link names for one entry');
        longLink = parseGnuLong(await this.#meta(size, 'GNU long link name'), 'link name');
        continue;
      }
      const type = TYPEFLAGS[flag];
      if (type === undefined) {
        throw invalid(`unsupported typeflag ${JSON.stringify(flag)}`, { typeflag: flag });
      }
      let name = decodeName(cstring(block, 0, 100), 'name');
      if (flavour === 'ustar') {
        const prefix = decodeName(cstring(block, 345, 155), 'prefix');
        if (prefix !== '') name = `${prefix}/${name}`;
      }
      if (pax?.path !== undefined && longName !== undefined) throw invalid('both a PAX path and a GNU long name');
      if (pax?.linkpath !== undefined && longLink !== undefined) {
        throw invalid('both a PAX linkpath and a GNU long link name');
      }
      const path = pax?.path ?? longName ?? name;
      const linkname = pax?.linkpath ?? longLink ?? decodeName(cstring(block, 157, 100), 'linkname');
      const entrySize = pax?.size ?? size;
      if (type !== 'file' && entrySize !== 0) {
        throw invalid(`non-zero size on a ${type} entry`, { path, size: entrySize });
      }
      if (path === '') throw invalid('empty entry name');
      const entry: TarEntry = {
        untrustedPath: path,
        untrustedLinkname: linkname,
        type,
        mode: parseNumeric(block, 100, 8, 'mode') & 0o7777,
        uid: pax?.uid ?? parseNumeric(block, 108, 8, 'uid'),
        gid: pax?.gid ?? parseNumeric(block, 116, 8, 'gid'),
        size: entrySize,
        mtime: pax?.mtime ?? parseNumeric(block, 136, 12, 'mtime'),
        xattrs: pax?.xattrs ?? [],
      };
      this.#pendingBody = entrySize;
      this.#pendingPad = (BLOCK - (entrySize % BLOCK)) % BLOCK;
      return entry;
    }
  }

  /** The current entry's body, in chunks; the padding is consumed after the last chunk. */
  async *body(): AsyncGenerator<Buffer> {
    const n = this.#pendingBody;
    this.#pendingBody = 0;
    try {
      yield* this.#src.stream(n);
      await this.#src.skip(this.#pendingPad);
      this.#pendingPad = 0;
    } catch (err) {
      if (err instanceof TruncatedError) throw invalid('truncated entry data');
      throw err;
    }
  }

  async skipBody(): Promise<void> {
    for await (const _ of this.body()) {
      /* discard */
    }
  }

  /** After the first zero block: a second zero block (or a clean end), then nothing but zero padding. */
  async #finish(): Promise<void> {
    this.#done = true;
    for await (const chunk of this.#src.rest()) {
      if (!isZeroBlock(chunk)) throw invalid('data after the end-of-archive marker');
    }
  }
}
