/**
 * Typed errors with stable codes. Every failure customs reports is a CustomsError whose `code` names the
 * failure and whose family fixes the process exit code (README, "Exit codes"). Foreign errors (undici, fs,
 * zlib) are translated into one of these at the module edge, keeping the original as `cause`.
 *
 * Message shape: `<subject>: <what>: expected X, got Y`. Messages never contain credentials: anything that
 * came from a URL or a header passes through internal/redact first.
 */

/** Families decide the exit code; the code inside a family is for programs and tests. */
export type ErrorFamily =
  'internal' | 'usage' | 'name' | 'registry' | 'integrity' | 'signature' | 'policy' | 'unsafe-content' | 'store';

/** Process exit code for each family. Exhaustive: adding a family without an exit code does not compile. */
export const EXIT_CODES: Readonly<Record<ErrorFamily, number>> = {
  internal: 1,
  usage: 2,
  name: 3,
  registry: 4,
  integrity: 5,
  signature: 6,
  policy: 7,
  'unsafe-content': 8,
  store: 9,
};

/** Stable error codes, grouped by family. Tests and `--json` output match on these, never on messages. */
export const ERROR_CODES = {
  // internal
  INTERNAL: 'internal',
  // usage
  USAGE: 'usage',
  REFERENCE_INVALID: 'usage',
  CONFIG_INVALID: 'usage',
  // name
  SHORT_NAME_REFUSED: 'name',
  REGISTRY_BLOCKED: 'name',
  LOOKALIKE_NAME: 'name',
  // registry / network
  NETWORK: 'registry',
  TIMEOUT: 'registry',
  HTTP_STATUS: 'registry',
  NOT_FOUND: 'registry',
  UNAUTHORIZED: 'registry',
  INSECURE_TRANSPORT: 'registry',
  REDIRECT_REFUSED: 'registry',
  TOKEN_REALM_REFUSED: 'registry',
  PLATFORM_NOT_FOUND: 'registry',
  CREDENTIAL_HELPER: 'registry',
  // integrity
  DIGEST_MISMATCH: 'integrity',
  SIZE_MISMATCH: 'integrity',
  TOO_LARGE: 'integrity',
  MANIFEST_INVALID: 'integrity',
  JSON_INVALID: 'integrity',
  MEDIA_TYPE_MISMATCH: 'integrity',
  MEDIA_TYPE_UNSUPPORTED: 'integrity',
  SCHEMA1_REFUSED: 'integrity',
  CONFIG_INVALID_IMAGE: 'integrity',
  // signature
  SIGNATURE_INVALID: 'signature',
  SIGNATURE_MISSING: 'signature',
  // policy
  POLICY_REJECTED: 'policy',
  POLICY_INVALID: 'policy',
  // unsafe content (archives, layers)
  UNSAFE_PATH: 'unsafe-content',
  ARCHIVE_INVALID: 'unsafe-content',
  LIMIT_EXCEEDED: 'unsafe-content',
  // local store
  IMAGE_NOT_IN_STORE: 'store',
  STORE_LOCKED: 'store',
  STORE_CORRUPT: 'store',
  STORE_IO: 'store',
} as const satisfies Record<string, ErrorFamily>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface CustomsErrorOptions {
  /** What the user should do next, one sentence. */
  hint?: string;
  /** Structured, redacted facts for `--json` output (expected/got, digest, url, ...). */
  details?: Readonly<Record<string, unknown>>;
  cause?: unknown;
}

/** Base class of every error customs throws on purpose. */
export class CustomsError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: CustomsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustomsError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  get family(): ErrorFamily {
    return ERROR_CODES[this.code];
  }

  get exitCode(): number {
    return EXIT_CODES[this.family];
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      family: this.family,
      exitCode: this.exitCode,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(Object.keys(this.details).length === 0 ? {} : { details: this.details }),
    };
  }
}

/** True for errors customs raised on purpose (as opposed to bugs). */
export function isCustomsError(err: unknown): err is CustomsError {
  return err instanceof CustomsError;
}

/** Exit code for any thrown value: unknown errors are internal (1), never success. */
export function exitCodeOf(err: unknown): number {
  return isCustomsError(err) ? err.exitCode : EXIT_CODES.internal;
}

/** Convenience for the common `<subject>: <what>: expected X, got Y` mismatch message. */
export function mismatch(
  code: ErrorCode,
  subject: string,
  what: string,
  expected: string | number,
  got: string | number,
  options: CustomsErrorOptions = {},
): CustomsError {
  return new CustomsError(code, `${subject}: ${what}: expected ${String(expected)}, got ${String(got)}`, {
    ...options,
    details: { expected, got, ...(options.details ?? {}) },
  });
}
