// Attack: a hostile token service returns a token carrying CR/LF or other bytes that would split or smuggle HTTP headers when sent back as `Authorization: Bearer <token>`, or a giant token to bloat every request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { MAX_TOKEN_BYTES, parseTokenResponse } from '../../src/registry/auth/index.js';

const hostile = [
  JSON.stringify({ token: 'abc\r\nHost: evil.example' }),
  JSON.stringify({ token: 'abc\nX: y' }),
  JSON.stringify({ access_token: 'abc\u0000def' }),
  JSON.stringify({ token: 'abc\u2028def' }),
  JSON.stringify({ token: 'abc def' }),
  JSON.stringify({ token: 'a'.repeat(MAX_TOKEN_BYTES + 1) }),
  JSON.stringify({ token: 'ok', access_token: 'abc\r\nX: y' }),
];

for (const body of hostile) {
  test(`a token response ${JSON.stringify(body.slice(0, 40))} is refused`, () => {
    assert.throws(
      () => parseTokenResponse(new TextEncoder().encode(body)),
      (e: unknown) => e instanceof CustomsError && e.code === 'UNAUTHORIZED',
    );
  });
}
