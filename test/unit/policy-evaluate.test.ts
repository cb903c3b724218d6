// Pure evaluation: reject vs missing vs invalid codes, AND semantics, thresholds, decisionError exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDigest, parseQualifiedReference, type Digest } from '../../src/ref/index.js';
import {
  decisionError,
  evaluate,
  parsePolicy,
  requirementsFor,
  signatureChecks,
  type SignatureFacts,
  type VerifiedSignature,
} from '../../src/policy/index.js';

const DIGEST = parseDigest('sha256:' + 'a'.repeat(64));
const OTHER = parseDigest('sha256:' + 'b'.repeat(64));
const REF = parseQualifiedReference('quay.io/org/app:1');

function setFor(reqs: unknown[], ref = REF) {
  const p = parsePolicy(
    JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { 'quay.io/org': reqs } } }),
    '/p',
  );
  return requirementsFor(p, ref);
}

function sig(over: Partial<VerifiedSignature> = {}): VerifiedSignature {
  return {
    requirementIndex: 0,
    format: 'cosign',
    keyId: 'k1',
    manifestDigest: DIGEST,
    dockerReference: 'quay.io/org/app',
    ...over,
  };
}

function facts(
  verified: VerifiedSignature[] = [],
  failures: SignatureFacts['failures'] = [],
  manifestDigest: Digest = DIGEST,
): SignatureFacts {
  return { manifestDigest, verified, failures };
}

const COSIGN = { type: 'sigstoreSigned', keyPath: '/k.pub', signedIdentity: { type: 'matchRepository' } };

test('insecureAcceptAnything allows; reject denies with POLICY_REJECTED (exit 7)', () => {
  const ok = evaluate(setFor([{ type: 'insecureAcceptAnything' }]), REF, facts());
  assert.equal(ok.allowed, true);
  assert.equal(ok.code, undefined);
  const no = evaluate(setFor([{ type: 'reject' }]), REF, facts([sig()]));
  assert.equal(no.allowed, false);
  assert.equal(no.code, 'POLICY_REJECTED');
  assert.match(no.reasons[0] ?? '', /scope "quay\.io\/org".*requirement 0 reject: denied/);
  assert.equal(decisionError(no).exitCode, 7);
  assert.equal(decisionError(no).code, 'POLICY_REJECTED');
});

test('no signature found is SIGNATURE_MISSING; found but not matching is SIGNATURE_INVALID (both exit 6)', () => {
  const missing = evaluate(setFor([COSIGN]), REF, facts());
  assert.equal(missing.code, 'SIGNATURE_MISSING');
  assert.equal(decisionError(missing).exitCode, 6);
  const failed = evaluate(
    setFor([COSIGN]),
    REF,
    facts([], [{ requirementIndex: 0, reason: 'signature does not verify with /k.pub' }]),
  );
  assert.equal(failed.code, 'SIGNATURE_INVALID');
  assert.match(failed.reasons[0] ?? '', /does not verify/);
  assert.equal(decisionError(failed).exitCode, 6);
});

test('a verified signature counts only for this manifest digest and a matching identity', () => {
  assert.equal(evaluate(setFor([COSIGN]), REF, facts([sig()])).allowed, true);
  const otherDigest = evaluate(setFor([COSIGN]), REF, facts([sig({ manifestDigest: OTHER })]));
  assert.equal(otherDigest.code, 'SIGNATURE_INVALID');
  assert.match(otherDigest.reasons[0] ?? '', /manifest sha256:b+/);
  const otherRepo = evaluate(setFor([COSIGN]), REF, facts([sig({ dockerReference: 'quay.io/org/evil' })]));
  assert.equal(otherRepo.code, 'SIGNATURE_INVALID');
  // Default identity matchRepoDigestOrExact needs the tag for a tagged image.
  const exact = setFor([{ type: 'sigstoreSigned', keyPath: '/k.pub' }]);
  assert.equal(evaluate(exact, REF, facts([sig()])).code, 'SIGNATURE_INVALID');
  assert.equal(evaluate(exact, REF, facts([sig({ dockerReference: 'quay.io/org/app:1' })])).allowed, true);
  // A GPG signature cannot satisfy sigstoreSigned.
  assert.equal(evaluate(setFor([COSIGN]), REF, facts([sig({ format: 'gpg' })])).code, 'SIGNATURE_INVALID');
});

test('all requirements must pass (AND), and the strongest denial code wins', () => {
  const two = setFor([COSIGN, { ...COSIGN, keyPath: '/k2.pub' }]);
  assert.equal(evaluate(two, REF, facts([sig()])).code, 'SIGNATURE_MISSING');
  assert.equal(evaluate(two, REF, facts([sig(), sig({ requirementIndex: 1, keyId: 'k2' })])).allowed, true);
  const mixed = setFor([COSIGN, { type: 'reject' }]);
  assert.equal(evaluate(mixed, REF, facts([sig()])).code, 'POLICY_REJECTED');
  const invalidAndMissing = setFor([COSIGN, { ...COSIGN, keyPath: '/k2.pub' }]);
  assert.equal(evaluate(invalidAndMissing, REF, facts([sig({ manifestDigest: OTHER })])).code, 'SIGNATURE_INVALID');
});

test('an empty requirement list denies (fail closed)', () => {
  const d = evaluate({ scope: 'x', isDefault: false, requirements: [] }, REF, facts());
  assert.equal(d.allowed, false);
  assert.equal(d.code, 'POLICY_REJECTED');
});

test('a reference pinned to another digest than the manifest is refused even under insecureAcceptAnything', () => {
  const ref = parseQualifiedReference(`quay.io/org/app@${OTHER}`);
  const d = evaluate(setFor([{ type: 'insecureAcceptAnything' }], ref), ref, facts());
  assert.equal(d.allowed, false);
  assert.equal(d.code, 'SIGNATURE_INVALID');
});

test('customsThreshold counts distinct keys across its members', () => {
  const set = setFor([
    {
      type: 'customsThreshold',
      threshold: 2,
      requirements: [COSIGN, { ...COSIGN, keyPath: '/k2.pub' }, { ...COSIGN, keyPath: '/k3.pub' }],
    },
  ]);
  const m = (subIndex: number, keyId: string) => sig({ subIndex, keyId });
  assert.equal(evaluate(set, REF, facts([m(0, 'k1')])).code, 'SIGNATURE_INVALID');
  assert.equal(evaluate(set, REF, facts([m(0, 'k1'), m(2, 'k3')])).allowed, true);
  assert.equal(evaluate(set, REF, facts()).code, 'SIGNATURE_MISSING');
  // A signature without a member index does not count toward a threshold.
  assert.equal(evaluate(set, REF, facts([m(0, 'k1'), sig({ keyId: 'k2' })])).allowed, false);
});

test('unimplemented requirement forms deny with POLICY_REJECTED, as containers/image does', () => {
  const x509 = setFor([{ type: 'signedBy', keyType: 'X509Certificates', keyPath: '/c' }]);
  assert.equal(evaluate(x509, REF, facts()).code, 'POLICY_REJECTED');
  assert.deepEqual(signatureChecks(x509), []);
  const base = setFor([{ type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchRepository' } }]);
  assert.equal(evaluate(base, REF, facts()).code, 'POLICY_REJECTED');
});

test('signatureChecks lists what the trust layer must verify, with the indexes facts must carry', () => {
  const set = setFor([
    { type: 'insecureAcceptAnything' },
    COSIGN,
    { type: 'customsThreshold', threshold: 1, requirements: [COSIGN] },
  ]);
  assert.deepEqual(
    signatureChecks(set).map((c) => [c.requirementIndex, c.subIndex]),
    [
      [1, undefined],
      [2, 0],
    ],
  );
});

test('decisionError refuses to turn an allowed decision into an error', () => {
  const ok = evaluate(setFor([{ type: 'insecureAcceptAnything' }]), REF, facts());
  assert.equal(decisionError(ok).code, 'INTERNAL');
});
