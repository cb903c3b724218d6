import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COSIGN_SIMPLE_SIGNING_TYPE,
  GPG_SIMPLE_SIGNING_TYPE,
  buildSimpleSigningPayload,
  parseSimpleSigningPayload,
  parseSimpleSigningPayloadOfType,
} from '../../src/trust/index.js';
import type { Digest } from '../../src/ref/index.js';

const D = `sha256:${'ab'.repeat(32)}` as Digest;
const doc = (critical: unknown, optional: unknown = null): Buffer =>
  Buffer.from(JSON.stringify({ critical, optional }));
const good = {
  identity: { 'docker-reference': 'registry.test/app:1' },
  image: { 'docker-manifest-digest': D },
  type: GPG_SIMPLE_SIGNING_TYPE,
};

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
    assert.match((err as Error).message, pattern);
    return true;
  });
}

test('a containers-signature payload parses into reference, digest and type', () => {
  const p = parseSimpleSigningPayload(doc(good, { creator: 'skopeo', timestamp: 1 }));
  assert.equal(p.dockerReference, 'registry.test/app:1');
  assert.equal(p.manifestDigest, D);
  assert.equal(p.type, GPG_SIMPLE_SIGNING_TYPE);
  assert.deepEqual(p.optional, { creator: 'skopeo', timestamp: 1 });
});

test('a cosign payload with optional null parses', () => {
  const p = parseSimpleSigningPayload(doc({ ...good, type: COSIGN_SIMPLE_SIGNING_TYPE }));
  assert.equal(p.type, COSIGN_SIMPLE_SIGNING_TYPE);
  assert.deepEqual(p.optional, {});
});

test('build and parse round-trip', () => {
  const bytes = buildSimpleSigningPayload({
    dockerReference: 'r.test/a@' + D,
    manifestDigest: D,
    type: COSIGN_SIMPLE_SIGNING_TYPE,
  });
  assert.equal(
    bytes.toString(),
    `{"critical":{"identity":{"docker-reference":"r.test/a@${D}"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"},"optional":null}`,
  );
  assert.equal(parseSimpleSigningPayloadOfType(bytes, COSIGN_SIMPLE_SIGNING_TYPE).manifestDigest, D);
});

test('unknown critical fields are refused at every level', () => {
  refused(() => parseSimpleSigningPayload(doc({ ...good, extra: 1 })), /critical: unknown field.*"extra"/);
  refused(
    () => parseSimpleSigningPayload(doc({ ...good, identity: { 'docker-reference': 'a', x: 1 } })),
    /critical.identity: unknown field/,
  );
  refused(
    () => parseSimpleSigningPayload(doc({ ...good, image: { 'docker-manifest-digest': D, x: 1 } })),
    /critical.image: unknown field/,
  );
  refused(
    () => parseSimpleSigningPayload(Buffer.from(JSON.stringify({ critical: good, optional: null, extra: 1 }))),
    /\$: unknown field/,
  );
});

test('missing fields, wrong types and bad digests are refused', () => {
  refused(
    () => parseSimpleSigningPayload(doc({ identity: good.identity, image: good.image })),
    /missing field.*"type"/,
  );
  refused(() => parseSimpleSigningPayload(doc({ ...good, type: 'other' })), /critical.type: expected/);
  refused(
    () => parseSimpleSigningPayload(doc({ ...good, image: { 'docker-manifest-digest': 'sha256:xyz' } })),
    /docker-manifest-digest: expected a digest/,
  );
  refused(() => parseSimpleSigningPayload(doc(good, 'str')), /optional: expected a JSON object or null/);
  refused(() => parseSimpleSigningPayload(Buffer.from('[]')), /expected a JSON object/);
  refused(
    () => parseSimpleSigningPayloadOfType(doc(good), COSIGN_SIMPLE_SIGNING_TYPE),
    /expected "cosign container image signature", got "atomic container signature"/,
  );
});

test('duplicate keys and oversized payloads are refused', () => {
  const dup = `{"critical":{"identity":{"docker-reference":"a","docker-reference":"b"},"image":{"docker-manifest-digest":"${D}"},"type":"${GPG_SIMPLE_SIGNING_TYPE}"},"optional":null}`;
  refused(() => parseSimpleSigningPayload(Buffer.from(dup)), /duplicate key/);
  refused(() => parseSimpleSigningPayload(Buffer.alloc(1024 * 1024 + 1, 0x20)), /too large/);
});
