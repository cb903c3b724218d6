// Unit tests for the small parsers of src/registry: error bodies, Content-Range, resume checks, TLS error
// classification and certs.d loading.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  checkResumeResponse,
  describeErrorBody,
  isCertificateError,
  loadRegistryTls,
  parseContentRange,
} from '../../src/registry/index.js';
import { isCustomsError } from '../../src/errors.js';

function response(status: number, headers: Record<string, string>): Parameters<typeof checkResumeResponse>[0] {
  return { url: new URL('http://127.0.0.1/x'), status, headers, body: Readable.from([]) as never };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isCustomsError(err), String(err));
    return err.code;
  }
  return 'none';
}

describe('describeErrorBody', () => {
  test('reads distribution-spec error documents', () => {
    assert.equal(
      describeErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"},{"code":"X"}]}'),
      'MANIFEST_UNKNOWN: manifest unknown; X',
    );
  });

  test('falls back to sanitised text for anything else', () => {
    assert.equal(describeErrorBody('<html>\u001b[31mBad\ngateway</html>'), '<html>?[31mBad gateway</html>');
    assert.equal(describeErrorBody('   '), undefined);
    assert.equal(describeErrorBody('{"errors":"nope"}'), '{"errors":"nope"}');
  });

  test('truncates long messages', () => {
    assert.ok((describeErrorBody('x'.repeat(10_000)) ?? '').length <= 301);
  });
});

describe('Content-Range and resume', () => {
  test('parses bytes ranges strictly', () => {
    assert.deepEqual(parseContentRange('bytes 10-99/100'), { first: 10, last: 99, complete: 100 });
    assert.deepEqual(parseContentRange('bytes 10-99/*'), { first: 10, last: 99, complete: undefined });
    for (const bad of [
      'bytes 10-9/100',
      'bytes 10-100/100',
      'items 1-2/3',
      'bytes=10-99/100',
      'bytes -5/100',
      undefined,
    ]) {
      assert.equal(parseContentRange(bad), undefined, String(bad));
    }
  });

  test('a 206 must start where the client stopped and agree on the size', () => {
    assert.equal(checkResumeResponse(response(206, { 'content-range': 'bytes 50-99/100' }), 50, 100, 's'), 0);
    assert.equal(
      codeOf(() => checkResumeResponse(response(206, { 'content-range': 'bytes 0-99/100' }), 50, 100, 's')),
      'HTTP_STATUS',
    );
    assert.equal(
      codeOf(() => checkResumeResponse(response(206, { 'content-range': 'bytes 50-199/200' }), 50, 100, 's')),
      'SIZE_MISMATCH',
    );
    assert.equal(
      codeOf(() => checkResumeResponse(response(206, {}), 50, 100, 's')),
      'HTTP_STATUS',
    );
  });

  test('a 200 to a Range request means skipping what was already received', () => {
    assert.equal(checkResumeResponse(response(200, { 'content-length': '100' }), 50, 100, 's'), 50);
    assert.equal(
      codeOf(() => checkResumeResponse(response(200, { 'content-length': '101' }), 50, 100, 's')),
      'SIZE_MISMATCH',
    );
    assert.equal(
      codeOf(() => checkResumeResponse(response(416, {}), 50, 100, 's')),
      'HTTP_STATUS',
    );
  });
});

describe('TLS error classification', () => {
  const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

  test('certificate failures are certificate errors; a peer speaking plain HTTP or refusing is not', () => {
    for (const code of [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_HAS_EXPIRED',
    ]) {
      assert.equal(isCertificateError(withCode(code)), true, code);
      assert.equal(isCertificateError(new Error('outer', { cause: withCode(code) })), true, `${code} as a cause`);
    }
    for (const code of ['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ECONNRESET', 'ECONNREFUSED'])
      assert.equal(isCertificateError(withCode(code)), false, code);
  });
});

describe('certs.d', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  test('collects *.crt CAs (added to the system roots) and a client.cert/client.key pair', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'customs-certsd-'));
    try {
      mkdirSync(join(dir, 'reg.example:5000'));
      writeFileSync(join(dir, 'reg.example:5000', 'ca.crt'), PEM);
      writeFileSync(join(dir, 'reg.example:5000', 'client.cert'), PEM);
      writeFileSync(
        join(dir, 'reg.example:5000', 'client.key'),
        '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n',
      );
      const tls = await loadRegistryTls([join(dir, 'missing'), dir], 'reg.example:5000');
      // The certs.d CAs alone: the transport adds the system roots only when a certificate needs them.
      assert.deepEqual(tls.ca, [PEM]);
      assert.equal(tls.cert, PEM);
      assert.ok(tls.key?.includes('PRIVATE KEY'));
      const none = await loadRegistryTls([dir], 'other.example');
      assert.equal(none.ca, undefined);
      assert.equal(none.cert, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a client certificate without its key is a configuration error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'customs-certsd-'));
    try {
      mkdirSync(join(dir, 'reg.example'));
      writeFileSync(join(dir, 'reg.example', 'client.cert'), PEM);
      await assert.rejects(
        loadRegistryTls([dir], 'reg.example'),
        (err: unknown) => isCustomsError(err) && err.code === 'CONFIG_INVALID',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a host that could escape the directory is refused', async () => {
    for (const host of ['..', '../etc', 'a/b', '']) {
      await assert.rejects(
        loadRegistryTls(['/tmp'], host),
        (err: unknown) => isCustomsError(err) && err.code === 'CONFIG_INVALID',
      );
    }
  });
});
