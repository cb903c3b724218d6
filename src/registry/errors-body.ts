/**
 * Error bodies from registries (distribution-spec "Error Codes": `{"errors":[{"code","message","detail"}]}`).
 *
 * The body is untrusted and only ever used for a message: at most MAX_ERROR_BODY_BYTES are read (a hostile
 * registry can send an endless error page), it is parsed leniently (a broken error body must not hide the
 * status), and the text is sanitised for a terminal before anyone sees it.
 */
import type { Readable } from 'node:stream';
import { sanitizeForDisplay } from '../internal/redact.js';
import { KiB } from '../internal/units.js';

/** How much of an error body is read; enough for any real error document. */
export const MAX_ERROR_BODY_BYTES = 64 * KiB;

/** How much of the resulting message is shown. */
const MAX_ERROR_MESSAGE_CHARS = 300;

/**
 * Read at most MAX_ERROR_BODY_BYTES of `untrustedBody`, destroy the rest, and return a display-safe message
 * (undefined when the body is empty or unreadable). Never throws.
 */
export async function readErrorMessage(untrustedBody: Readable, signal?: AbortSignal): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of untrustedBody) {
      if (signal?.aborted === true) break;
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      const room = MAX_ERROR_BODY_BYTES - total;
      chunks.push(buf.length > room ? buf.subarray(0, room) : buf);
      total += Math.min(buf.length, room);
      if (total >= MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // A body that fails mid-way still leaves the status to report.
  } finally {
    if (!untrustedBody.readableEnded) {
      // undici reports an unfinished destroyed body as an 'error' event; nobody listens any more.
      untrustedBody.on('error', () => undefined);
      untrustedBody.destroy();
    }
  }
  return describeErrorBody(Buffer.concat(chunks, total).toString('utf8'));
}

/**
 * The message of a distribution-spec error document (`CODE: message; CODE: message`), or the start of the text
 * when it is not one. Sanitised and truncated; undefined for blank input.
 */
export function describeErrorBody(untrustedText: string): string | undefined {
  const text = untrustedText.trim();
  if (text === '') return undefined;
  let parts: string[] = [];
  try {
    const doc = JSON.parse(text) as unknown;
    const errors = typeof doc === 'object' && doc !== null ? (doc as { errors?: unknown }).errors : undefined;
    if (Array.isArray(errors)) {
      parts = errors.slice(0, 5).flatMap((e: unknown) => {
        if (typeof e !== 'object' || e === null) return [];
        const { code, message } = e as { code?: unknown; message?: unknown };
        const c = typeof code === 'string' ? code : undefined;
        const m = typeof message === 'string' ? message : undefined;
        if (c === undefined && m === undefined) return [];
        return [c !== undefined && m !== undefined ? `${c}: ${m}` : (c ?? m ?? '')];
      });
    }
  } catch {
    // Not JSON (an HTML error page from a proxy, say): show its start.
  }
  const message = parts.length > 0 ? parts.join('; ') : text;
  return sanitizeForDisplay(message.replace(/\s+/g, ' '), MAX_ERROR_MESSAGE_CHARS);
}
