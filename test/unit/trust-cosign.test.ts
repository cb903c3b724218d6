import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  COSIGN_SIMPLE_SIGNING_TYPE,
  buildCosignSignatureManifest,
  buildSimpleSigningPayload,
  cosignSignatureTag,
  generateKeyPair,
  parseCosignSignatureManifest,
  publicKeyId,
  parsePublicKeyPem,
  readCosignPrivateKey,
  signCosign,
  verifyCosignSignature,
} from '../../src/trust/index.js';
import type { Digest } from '../../src/ref/index.js';

const D = `sha256:${'cd'.repeat(32)}` as Digest;
const payload = buildSimpleSigningPayload({
  dockerReference: 'registry.test/app',
  manifestDigest: D,
  type: COSIGN_SIMPLE_SIGNING_TYPE,
});

test('a payload signed with a generated P-256 key verifies and yields key id and payload', () => {
  const pair = generateKeyPair();
  const sig = signCosign(payload, readCosignPrivateKey(pair.privatePem));
  const v = verifyCosignSignature({ payload, signatureBase64: sig, publicKeyPem: pair.publicPem });
  assert.equal(v.format, 'cosign');
  assert.equal(v.keyId, pair.keyId);
  assert.equal(v.payload.manifestDigest, D);
  assert.equal(v.payload.dockerReference, 'registry.test/app');
  assert.equal(publicKeyId(parsePublicKeyPem(pair.publicPem)), pair.keyId);
});

test('Ed25519 and RSA keys verify too', () => {
  for (const [type, opts] of [
    ['ed25519', {}],
    ['rsa', { modulusLength: 2048 }],
  ] as const) {
    const { privateKey, publicKey } = generateKeyPairSync(type as 'ed25519', opts);
    const sig = signCosign(payload, privateKey);
    const v = verifyCosignSignature({
      payload,
      signatureBase64: sig,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    assert.equal(v.payload.manifestDigest, D);
  }
});

test('small RSA keys and other curves are refused', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(
    () => parsePublicKeyPem(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    /at least 2048 bits, got 1024/,
  );
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  assert.throws(
    () => parsePublicKeyPem(p384.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    /expected P-256, got secp384r1/,
  );
});

test('a password-protected PKCS#8 key is read with its password and refused without it', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw-123456' })
    .toString();
  assert.ok(readCosignPrivateKey(pem, 'pw-123456'));
  assert.throws(
    () => readCosignPrivateKey(pem, 'wrong-password'),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
      assert.doesNotMatch((err as Error).message, /wrong-password|BEGIN/);
      return true;
    },
  );
});

test('a malformed cosign encrypted key is refused with a clear message', () => {
  assert.throws(
    () =>
      readCosignPrivateKey(
        '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJ9\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n',
        'x',
      ),
    /encrypted key: expected/,
  );
});

test('signature tag is sha256-<hex>.sig', () => {
  assert.equal(cosignSignatureTag(D), `sha256-${'cd'.repeat(32)}.sig`);
});

test('the signature manifest matches cosign’s layout and parses back', () => {
  const pair = generateKeyPair();
  const sig = signCosign(payload, readCosignPrivateKey(pair.privatePem));
  const img = buildCosignSignatureManifest(payload, sig);
  const m = JSON.parse(img.manifest.toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(m), ['schemaVersion', 'mediaType', 'config', 'layers']);
  assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const payloadDigest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
  assert.deepEqual(m.layers, [
    {
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      size: payload.length,
      digest: payloadDigest,
      annotations: { 'dev.cosignproject.cosign/signature': sig },
    },
  ]);
  assert.equal(
    img.config.toString(),
    `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${payloadDigest}"]},"config":{}}`,
  );
  assert.equal(img.configDescriptor.digest, `sha256:${createHash('sha256').update(img.config).digest('hex')}`);
  const layers = parseCosignSignatureManifest(img.manifest);
  assert.equal(layers.length, 1);
  assert.equal(layers[0]?.signatureB64, sig);
  assert.equal(layers[0]?.layerDescriptor.digest, payloadDigest);
  const v = verifyCosignSignature({
    payload: img.layer,
    signatureBase64: layers[0]?.signatureB64 ?? '',
    publicKeyPem: pair.publicPem,
  });
  assert.equal(v.payload.manifestDigest, D);
});

test('signature manifests with keyless annotations expose certificate and bundle', () => {
  const img = buildCosignSignatureManifest(payload, 'AAAA');
  const m = JSON.parse(img.manifest.toString()) as { layers: { annotations: Record<string, string> }[] };
  const layer = m.layers[0];
  assert.ok(layer);
  layer.annotations['dev.sigstore.cosign/certificate'] = '-----BEGIN CERTIFICATE-----\n';
  layer.annotations['dev.sigstore.cosign/bundle'] = '{"SignedEntryTimestamp":"AA==","Payload":{}}';
  const [parsed] = parseCosignSignatureManifest(Buffer.from(JSON.stringify(m)));
  assert.equal(parsed?.certificatePem, '-----BEGIN CERTIFICATE-----\n');
  assert.deepEqual(parsed?.bundle, { SignedEntryTimestamp: 'AA==', Payload: {} });
});

test('bad base64 and empty signatures are refused', () => {
  const pair = generateKeyPair();
  for (const s of ['', 'not base64!', 'AAA']) {
    assert.throws(() => verifyCosignSignature({ payload, signatureBase64: s, publicKeyPem: pair.publicPem }), {
      code: 'SIGNATURE_INVALID',
    });
  }
});

test('a public key PEM that is not a key is refused without echoing it', () => {
  assert.throws(
    () =>
      verifyCosignSignature({
        payload,
        signatureBase64: 'AAAA',
        publicKeyPem: '-----BEGIN PUBLIC KEY-----\nSECRETSTUFF\n-----END PUBLIC KEY-----',
      }),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
      assert.doesNotMatch((err as Error).message, /SECRETSTUFF/);
      return true;
    },
  );
});
