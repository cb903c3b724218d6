/**
 * Capped reads of untrusted streams. A body is read up to `maxBytes + 1` bytes and no further: one byte past
 * the cap is enough to prove the sender lied, and reading more would let an endless body fill memory or disk.
 */
import type { Readable } from 'node:stream';
import { CustomsError } from '../errors.js';
import { isBulkSource, type BulkSource } from './bulk.js';

/**
 * Read all of `untrustedBody` into memory, refusing more than `maxBytes`. The stream is destroyed as soon as the
 * cap is crossed. Throws TOO_LARGE with the subject named.
 */
export async function readCapped(
  untrustedBody: Readable | AsyncIterable<Uint8Array>,
  maxBytes: number,
  subject: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (isBulkSource(untrustedBody)) return collectBulk(untrustedBody, maxBytes, subject, signal);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of untrustedBody) {
      signal?.throwIfAborted();
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += buf.length;
      if (total > maxBytes) throw tooLarge(subject, maxBytes);
      chunks.push(buf);
    }
  } finally {
    const d = untrustedBody as Partial<Readable>;
    if (typeof d.destroy === 'function' && d.readableEnded !== true) d.destroy();
  }
  return Buffer.concat(chunks, total);
}

/**
 * `buf` (holding `n` bytes) in a buffer twice its size, but never larger than `limit` (a cap plus the one byte that
 * proves it crossed): how capped reads of unknown length grow.
 */
export function grown(buf: Buffer, n: number, limit: number): Buffer<ArrayBuffer> {
  const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, limit));
  buf.copy(bigger, 0, 0, n);
  return bigger;
}

/** TOO_LARGE: more than `maxBytes` of `subject`. */
export function tooLarge(subject: string, maxBytes: number): CustomsError {
  return new CustomsError('TOO_LARGE', `${subject}: body too large: expected at most ${maxBytes} bytes, got more`, {
    details: { limitBytes: maxBytes },
  });
}

/**
 * readCapped for a bulk source (a raw HTTP body: src/registry/bulk-get.ts): its bytes are read straight into one
 * growing buffer, without the stream machinery an async iterator needs (on a pull's path, where a manifest is
 * the only body read whole, that machinery cost a few ms of compiling Node's stream code).
 */
async function collectBulk(
  source: BulkSource,
  maxBytes: number,
  subject: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  let buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1));
  let n = 0;
  const sink = {
    space: (): Buffer => {
      if (n === buf.length) buf = grown(buf, n, maxBytes + 1);
      return buf.subarray(n);
    },
    filled: (k: number): void => {
      n += k;
      // One byte past the cap proves the sender lied; the buffer never grows beyond maxBytes + 1.
      if (n > maxBytes) throw tooLarge(subject, maxBytes);
    },
    wants: (): boolean => true,
    whenReady: (): Promise<void> => Promise.resolve(),
  };
  try {
    await source.pipeBulk(sink, signal);
  } catch (err) {
    (source as Partial<Readable>).destroy?.(); // as readCapped does: nothing more is read from it
    throw err;
  }
  return buf.subarray(0, n);
}
