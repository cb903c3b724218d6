/**
 * A synchronous step behind an asynchronous interface: the store's small metadata calls run synchronously
 * (src/internal/atomic.ts explains why) under methods that callers await.
 */

/** `fn()` as a promise: resolved with its value, or rejected with what it threw. */
export function promised<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
