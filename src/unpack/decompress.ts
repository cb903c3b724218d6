/**
 * Decompressors, chosen by the caller from the media type only (oci/media-types `layerCompression`); the bytes are
 * never sniffed. gzip uses node:zlib; zstd spawns the zstd(1) CLI inside the same sandbox (Node 20 has no zstd and
 * the npm ports are native add-ons or wasm blobs; the Debian binary needs nothing at install time).
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CustomsError } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** zstd(1) refuses frames needing a window above this (its default is also 128 MiB): bounds decoder memory. */
const ZSTD_MEMORY_LIMIT = '--memory=128MB';
/** zstd's stderr kept for the error message. */
const MAX_STDERR_BYTES = 4096;

function corrupt(kind: string, err: unknown): CustomsError {
  const msg = err instanceof Error ? err.message : String(err);
  return new CustomsError('ARCHIVE_INVALID', `layer: ${kind} stream is corrupt: ${msg.slice(0, 300)}`, {
    cause: err,
  });
}

/** Decompress `compressed` (consumed exactly once) into a stream of chunks. */
export async function* decompress(
  compression: Compression,
  compressed: AsyncIterable<Buffer>,
  zstdPath: string,
): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    yield* compressed;
    return;
  }
  const input = Readable.from(compressed, { objectMode: false });
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    input.on('error', (e) => gunzip.destroy(e));
    input.pipe(gunzip);
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (err) {
      if (err instanceof CustomsError) throw err;
      throw corrupt('gzip', err);
    } finally {
      input.destroy();
      gunzip.destroy();
    }
    return;
  }
  const child = spawn(zstdPath, ['-d', '-c', '-q', ZSTD_MEMORY_LIMIT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < MAX_STDERR_BYTES) stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined);
  let inputError: Error | undefined;
  input.on('error', (e) => {
    inputError = e;
    child.kill('SIGKILL');
  });
  child.stdin.on('error', () => undefined); // EPIPE when zstd stops early: its exit status tells the story
  input.pipe(child.stdin);
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await exited;
    if (inputError !== undefined) throw inputError;
    if (code !== 0) throw corrupt('zstd', new Error(stderr.trim() || `zstd exited with ${String(code)}`));
  } finally {
    input.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
