/**
 * Retry policy for registry requests: which failures are worth another attempt, and how long to wait.
 *
 * Bounded three ways so a hostile or broken registry cannot hold a pull forever: a number of retries, a cap on
 * any one wait (`Retry-After` beyond it is not honoured, the request fails instead), and a cap on the total
 * time spent waiting. Backoff is exponential with jitter (AWS architecture blog "Exponential Backoff And
 * Jitter"), so many clients retrying one registry do not synchronise. Pure apart from `Math.random`.
 */
import { CustomsError } from '../errors.js';

/** Statuses that mean "try again later" (RFC 9110 §15.6; 429 RFC 6585 §4). Other 4xx are final. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Longest single wait a `Retry-After` header may ask for; a registry asking for more gets a failure instead. */
export const MAX_RETRY_AFTER_MS = 10_000;

/** Longest total time spent waiting between attempts of one request. */
export const MAX_TOTAL_BACKOFF_MS = 30_000;

/** First backoff step; doubles each retry (250 ms, 500 ms, 1 s, ...) before jitter. */
export const DEFAULT_BACKOFF_BASE_MS = 250;

/** Connection-level error codes worth a retry: the request never reached a handler or the peer went away. */
const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** True for HTTP statuses in RETRYABLE_STATUSES. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * The first foreign `code` string (`ECONNRESET`, `UND_ERR_SOCKET`, ...) on `err` or along its `cause` chain.
 * CustomsErrors are skipped: their codes name our failure families, not socket conditions.
 */
export function errorCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (!(e instanceof CustomsError) && typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for connection resets and refusals (see RETRYABLE_ERROR_CODES); never for TLS or timeout errors. */
export function isRetryableNetworkError(err: unknown): boolean {
  const code = errorCodeOf(err);
  return code !== undefined && RETRYABLE_ERROR_CODES.has(code);
}

/**
 * Milliseconds a `Retry-After` value asks for (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), or undefined
 * when absent or unparseable. Never negative.
 */
export function parseRetryAfter(untrustedValue: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (untrustedValue === undefined) return undefined;
  const v = untrustedValue.trim();
  if (/^[0-9]{1,9}$/.test(v)) return Number(v) * 1000;
  // HTTP-date forms all name a weekday or month; a bare '-1' must not become the year -1.
  if (v.length > 64 || !/^[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Exponential backoff with "equal jitter": half fixed, half random, so waits grow but never collapse to 0. */
export function backoffDelayMs(retry: number, baseMs: number, random: () => number = Math.random): number {
  const step = baseMs * 2 ** Math.min(retry, 16);
  return Math.round(step / 2 + random() * (step / 2));
}

/** Outcome of asking the budget for another attempt. */
export type RetryDecision =
  { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly why: string };

/**
 * Tracks retries of one request. `next()` says whether another attempt is allowed and how long to wait first,
 * honouring a `Retry-After` of up to MAX_RETRY_AFTER_MS and keeping the total wait within MAX_TOTAL_BACKOFF_MS.
 */
export class RetryBudget {
  readonly #maxRetries: number;
  readonly #baseMs: number;
  #retries = 0;
  #waitedMs = 0;

  constructor(maxRetries: number, baseMs: number = DEFAULT_BACKOFF_BASE_MS) {
    this.#maxRetries = Math.max(0, Math.floor(maxRetries));
    this.#baseMs = Math.max(0, baseMs);
  }

  /** Retries granted so far. */
  get retries(): number {
    return this.#retries;
  }

  next(retryAfterMs?: number): RetryDecision {
    if (this.#retries >= this.#maxRetries) return { retry: false, why: `gave up after ${this.#retries} retries` };
    if (retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_MS) {
      return { retry: false, why: `registry asked to retry after ${Math.ceil(retryAfterMs / 1000)} s` };
    }
    const delayMs = retryAfterMs ?? backoffDelayMs(this.#retries, this.#baseMs);
    if (this.#waitedMs + delayMs > MAX_TOTAL_BACKOFF_MS) {
      return { retry: false, why: `gave up after waiting ${Math.round(this.#waitedMs / 1000)} s` };
    }
    this.#retries++;
    this.#waitedMs += delayMs;
    return { retry: true, delayMs };
  }
}
