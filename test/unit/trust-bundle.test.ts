import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COSIGN_SIMPLE_SIGNING_TYPE,
  buildSimpleSigningPayload,
  verifyBlob,
  verifyBundle,
  verifyBundledSimpleSigning,
} from '../../src/trust/index.js';
import type { Digest } from '../../src/ref/index.js';
import { dsseBundle, keylessWorld, messageBundle, newEcKey } from '../helpers/trust-fixtures.js';

const identity = { certificateIdentity: 'signer@customs.test', certificateIssuer: 'https://issuer.customs.test' };
const artifact = Buffer.from('the artifact\n');
const hex = createHash('sha256').update(artifact).digest('hex');

test('a keyless bundle verifies: Fulcio chain, identity, issuer, Rekor SET', () => {
  const w = keylessWorld({});
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  const v = verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity });
  assert.equal(v.artifactDigest, `sha256:${hex}`);
  assert.deepEqual(v.identity, {
    subjectAlternativeName: 'signer@customs.test',
    issuer: 'https://issuer.customs.test',
  });
  assert.equal(v.integratedTime?.getTime(), Math.floor(w.signedAt.getTime() / 1000) * 1000);
});

test('a key-based bundle verifies with the pinned key; the JSON bytes form works too', () => {
  const w = keylessWorld({});
  const key = newEcKey();
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: key });
  const publicKeyPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const v = verifyBundle({
    bundle: Buffer.from(JSON.stringify(bundle)),
    artifact,
    trustedRoot: w.root,
    policy: { publicKeyPem },
  });
  assert.match(v.keyId, /^sha256:[0-9a-f]{64}$/);
  assert.equal(v.identity, undefined);
});

test('a DSSE in-toto bundle verifies against the artifact digest alone', () => {
  const w = keylessWorld({});
  const key = newEcKey();
  const bundle = dsseBundle({ subjectDigestHex: hex, log: w.log, integratedTime: w.signedAt, signer: key });
  const publicKeyPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const v = verifyBundle({
    bundle,
    artifact: { digest: `sha256:${hex}` as Digest },
    trustedRoot: w.root,
    policy: { publicKeyPem },
  });
  assert.equal(v.artifactDigest, `sha256:${hex}`);
});

test('verifyBlob reads the file and verifies like cosign verify-blob', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'customs-blob-'));
  try {
    const path = join(dir, 'blob.bin');
    writeFileSync(path, artifact);
    const w = keylessWorld({});
    const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
    const v = await verifyBlob({ path, bundle, trustedRoot: w.root, policy: identity });
    assert.equal(v.artifactDigest, `sha256:${hex}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bundled cosign simple-signing payload yields policy facts', () => {
  const w = keylessWorld({});
  const D = `sha256:${'ef'.repeat(32)}` as Digest;
  const payload = buildSimpleSigningPayload({
    dockerReference: 'registry.test/app',
    manifestDigest: D,
    type: COSIGN_SIMPLE_SIGNING_TYPE,
  });
  const bundle = messageBundle({
    artifact: payload,
    log: w.log,
    integratedTime: w.signedAt,
    signer: w.signer,
    leaf: w.leaf,
  });
  const v = verifyBundledSimpleSigning({ bundle, payload, trustedRoot: w.root, policy: identity });
  assert.equal(v.format, 'sigstore-bundle');
  assert.equal(v.payload.manifestDigest, D);
});

test('keyless verification without identity and issuer is refused', () => {
  const w = keylessWorld({});
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  assert.throws(
    () =>
      verifyBundle({
        bundle,
        artifact,
        trustedRoot: w.root,
        policy: { certificateIdentity: identity.certificateIdentity },
      }),
    /no trust policy/,
  );
});

test('a certificate bundle is refused where a key is pinned, and vice versa', () => {
  const w = keylessWorld({});
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  const publicKeyPem = w.signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  assert.throws(
    () => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: { publicKeyPem } }),
    /expected a bundle signed with a public key/,
  );
  const keyBundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer });
  assert.throws(
    () => verifyBundle({ bundle: keyBundle, artifact, trustedRoot: w.root, policy: identity }),
    /expected a keyless bundle/,
  );
});

test('malformed bundles and trusted roots are refused', () => {
  const w = keylessWorld({});
  assert.throws(() => verifyBundle({ bundle: { mediaType: 'x' }, artifact, trustedRoot: w.root, policy: identity }), {
    code: 'SIGNATURE_INVALID',
  });
  assert.throws(
    () => verifyBundle({ bundle: Buffer.from('{"a":1,"a":2}'), artifact, trustedRoot: w.root, policy: identity }),
    /duplicate key/,
  );
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  assert.throws(
    () => verifyBundle({ bundle, artifact, trustedRoot: { mediaType: 'nope' }, policy: identity }),
    /trusted root/,
  );
});
