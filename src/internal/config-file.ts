/**
 * Reading a small configuration file (registries.conf, policy.json, registries.d/*.yaml) with care: regular files
 * only (opened non-blocking, so a FIFO or device can neither block nor stream forever), a size cap checked before
 * and while reading, and strict UTF-8. Every failure is a CustomsError with the caller's code.
 */
import { CustomsError, isCustomsError, type ErrorCode } from '../errors.js';
import { promised } from './promised.js';
import { readRegularFileSync } from './read-file.js';

export interface ConfigFileOptions {
  /** Name used in messages, e.g. `registries.conf "/etc/…"`. */
  readonly subject: string;
  readonly maxBytes: number;
  /** Code of every error (CONFIG_INVALID for registries.conf, POLICY_INVALID for policy files). */
  readonly code: ErrorCode;
  /** Return undefined instead of failing when the file does not exist. */
  readonly missingOk: boolean;
  /** Hint when the file is missing and that is an error. */
  readonly missingHint?: string;
  readonly signal?: AbortSignal | undefined;
}

/** The file's text, or undefined when it is missing and `missingOk`. */
export function readConfigFileText(path: string, options: ConfigFileOptions): Promise<string | undefined> {
  return promised(() => readConfigFileTextSync(path, options));
}

function readConfigFileTextSync(path: string, options: ConfigFileOptions): string | undefined {
  const { subject, maxBytes, code, signal } = options;
  signal?.throwIfAborted();
  let bytes: Buffer;
  try {
    bytes = readRegularFileSync(path, {
      maxBytes,
      notRegular: () =>
        new CustomsError(code, `${subject}: not a regular file: expected a regular file, got another file type`),
      tooLarge: (size) =>
        new CustomsError(
          code,
          `${subject}: file too large: expected at most ${maxBytes} bytes, got ${size === undefined ? 'more' : `${size} bytes`}`,
          { details: { expected: maxBytes, ...(size === undefined ? {} : { got: size }) } },
        ),
    });
  } catch (err) {
    if (isCustomsError(err)) throw err;
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' && options.missingOk) return undefined;
    throw new CustomsError(code, `${subject}: cannot open: ${errno ?? 'error'}`, {
      cause: err,
      hint: errno === 'ENOENT' ? (options.missingHint ?? 'Check the path.') : 'Check the file permissions.',
    });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new CustomsError(code, `${subject}: invalid text: expected UTF-8, got invalid byte sequences`, {
      cause: err,
    });
  }
}
