import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { signGpgSimple, verifyGpgSimpleSignature } from '../../src/trust/index.js';
import type { Digest } from '../../src/ref/index.js';
import { gnupgHome } from '../helpers/trust-fixtures.js';

// Real GnuPG and skopeo: what skopeo signs customs verifies, and what customs signs skopeo verifies.
const home = gnupgHome();
const other = gnupgHome('intruder <i@example.test>');
after(() => {
  home.cleanup();
  other.cleanup();
});

const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 },
  layers: [],
});
const manifestPath = join(home.dir, 'manifest.json');
writeFileSync(manifestPath, manifest);
const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}` as Digest;
const REF = 'registry.test/team/app:1.0';

function skopeo(args: string[]): string {
  return execFileSync('skopeo', args, {
    env: { ...process.env, GNUPGHOME: home.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

test('a signature made by skopeo standalone-sign verifies in customs', async () => {
  const sigPath = join(home.dir, 'skopeo.sig');
  skopeo(['standalone-sign', manifestPath, REF, home.fingerprint, '-o', sigPath]);
  const v = await verifyGpgSimpleSignature({ signature: readFileSync(sigPath), publicKeys: home.publicKeyArmored() });
  assert.equal(v.keyFingerprint, home.fingerprint);
  assert.equal(v.payload.dockerReference, REF);
  assert.equal(v.payload.manifestDigest, digest);
  assert.equal(v.payload.type, 'atomic container signature');
});

test('a signature made by customs verifies with skopeo standalone-verify', async () => {
  const sig = await signGpgSimple({
    dockerReference: REF,
    manifestDigest: digest,
    privateKeyArmored: home.secretKeyArmored(),
  });
  const sigPath = join(home.dir, 'customs.sig');
  writeFileSync(sigPath, sig);
  const out = skopeo(['standalone-verify', manifestPath, REF, home.fingerprint, sigPath]);
  assert.match(out, new RegExp(`Signature verified, digest ${digest}`));
  const v = await verifyGpgSimpleSignature({
    signature: sig,
    publicKeys: Buffer.from(home.gpg(['--export', home.fingerprint])),
  });
  assert.equal(v.payload.manifestDigest, digest);
});

test('a keyring with several armored blocks is read', async () => {
  const sig = await signGpgSimple({
    dockerReference: REF,
    manifestDigest: digest,
    privateKeyArmored: home.secretKeyArmored(),
  });
  const v = await verifyGpgSimpleSignature({
    signature: sig,
    publicKeys: other.publicKeyArmored() + home.publicKeyArmored(),
  });
  assert.equal(v.keyFingerprint, home.fingerprint);
});

test('a passphrase-protected openpgp key signs with its passphrase', async () => {
  const { privateKey, publicKey } = await openpgp.generateKey({
    userIDs: [{ name: 't' }],
    passphrase: 'pw-pw-pw',
    format: 'armored',
  });
  const sig = await signGpgSimple({
    dockerReference: REF,
    manifestDigest: digest,
    privateKeyArmored: privateKey,
    passphrase: 'pw-pw-pw',
  });
  const v = await verifyGpgSimpleSignature({ signature: sig, publicKeys: publicKey });
  assert.equal(v.payload.dockerReference, REF);
  await assert.rejects(signGpgSimple({ dockerReference: REF, manifestDigest: digest, privateKeyArmored: privateKey }), {
    code: 'SIGNATURE_INVALID',
  });
});

test('an empty signature is SIGNATURE_MISSING and garbage is SIGNATURE_INVALID', async () => {
  await assert.rejects(verifyGpgSimpleSignature({ signature: Buffer.alloc(0), publicKeys: home.publicKeyArmored() }), {
    code: 'SIGNATURE_MISSING',
  });
  await assert.rejects(
    verifyGpgSimpleSignature({ signature: Buffer.from('garbage'), publicKeys: home.publicKeyArmored() }),
    { code: 'SIGNATURE_INVALID' },
  );
});
