/** Translation of foreign filesystem errors into STORE_IO at the store's edge (STYLE.md "Errors"). */
import type { Dirent } from 'node:fs';
import { readdir } from '../internal/fsp.js';
import { CustomsError } from '../errors.js';

/** True when `err` is a Node system error with the given errno code. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** A STORE_IO error for `subject`, keeping `cause`; CustomsErrors pass through unchanged. */
export function ioError(subject: string, what: string, cause: unknown): CustomsError {
  if (cause instanceof CustomsError) return cause;
  const errno = typeof cause === 'object' && cause !== null ? (cause as NodeJS.ErrnoException).code : undefined;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CustomsError('STORE_IO', `${subject}: ${what}: ${reason}`, {
    cause,
    ...(errno === undefined ? {} : { details: { errno } }),
    hint:
      errno === 'ENOSPC'
        ? 'The filesystem holding the store is full; free space or run `customs gc`.'
        : 'Check that the store directory exists, is writable by this user and is on a healthy filesystem.',
  });
}

/** Directory entries, or none when the directory does not exist. */
export async function readdirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}
