/**
 * A raw tar writer for adversarial tests: every header field can be set to anything, including values a real tar
 * tool would never write (bad checksums, negative base-256 sizes, PAX records with NULs, missing magic).
 */
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';

export interface RawHeader {
  name: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  typeflag?: string;
  linkname?: string;
  magic?: 'ustar' | 'gnu' | 'none';
  prefix?: string;
  /** Replace the computed checksum with this value. */
  checksum?: number;
  /** Raw 12-byte size field (e.g. base-256 negative). */
  rawSize?: Buffer;
}

function put(block: Buffer, off: number, len: number, s: string): void {
  Buffer.from(s, 'utf8').subarray(0, len).copy(block, off);
}

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

/** One 512-byte header block. */
export function header(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  put(b, 0, 100, h.name);
  put(b, 100, 8, octal(h.mode ?? 0o644, 8));
  put(b, 108, 8, octal(h.uid ?? 0, 8));
  put(b, 116, 8, octal(h.gid ?? 0, 8));
  if (h.rawSize !== undefined) h.rawSize.copy(b, 124);
  else put(b, 124, 12, octal(h.size ?? 0, 12));
  put(b, 136, 12, octal(h.mtime ?? 1_700_000_000, 12));
  b[156] = (h.typeflag ?? '0').charCodeAt(0);
  put(b, 157, 100, h.linkname ?? '');
  const magic = h.magic ?? 'ustar';
  if (magic === 'ustar') put(b, 257, 8, 'ustar\x0000');
  else if (magic === 'gnu') put(b, 257, 8, 'ustar  \x00');
  if (h.prefix !== undefined) put(b, 345, 155, h.prefix);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  put(b, 148, 8, `${(h.checksum ?? sum).toString(8).padStart(6, '0')}\0 `);
  return b;
}

function pad(data: Buffer): Buffer {
  const rem = data.length % 512;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rem)]);
}

/** A header and its padded body. */
export function entry(h: RawHeader, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([header({ ...h, size: h.size ?? data.length }), pad(data)]);
}

export const file = (name: string, body: string | Buffer, mode = 0o644): Buffer =>
  entry({ name, mode, typeflag: '0' }, body);
export const dir = (name: string, mode = 0o755): Buffer => entry({ name, mode, typeflag: '5' });
export const symlink = (name: string, target: string): Buffer =>
  entry({ name, mode: 0o777, typeflag: '2', linkname: target });
export const hardlink = (name: string, target: string): Buffer =>
  entry({ name, mode: 0o644, typeflag: '1', linkname: target });

/** A PAX record `"%d key=value\n"` with a correct length. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const kv = Buffer.concat([Buffer.from(`${key}=`), typeof value === 'string' ? Buffer.from(value) : value]);
  let len = kv.length + 3;
  while (`${len} `.length + kv.length + 1 !== len) len = `${len} `.length + kv.length + 1;
  return Buffer.concat([Buffer.from(`${len} `), kv, Buffer.from('\n')]);
}

/** A PAX 'x' header carrying `records` (raw bytes, so malformed records can be built). */
export const pax = (records: Buffer): Buffer => entry({ name: 'PaxHeaders/x', typeflag: 'x' }, records);
/** A GNU 'L' long-name header. */
export const gnuLongName = (name: string | Buffer): Buffer =>
  entry({ name: '././@LongLink', typeflag: 'L', magic: 'gnu' }, Buffer.concat([Buffer.from(name), Buffer.alloc(1)]));

/** Entries followed by the two-zero-block end-of-archive marker. */
export function tar(...entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, Buffer.alloc(1024)]);
}

export const gzip = (b: Buffer): Buffer => gzipSync(b);

/** zstd via the CLI, as the engine decodes it. */
export function zstd(b: Buffer): Buffer {
  const r = spawnSync('/usr/bin/zstd', ['-q', '-c'], { input: b, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error('zstd failed');
  return r.stdout;
}
