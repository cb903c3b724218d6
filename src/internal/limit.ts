/**
 * Capped reads of untrusted streams. A body is read up to `maxBytes + 1` bytes and no further: one byte past
 * the cap is enough to prove the sender lied, and reading more would let an endless body fill memory or disk.
 */
import type { Readable } from 'node:stream';
import { CustomsError } from '../errors.js';

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

/** TOO_LARGE: more than `maxBytes` of `subject`. */
export function tooLarge(subject: string, maxBytes: number): CustomsError {
  return new CustomsError('TOO_LARGE', `${subject}: body too large: expected at most ${maxBytes} bytes, got more`, {
    details: { limitBytes: maxBytes },
  });
}
