/**
 * The byte stream `RegistryClient.fetch` returns: at most `size + 1` bytes of an unverified blob, resumed with
 * HTTP Range requests (RFC 9110 §14) when the transfer breaks, so the consumer sees one continuous sequence
 * from byte 0 and hashes all of it.
 *
 * What it verifies: lengths only (Content-Length on a 200, Content-Range on a 206, the byte count). It does
 * not verify content: the digest is the store's job (ContentStore.ingest), which is why the stream hands on
 * one byte past `size` before failing, so the consumer can see for itself that the body was too long.
 */
import { Readable } from 'node:stream';
import { copyInto, isBulkSource, type BulkSink, type BulkSource } from '../internal/bulk.js';
import { CustomsError, mismatch } from '../errors.js';
import { sanitizeForDisplay } from '../internal/redact.js';
import { errorCodeOf } from './retry.js';
import { abandonBody, type HttpResponse } from './transport.js';

/** Resumes of one blob transfer before the failure is reported. */
export const MAX_RESUMES = 3;

/** Mid-body failures worth a resume: the connection broke or went idle. Never an abort or a protocol lie. */
const RESUMABLE_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_BODY_TIMEOUT',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** True for body errors that a Range request may recover from. */
export function isResumableBodyError(err: unknown): boolean {
  if (err instanceof CustomsError) return false;
  const code = errorCodeOf(err);
  return code !== undefined && RESUMABLE_CODES.has(code);
}

export interface BlobStreamOptions {
  /** The first response: status 200, Content-Length already checked against `size`. */
  readonly first: HttpResponse;
  /** Expected size from the descriptor. */
  readonly size: number;
  /** Names the blob in messages, e.g. `registry/repo@sha256:…`. */
  readonly subject: string;
  /** Resumes allowed; default MAX_RESUMES. */
  readonly maxResumes?: number;
  /** Send the request again with `Range: bytes=<offset>-` (auth, redirects and status errors handled). */
  readonly reopen: (offset: number, signal?: AbortSignal) => Promise<HttpResponse>;
  /** Called before each resume (the client turns it into a `retry` event). */
  readonly onResume: (attempt: number, reason: string) => void;
  /** Translate a foreign body error into a CustomsError (transport.translate). */
  readonly translate: (err: unknown, url: URL) => unknown;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Parse `Content-Range: bytes <first>-<last>/<complete|*>` (RFC 9110 §14.4). Returns undefined when the value
 * does not have that exact shape.
 */
export function parseContentRange(
  untrustedValue: string | undefined,
): { readonly first: number; readonly last: number; readonly complete: number | undefined } | undefined {
  if (untrustedValue === undefined) return undefined;
  const m = /^bytes ([0-9]{1,15})-([0-9]{1,15})\/([0-9]{1,15}|\*)$/.exec(untrustedValue.trim());
  if (m === null) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const complete = m[3] === '*' ? undefined : Number(m[3]);
  if (last < first || (complete !== undefined && last >= complete)) return undefined;
  return { first, last, complete };
}

function single(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}

/**
 * Check a resumed response for offset `offset` and return how many leading bytes to discard: 0 for a 206 whose
 * Content-Range starts at `offset`, `offset` for a 200 carrying the whole blob again (a server that ignores
 * Range). Throws SIZE_MISMATCH or HTTP_STATUS otherwise.
 */
export function checkResumeResponse(res: HttpResponse, offset: number, size: number, subject: string): number {
  if (res.status === 206) {
    const raw = single(res.headers, 'content-range');
    const range = parseContentRange(raw);
    if (range === undefined || range.first !== offset) {
      throw mismatch(
        'HTTP_STATUS',
        subject,
        'resumed transfer: Content-Range',
        `bytes ${offset}-${size - 1}/${size}`,
        raw === undefined ? 'none' : sanitizeForDisplay(raw, 100),
      );
    }
    if (range.complete !== undefined && range.complete !== size) {
      throw mismatch('SIZE_MISMATCH', subject, 'resumed transfer: size', size, range.complete);
    }
    return 0;
  }
  if (res.status === 200) {
    const length = single(res.headers, 'content-length');
    if (length !== undefined && Number(length) !== size) {
      throw mismatch('SIZE_MISMATCH', subject, 'Content-Length', size, sanitizeForDisplay(length, 40));
    }
    return offset;
  }
  throw mismatch('HTTP_STATUS', subject, 'resumed transfer: status', '206 or 200', res.status);
}

/** A blob's bytes: a Readable, and a BulkSource that fills a sink's own buffers (the fast path for ingest). */
export type BlobStream = Readable & BulkSource;

/**
 * A Readable of at most `size + 1` bytes: the blob as sent, resumed up to `maxResumes` times after a broken or
 * idle connection. Fails with SIZE_MISMATCH after handing on one byte past `size`, or when the body ends short;
 * the response is destroyed as soon as the cap is reached. `pipeBulk` delivers the same bytes under the same
 * rules into a BulkSink; a stream is consumed one way or the other, not both.
 */
export function createBlobStream(options: BlobStreamOptions): BlobStream {
  const { size, subject, signal } = options;
  const maxResumes = options.maxResumes ?? MAX_RESUMES;
  let res = options.first;
  let offset = 0;
  let skip = 0;
  let resumes = 0;
  let consumed = false;

  const longer = (): CustomsError =>
    new CustomsError('SIZE_MISMATCH', `${subject}: body longer than declared: expected ${size} bytes, got more`, {
      details: { expected: size },
    });
  const shorter = (): CustomsError =>
    mismatch('SIZE_MISMATCH', subject, 'body shorter than declared', `${size} bytes`, `${offset} bytes`);

  /** After a failed transfer: rethrow (translated), or reopen at `offset` and set how much to skip. */
  async function resumeAfter(err: unknown): Promise<void> {
    if (signal?.aborted === true) throw signal.reason;
    if (!isResumableBodyError(err) || resumes >= maxResumes) {
      throw options.translate(err, res.url);
    }
    resumes++;
    abandonBody(res.body);
    options.onResume(resumes, `${errorCodeOf(err) ?? 'connection error'} after ${offset} of ${size} bytes`);
    res = await options.reopen(offset, signal);
    try {
      skip = checkResumeResponse(res, offset, size, subject);
    } catch (checkErr) {
      // Through translate like every other failure, so the client scrubs secrets a hostile registry echoed
      // into Content-Range or Content-Length.
      throw options.translate(checkErr, res.url);
    }
  }

  /** Drop the first `skip` bytes of `chunk` (a 200 answer to a Range request resends the blob from 0). */
  function afterSkip(chunk: unknown): Buffer {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (skip > 0) {
      const n = Math.min(skip, buf.length);
      buf = buf.subarray(n);
      skip -= n;
    }
    return buf;
  }

  async function* bytes(): AsyncGenerator<Buffer> {
    consumed = true;
    try {
      for (;;) {
        try {
          for await (const chunk of res.body) {
            const buf = afterSkip(chunk);
            if (buf.length === 0) continue;
            if (offset + buf.length > size) {
              // One byte past the declared size is proof enough; stop reading there.
              const extra = buf.subarray(0, size + 1 - offset);
              offset += extra.length;
              abandonBody(res.body);
              yield extra;
              throw longer();
            }
            offset += buf.length;
            yield buf;
          }
          if (skip > 0 || offset < size) throw shorter();
          return;
        } catch (err) {
          await resumeAfter(err);
        }
      }
    } finally {
      if (!res.body.readableEnded) abandonBody(res.body);
    }
  }

  async function pipeBulk(sink: BulkSink, sig?: AbortSignal): Promise<void> {
    if (consumed) throw new CustomsError('INTERNAL', `${subject}: blob stream read twice`);
    consumed = true;
    // The sink sees at most one byte past `size`, then the transfer stops: the same cap as the Readable side.
    const capped: BulkSink = {
      space: () => {
        const space = sink.space();
        const room = size + 1 - offset;
        return space.length > room ? space.subarray(0, room) : space;
      },
      filled: (n) => {
        offset += n;
        sink.filled(n);
        if (offset > size) throw longer();
      },
      wants: () => sink.wants(),
      whenReady: () => sink.whenReady(),
    };
    let finished = false;
    try {
      for (;;) {
        try {
          if (skip === 0 && isBulkSource(res.body)) {
            await res.body.pipeBulk(capped, sig ?? signal);
          } else {
            for await (const chunk of res.body) {
              const buf = afterSkip(chunk);
              if (buf.length > 0) await copyInto(capped, buf); // capped stops it one byte past `size`
            }
          }
          if (skip > 0 || offset < size) throw shorter();
          finished = true;
          return;
        } catch (err) {
          await resumeAfter(err);
        }
      }
    } finally {
      if (!finished || !res.body.readableEnded) abandonBody(res.body);
    }
  }

  const stream = Readable.from(bytes(), { objectMode: false }) as BlobStream;
  stream.pipeBulk = pipeBulk;
  // Destroyed before anyone read it: close the first response's connection too.
  stream.once('close', () => {
    if (!consumed) abandonBody(options.first.body);
  });
  return stream;
}
