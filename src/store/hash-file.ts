/** Streaming re-hash of a stored file (fsck, verifyBlob): bounded memory whatever the blob size. */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from '../internal/fsp.js';
import { digestAlgorithm, type Digest, type DigestAlgorithm } from '../ref/index.js';

/** Read size for re-hashing: large enough that syscalls do not dominate, small enough to be irrelevant to RSS. */
const HASH_READ_BYTES = 1024 * 1024;

/** Digest (`alg:hex`) and byte count of the file at `path`; never follows a symlink at the final component. */
export async function hashFile(
  path: string,
  algorithm: DigestAlgorithm,
  signal?: AbortSignal,
): Promise<{ readonly digest: string; readonly size: number }> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash(algorithm);
    const buf = Buffer.allocUnsafe(HASH_READ_BYTES);
    let size = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { digest: `${algorithm}:${hash.digest('hex')}`, size };
  } finally {
    await fh.close();
  }
}

/** Algorithm of a digest, for hashFile. */
export function algorithmOf(d: Digest): DigestAlgorithm {
  return digestAlgorithm(d);
}
