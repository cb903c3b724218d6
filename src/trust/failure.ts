/**
 * Error construction for src/trust. Every refusal is SIGNATURE_INVALID (a signature was there and did not prove
 * what it must) or SIGNATURE_MISSING (nothing to verify), both exit code 6. Messages name what was expected and
 * what was found, never key material: untrusted values pass through `shown` (quoted, control characters removed,
 * truncated).
 */
import { CustomsError, type CustomsErrorOptions } from '../errors.js';
import { sanitizeForDisplay } from '../internal/redact.js';

/** An untrusted value made safe to show in a message. */
export function shown(untrusted: unknown, maxChars = 200): string {
  const text = typeof untrusted === 'string' ? untrusted : (JSON.stringify(untrusted) ?? String(untrusted));
  return JSON.stringify(sanitizeForDisplay(text, maxChars));
}

/** SIGNATURE_INVALID with the `<subject>: <what>` message shape. */
export function invalid(subject: string, what: string, options: CustomsErrorOptions = {}): CustomsError {
  return new CustomsError('SIGNATURE_INVALID', `${subject}: ${what}`, options);
}

/** SIGNATURE_MISSING with the `<subject>: <what>` message shape. */
export function missing(subject: string, what: string, options: CustomsErrorOptions = {}): CustomsError {
  return new CustomsError('SIGNATURE_MISSING', `${subject}: ${what}`, options);
}

/** A foreign error's message without its stack, for `cause`-carrying wraps. Never includes key bytes. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return sanitizeForDisplay(err.message, 300);
  return 'unknown error';
}
