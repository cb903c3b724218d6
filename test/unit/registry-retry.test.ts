// Unit tests for the retry policy of src/registry/retry.ts: bounded attempts, bounded waits, Retry-After.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_RETRY_AFTER_MS,
  MAX_TOTAL_BACKOFF_MS,
  RetryBudget,
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfter,
} from '../../src/registry/index.js';

describe('retry policy', () => {
  test('retries 429 and 5xx gateway/server errors only', () => {
    for (const s of [429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [200, 400, 401, 403, 404, 405, 501, 505]) assert.equal(isRetryableStatus(s), false, String(s));
  });

  test('parses Retry-After as seconds or an HTTP-date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('-1'), undefined);
  });

  test('backoff grows exponentially with jitter between half and all of the step', () => {
    assert.equal(
      backoffDelayMs(0, 100, () => 0),
      50,
    );
    assert.equal(
      backoffDelayMs(0, 100, () => 1),
      100,
    );
    assert.equal(
      backoffDelayMs(3, 100, () => 0),
      400,
    );
    assert.equal(
      backoffDelayMs(3, 100, () => 1),
      800,
    );
  });

  test('the budget grants maxRetries retries and then stops', () => {
    const b = new RetryBudget(3, 1);
    assert.equal(b.next().retry, true);
    assert.equal(b.next().retry, true);
    assert.equal(b.next().retry, true);
    assert.equal(b.next().retry, false);
    assert.equal(b.retries, 3);
  });

  test('the budget honours Retry-After up to the cap and refuses beyond it', () => {
    const b = new RetryBudget(5, 1);
    assert.deepEqual(b.next(2000), { retry: true, delayMs: 2000 });
    const refused = b.next(MAX_RETRY_AFTER_MS + 1);
    assert.equal(refused.retry, false);
  });

  test('the budget keeps the total wait within MAX_TOTAL_BACKOFF_MS', () => {
    const b = new RetryBudget(100, 1);
    let waited = 0;
    for (;;) {
      const d = b.next(MAX_RETRY_AFTER_MS);
      if (!d.retry) break;
      waited += d.delayMs;
    }
    assert.ok(waited <= MAX_TOTAL_BACKOFF_MS, String(waited));
  });
});
