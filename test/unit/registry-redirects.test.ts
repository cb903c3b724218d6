// Unit tests for the pure redirect and credential-transport decisions of src/registry/redirects.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_REDIRECTS,
  assertCredentialTransport,
  checkRedirect,
  isCredentialTarget,
} from '../../src/registry/index.js';
import { isCustomsError } from '../../src/errors.js';

function refusedWith(code: string, fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isCustomsError(err), String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const registry = new URL('https://registry.example.com/v2/a/blobs/sha256:00');

describe('checkRedirect', () => {
  test('resolves relative locations against the request URL', () => {
    assert.equal(checkRedirect('/v2/b', registry, 1).href, 'https://registry.example.com/v2/b');
  });

  test('accepts a cross-origin https target and drops its fragment', () => {
    assert.equal(
      checkRedirect('https://s3.example.net/x?sig=1#frag', registry, 1).href,
      'https://s3.example.net/x?sig=1',
    );
  });

  test('refuses more than MAX_REDIRECTS hops', () => {
    refusedWith('REDIRECT_REFUSED', () => checkRedirect('/x', registry, MAX_REDIRECTS + 1));
  });

  test('refuses a missing or unparseable Location', () => {
    refusedWith('REDIRECT_REFUSED', () => checkRedirect(undefined, registry, 1));
    refusedWith('REDIRECT_REFUSED', () => checkRedirect('http://[::1', registry, 1));
  });

  test('refuses non-http schemes', () => {
    for (const loc of ['file:///etc/passwd', 'ftp://example.com/x', 'data:text/plain,hi', 'gopher://x/']) {
      refusedWith('REDIRECT_REFUSED', () => checkRedirect(loc, registry, 1));
    }
  });

  test('refuses userinfo in the target', () => {
    refusedWith('REDIRECT_REFUSED', () => checkRedirect('https://registry.example.com@evil.example/', registry, 1));
  });

  test('refuses link-local, unspecified and metadata hosts in any spelling', () => {
    for (const loc of [
      'http://169.254.169.254/latest/meta-data/',
      'http://2852039166/',
      'http://0xa9fea9fe/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      'http://0.0.0.0:5000/',
      'http://metadata.google.internal/',
      'http://[fd00:ec2::254]/',
    ]) {
      refusedWith('REDIRECT_REFUSED', () => checkRedirect(loc, registry, 1));
    }
  });

  test('refuses https → http downgrade unless the target is loopback', () => {
    refusedWith('REDIRECT_REFUSED', () => checkRedirect('http://s3.example.net/x', registry, 1));
    // The loopback exception is for a local registry; a remote one may not redirect to this machine at all.
    const local = new URL('https://127.0.0.1:5000/v2/');
    assert.equal(checkRedirect('http://127.0.0.1:9000/x', local, 1).host, '127.0.0.1:9000');
    assert.equal(checkRedirect('http://localhost:9000/x', local, 1).host, 'localhost:9000');
  });

  test('allows http → http (no downgrade happens)', () => {
    assert.equal(
      checkRedirect('http://mirror.example/x', new URL('http://insecure.example/v2/'), 1).host,
      'mirror.example',
    );
  });
});

describe('credential transport', () => {
  test('credentials go only to the registry origin', () => {
    const origin = new URL('https://registry.example.com');
    assert.equal(isCredentialTarget(new URL('https://registry.example.com/v2/x'), origin), true);
    assert.equal(isCredentialTarget(new URL('https://registry.example.com:8443/v2/x'), origin), false);
    assert.equal(isCredentialTarget(new URL('http://registry.example.com/v2/x'), origin), false);
    assert.equal(isCredentialTarget(new URL('https://s3.example.net/x'), origin), false);
  });

  test('Basic credentials over plain HTTP to a non-loopback host are refused', () => {
    // Attack: credential sniffing on the network when a registry is marked insecure (plain HTTP).
    refusedWith('INSECURE_TRANSPORT', () => assertCredentialTransport(new URL('http://insecure.example:5000/v2/')));
    refusedWith('INSECURE_TRANSPORT', () => assertCredentialTransport(new URL('http://10.0.0.5:5000/v2/')));
  });

  test('credentials are allowed over https anywhere and over plain HTTP to loopback', () => {
    assertCredentialTransport(new URL('https://registry.example.com/v2/'));
    assertCredentialTransport(new URL('http://127.0.0.1:5000/v2/'));
    assertCredentialTransport(new URL('http://[::1]:5000/v2/'));
    assertCredentialTransport(new URL('http://localhost:5000/v2/'));
  });
});
