/**
 * Reading the small configuration files policy/ depends on (policy.json, registries.d/*.yaml) with the same
 * care as registries.conf: regular files only (a FIFO or device could block or never end), a size cap, UTF-8.
 * Failures are POLICY_INVALID: a policy that cannot be read forbids everything (exit 7).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { CustomsError, isCustomsError } from '../errors.js';
import { readCapped } from '../internal/limit.js';
import { MiB } from '../internal/units.js';

/** policy.json can inline base64 keys; a few megabytes is far more than any real one. */
export const MAX_POLICY_FILE_BYTES = 4 * MiB;

/** Read `path` as UTF-8 text, or return undefined when it does not exist and `missingOk`. */
export async function readConfigText(
  path: string,
  subject: string,
  missingOk: boolean,
  signal?: AbortSignal,
): Promise<string | undefined> {
  signal?.throwIfAborted();
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore the flag.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && missingOk) return undefined;
    throw new CustomsError('POLICY_INVALID', `${subject}: cannot open: ${code ?? 'error'}`, {
      cause: err,
      hint: code === 'ENOENT' ? 'Check the path.' : 'Check the file permissions.',
    });
  }
  let bytes: Buffer;
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new CustomsError(
        'POLICY_INVALID',
        `${subject}: not a regular file: expected a regular file, got another file type`,
      );
    }
    bytes = await readCapped(
      fh.createReadStream({ start: 0, autoClose: false }),
      MAX_POLICY_FILE_BYTES,
      subject,
      signal,
    );
  } catch (err) {
    if (isCustomsError(err)) {
      if (err.code === 'POLICY_INVALID') throw err;
      throw new CustomsError('POLICY_INVALID', err.message, { cause: err, details: err.details });
    }
    throw new CustomsError(
      'POLICY_INVALID',
      `${subject}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        cause: err,
      },
    );
  } finally {
    await fh.close();
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new CustomsError('POLICY_INVALID', `${subject}: invalid text: expected UTF-8, got invalid byte sequences`, {
      cause: err,
    });
  }
}
