// Attack: a valid signature moved to another image — over another manifest digest, or naming another repository (cosign CVE-2022-23649 style substitution).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDigest, parseQualifiedReference } from '../../src/ref/index.js';
import { decisionError, evaluate, parsePolicy, requirementsFor } from '../../src/policy/index.js';

const IMAGE = parseDigest('sha256:' + '1'.repeat(64));
const SIGNED = parseDigest('sha256:' + '2'.repeat(64));
const REF = parseQualifiedReference('registry.example.com/team/app:2');
const policy = parsePolicy(
  JSON.stringify({
    default: [{ type: 'reject' }],
    transports: {
      docker: { 'registry.example.com/team': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k.gpg' }] },
    },
  }),
  '/p',
);

test('a cryptographically valid signature over another digest or for another name is SIGNATURE_INVALID (exit 6)', () => {
  const set = requirementsFor(policy, REF);
  const base = {
    requirementIndex: 0,
    format: 'gpg' as const,
    keyId: 'FPR',
    manifestDigest: IMAGE,
    dockerReference: 'registry.example.com/team/app:2',
  };
  assert.equal(evaluate(set, REF, { manifestDigest: IMAGE, verified: [base], failures: [] }).allowed, true);
  for (const forged of [
    { ...base, manifestDigest: SIGNED },
    { ...base, dockerReference: 'registry.example.com/team/other:2' },
    { ...base, dockerReference: 'registry.example.com/team/app:1' },
    { ...base, dockerReference: 'registry.example.com/team/app:2@' + SIGNED },
    { ...base, dockerReference: 'not a reference' },
  ]) {
    const d = evaluate(set, REF, { manifestDigest: IMAGE, verified: [forged], failures: [] });
    assert.equal(d.allowed, false, JSON.stringify(forged));
    assert.equal(d.code, 'SIGNATURE_INVALID');
    assert.equal(decisionError(d).exitCode, 6);
  }
});
