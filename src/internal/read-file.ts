/**
 * Reading a small local file that someone else may have replaced (store files, configuration): opened
 * non-blocking, so a FIFO planted at the path cannot hang the open (the "hanging fifo" class,
 * containerd/containerd#330); only a file fstat calls regular is read; at most `maxBytes`, and one byte more
 * proves it larger whatever its size said a moment ago.
 *
 * Synchronous on purpose: these files are small and local, and an awaited read went through the thread pool and
 * then waited for a turn of an event loop that a pull keeps busy (src/internal/atomic.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { grown } from './limit.js';

export interface RegularFileOptions {
  readonly maxBytes: number;
  /** Refuse a symbolic link at the final component (ELOOP), as the store does for its own files. */
  readonly noFollow?: boolean;
  /** The error for something other than a regular file. */
  readonly notRegular: () => Error;
  /** The error for a file over the cap: its size when fstat told, undefined when found while reading. */
  readonly tooLarge: (size: number | undefined) => Error;
}

/** The file's bytes. Errors from open and read (ENOENT, ELOOP, EACCES...) are thrown as they are. */
export function readRegularFileSync(path: string, options: RegularFileOptions): Buffer {
  const { maxBytes } = options;
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow === true ? constants.O_NOFOLLOW : 0);
  const fd = openSync(path, flags);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw options.notRegular();
    if (st.size > maxBytes) throw options.tooLarge(st.size);
    let buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) return buf.subarray(0, n);
      n += got;
      if (n > maxBytes) throw options.tooLarge(undefined);
      if (n === buf.length) buf = grown(buf, n, maxBytes + 1); // it grew since fstat: read on, to cap + 1
    }
  } finally {
    closeSync(fd);
  }
}
