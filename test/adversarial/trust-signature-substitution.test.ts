// Signature substitution (containers/image signature/simple.go threat model; cosign CVE-2022-23649 class): a
// valid signature over another digest or reference, by another key, or carrying unknown critical fields.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  COSIGN_SIMPLE_SIGNING_TYPE,
  buildSimpleSigningPayload,
  generateKeyPair,
  readCosignPrivateKey,
  signCosign,
  signGpgSimple,
  verifyCosignSignature,
  verifyGpgSimpleSignature,
} from '../../src/trust/index.js';
import type { Digest } from '../../src/ref/index.js';
import { gnupgHome } from '../helpers/trust-fixtures.js';

const WANT = `sha256:${'1'.repeat(64)}` as Digest;
const OTHER = `sha256:${'2'.repeat(64)}` as Digest;
const home = gnupgHome();
const intruder = gnupgHome('intruder <i@example.test>');
after(() => {
  home.cleanup();
  intruder.cleanup();
});

test('a cosign signature over another digest verifies only as that digest', () => {
  // Signature over another digest: the verified payload names OTHER, so the caller's digest check refuses it.
  const pair = generateKeyPair();
  const payload = buildSimpleSigningPayload({
    dockerReference: 'registry.test/app',
    manifestDigest: OTHER,
    type: COSIGN_SIMPLE_SIGNING_TYPE,
  });
  const v = verifyCosignSignature({
    payload,
    signatureBase64: signCosign(payload, readCosignPrivateKey(pair.privatePem)),
    publicKeyPem: pair.publicPem,
  });
  assert.notEqual(v.payload.manifestDigest, WANT);
});

test('editing the digest or reference in a signed cosign payload breaks the signature', () => {
  // Payload tampering: swap the digest/reference after signing.
  const pair = generateKeyPair();
  const payload = buildSimpleSigningPayload({
    dockerReference: 'registry.test/app',
    manifestDigest: OTHER,
    type: COSIGN_SIMPLE_SIGNING_TYPE,
  });
  const sig = signCosign(payload, readCosignPrivateKey(pair.privatePem));
  for (const forged of [
    payload.toString().replace(OTHER, WANT),
    payload.toString().replace('registry.test/app', 'registry.test/evil'),
  ]) {
    assert.throws(
      () => verifyCosignSignature({ payload: Buffer.from(forged), signatureBase64: sig, publicKeyPem: pair.publicPem }),
      { code: 'SIGNATURE_INVALID', message: /signature does not verify/ },
    );
  }
});

test('a cosign signature by another key is refused', () => {
  // Wrong key.
  const signer = generateKeyPair();
  const trusted = generateKeyPair();
  const payload = buildSimpleSigningPayload({
    dockerReference: 'registry.test/app',
    manifestDigest: WANT,
    type: COSIGN_SIMPLE_SIGNING_TYPE,
  });
  assert.throws(
    () =>
      verifyCosignSignature({
        payload,
        signatureBase64: signCosign(payload, readCosignPrivateKey(signer.privatePem)),
        publicKeyPem: trusted.publicPem,
      }),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
      assert.match((err as Error).message, new RegExp(`expected a signature by key ${trusted.keyId}`));
      return true;
    },
  );
});

test('a signed payload with an unknown critical field is refused even though the signature is valid', () => {
  // containers/image simple.go: unknown critical fields must fail closed.
  const pair = generateKeyPair();
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': 'r.test/a' },
        image: { 'docker-manifest-digest': WANT },
        type: COSIGN_SIMPLE_SIGNING_TYPE,
        'only-on-tuesdays': true,
      },
      optional: null,
    }),
  );
  assert.throws(
    () =>
      verifyCosignSignature({
        payload,
        signatureBase64: signCosign(payload, readCosignPrivateKey(pair.privatePem)),
        publicKeyPem: pair.publicPem,
      }),
    { code: 'SIGNATURE_INVALID', message: /unknown field.*only-on-tuesdays/ },
  );
});

test('a GPG-type payload under a cosign signature is refused (type confusion)', () => {
  // Cross-format confusion: an atomic container signature payload presented as a cosign one.
  const pair = generateKeyPair();
  const payload = buildSimpleSigningPayload({
    dockerReference: 'r.test/a',
    manifestDigest: WANT,
    type: 'atomic container signature',
  });
  assert.throws(
    () =>
      verifyCosignSignature({
        payload,
        signatureBase64: signCosign(payload, readCosignPrivateKey(pair.privatePem)),
        publicKeyPem: pair.publicPem,
      }),
    /expected "cosign container image signature"/,
  );
});

test('a GPG signature over another reference verifies only as that reference', async () => {
  // Signature over another reference: policy compares the verified docker-reference, never the requested one.
  const sig = await signGpgSimple({
    dockerReference: 'registry.test/other:1',
    manifestDigest: WANT,
    privateKeyArmored: home.secretKeyArmored(),
  });
  const v = await verifyGpgSimpleSignature({ signature: sig, publicKeys: home.publicKeyArmored() });
  assert.equal(v.payload.dockerReference, 'registry.test/other:1');
});

test('a GPG signature by a key outside the keyring is refused naming the key id', async () => {
  // Wrong key: the intruder signs; only the trusted key is given.
  const sig = await signGpgSimple({
    dockerReference: 'registry.test/app:1',
    manifestDigest: WANT,
    privateKeyArmored: intruder.secretKeyArmored(),
  });
  await assert.rejects(
    verifyGpgSimpleSignature({ signature: sig, publicKeys: home.publicKeyArmored() }),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
      assert.match(
        (err as Error).message,
        /unknown key: expected a key from the trusted keyring, got key ID [0-9A-F]{16}/,
      );
      return true;
    },
  );
});

test('a GPG signed message with its literal data altered is refused', async () => {
  // Payload tampering inside an OpenPGP message.
  const sig = await signGpgSimple({
    dockerReference: 'registry.test/app:1',
    manifestDigest: WANT,
    privateKeyArmored: home.secretKeyArmored(),
  });
  const i = sig.indexOf(Buffer.from('1111'));
  assert.ok(i > 0);
  const forged = Buffer.from(sig);
  forged[i] = 0x32; // '1' → '2'
  await assert.rejects(verifyGpgSimpleSignature({ signature: forged, publicKeys: home.publicKeyArmored() }), {
    code: 'SIGNATURE_INVALID',
  });
});
