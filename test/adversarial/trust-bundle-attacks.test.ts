// Attacks on sigstore bundle verification: cosign CVE-2022-23649 / CVE-2026-22703 (bundle for another artifact),
// CVE-2022-36056 (swapped/forged Rekor entry), untrusted Fulcio chains, and certificates outside their validity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { verifyBundle } from '../../src/trust/index.js';
import type { Digest } from '../../src/ref/index.js';
import { dsseBundle, keylessWorld, messageBundle, mintCert, newEcKey, trustedRoot } from '../helpers/trust-fixtures.js';

const identity = { certificateIdentity: 'signer@customs.test', certificateIssuer: 'https://issuer.customs.test' };
const artifact = Buffer.from('the real artifact');
const evil = Buffer.from('the attacker artifact');

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
    assert.equal((err as { exitCode?: number }).exitCode, 6);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

test('a valid bundle for another artifact is refused as such', () => {
  // CVE-2022-23649: cosign accepted a bundle whose signed content was a different artifact.
  const w = keylessWorld({});
  const bundle = messageBundle({
    artifact: evil,
    log: w.log,
    integratedTime: w.signedAt,
    signer: w.signer,
    leaf: w.leaf,
  });
  refused(
    () => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }),
    /bundle for another artifact: expected sha256:[0-9a-f]{64}, got sha256:/,
  );
});

test('a bundle whose messageDigest was swapped to the victim artifact is refused by the signature check', () => {
  // CVE-2026-22703 style: the digest field is rewritten to match, but the signature covers other bytes.
  const w = keylessWorld({});
  const bundle = messageBundle({
    artifact: evil,
    log: w.log,
    integratedTime: w.signedAt,
    signer: w.signer,
    leaf: w.leaf,
    signedDigest: createHash('sha256').update(artifact).digest(),
  });
  refused(() => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }), /signature does not verify/);
});

test('a DSSE attestation about another subject is refused', () => {
  // CVE-2022-23649 class for attestations: the in-toto subject names a different digest.
  const w = keylessWorld({});
  const key = newEcKey();
  const bundle = dsseBundle({ subjectDigestHex: 'e'.repeat(64), log: w.log, integratedTime: w.signedAt, signer: key });
  const publicKeyPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const d = `sha256:${createHash('sha256').update(artifact).digest('hex')}` as Digest;
  refused(
    () => verifyBundle({ bundle, artifact: { digest: d }, trustedRoot: w.root, policy: { publicKeyPem } }),
    /bundle for another artifact: expected an in-toto subject/,
  );
});

test('a tampered signed entry timestamp is refused as a forged Rekor entry', () => {
  // CVE-2022-36056: forged / swapped transparency-log entries must not verify.
  const w = keylessWorld({});
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  const vm = bundle.verificationMaterial as {
    tlogEntries: { integratedTime: string; inclusionPromise: { signedEntryTimestamp: string } }[];
  };
  const entry = vm.tlogEntries[0];
  assert.ok(entry);
  entry.integratedTime = String(Number(entry.integratedTime) - 30);
  refused(
    () => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }),
    /forged or tampered Rekor entry/,
  );
});

test('a Rekor entry signed by a log not in the trusted root is refused', () => {
  // Forged Rekor entry: the attacker runs their own log.
  const w = keylessWorld({});
  const rogue = keylessWorld({});
  const bundle = messageBundle({
    artifact,
    log: rogue.log,
    integratedTime: w.signedAt,
    signer: w.signer,
    leaf: w.leaf,
  });
  refused(
    () => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }),
    /forged or tampered Rekor entry/,
  );
});

test('a Rekor entry swapped in from another signature is refused', () => {
  // CVE-2022-36056 vulnerability 1: rekorBundle swapped between two valid signatures.
  const w = keylessWorld({});
  const a = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  const b = messageBundle({ artifact: evil, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  (a.verificationMaterial as Record<string, unknown>).tlogEntries = (
    b.verificationMaterial as Record<string, unknown>
  ).tlogEntries;
  refused(
    () => verifyBundle({ bundle: a, artifact, trustedRoot: w.root, policy: identity }),
    /transparency log entry is for another signature or artifact/,
  );
});

test('a certificate from an untrusted Fulcio CA is refused', () => {
  // Untrusted chain: a look-alike CA with the same name but another key.
  const w = keylessWorld({});
  const rogueCa = mintCert({
    subjectCn: 'customs-test-fulcio',
    ca: true,
    notBefore: new Date('2020-01-01'),
    notAfter: new Date('2099-01-01'),
  });
  const signer = newEcKey();
  const leaf = mintCert({
    subjectCn: '',
    issuer: rogueCa,
    key: signer,
    email: identity.certificateIdentity,
    oidcIssuer: identity.certificateIssuer,
    notBefore: new Date(w.signedAt.getTime() - 60_000),
    notAfter: new Date(w.signedAt.getTime() + 60_000),
  });
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer, leaf });
  refused(() => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }), /certificate not trusted/);
});

test('a leaf issued by a non-CA certificate is refused', () => {
  // Untrusted chain: an end-entity certificate used as an issuer (basicConstraints CA=false).
  const w = keylessWorld({});
  const notCa = mintCert({
    subjectCn: 'not-a-ca',
    notBefore: new Date('2020-01-01'),
    notAfter: new Date('2099-01-01'),
  });
  const signer = newEcKey();
  const leaf = mintCert({
    subjectCn: '',
    issuer: notCa,
    key: signer,
    email: identity.certificateIdentity,
    oidcIssuer: identity.certificateIssuer,
    notBefore: new Date(w.signedAt.getTime() - 60_000),
    notAfter: new Date(w.signedAt.getTime() + 60_000),
  });
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer, leaf });
  const root = trustedRoot({ cas: [notCa], logs: [w.log] });
  refused(() => verifyBundle({ bundle, artifact, trustedRoot: root, policy: identity }), /certificate not trusted/);
});

test('a certificate that had expired when the entry was logged is refused', () => {
  // Expired certificate: signing time (Rekor integratedTime) after notAfter.
  const signedAt = new Date(Date.now() - 3_600_000);
  const w = keylessWorld({
    signedAt,
    leafNotBefore: new Date(signedAt.getTime() - 20 * 60_000),
    leafNotAfter: new Date(signedAt.getTime() - 10 * 60_000),
  });
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: signedAt, signer: w.signer, leaf: w.leaf });
  refused(() => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }), /not valid at signing time/);
});

test('a certificate not yet valid when the entry was logged is refused', () => {
  // Not-yet-valid certificate: signing time before notBefore.
  const signedAt = new Date(Date.now() - 3_600_000);
  const w = keylessWorld({
    signedAt,
    leafNotBefore: new Date(signedAt.getTime() + 10 * 60_000),
    leafNotAfter: new Date(signedAt.getTime() + 20 * 60_000),
  });
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: signedAt, signer: w.signer, leaf: w.leaf });
  refused(() => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }), /not valid at signing time/);
});

test('a log entry dated in the future is refused', () => {
  // Freeze/clock attack: a log time after `now` cannot be a real signing time.
  const future = new Date(Date.now() + 3_600_000);
  const w = keylessWorld({ signedAt: future });
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: future, signer: w.signer, leaf: w.leaf });
  refused(
    () => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity, now: new Date() }),
    /in the future/,
  );
});

test('another identity or issuer is refused', () => {
  // Identity confusion: a valid Fulcio certificate for someone else.
  const w = keylessWorld({ email: 'attacker@evil.test' });
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: w.signer, leaf: w.leaf });
  refused(
    () => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: identity }),
    /identity mismatch.*attacker@evil.test/,
  );
  const w2 = keylessWorld({ oidcIssuer: 'https://evil.test' });
  const b2 = messageBundle({ artifact, log: w2.log, integratedTime: w2.signedAt, signer: w2.signer, leaf: w2.leaf });
  refused(
    () => verifyBundle({ bundle: b2, artifact, trustedRoot: w2.root, policy: identity }),
    /identity mismatch.*issuer/,
  );
});

test('a key bundle verified with the wrong pinned key is refused', () => {
  // Wrong key: signature by a key other than the one policy names.
  const w = keylessWorld({});
  const key = newEcKey();
  const bundle = messageBundle({ artifact, log: w.log, integratedTime: w.signedAt, signer: key });
  const publicKeyPem = newEcKey().publicKey.export({ type: 'spki', format: 'pem' }).toString();
  refused(
    () => verifyBundle({ bundle, artifact, trustedRoot: w.root, policy: { publicKeyPem } }),
    /signature does not verify/,
  );
});
