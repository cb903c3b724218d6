// Attack: one key (or one stolen key) signing an image several times, or listed under several members, to meet an N-of-M threshold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDigest, parseQualifiedReference } from '../../src/ref/index.js';
import { evaluate, parsePolicy, requirementsFor, type VerifiedSignature } from '../../src/policy/index.js';

const DIGEST = parseDigest('sha256:' + 'c'.repeat(64));
const REF = parseQualifiedReference('quay.io/org/app:1');
const member = (keyPath: string) => ({ type: 'sigstoreSigned', keyPath, signedIdentity: { type: 'matchRepository' } });

test('duplicate signatures by one key count once toward a threshold', () => {
  const policy = parsePolicy(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'quay.io/org': [
            { type: 'customsThreshold', threshold: 2, requirements: [member('/a'), member('/b'), member('/a-again')] },
          ],
        },
      },
    }),
    '/p',
  );
  const set = requirementsFor(policy, REF);
  const sig = (subIndex: number): VerifiedSignature => ({
    requirementIndex: 0,
    subIndex,
    format: 'cosign',
    keyId: 'sha256:samekey',
    manifestDigest: DIGEST,
    dockerReference: 'quay.io/org/app',
  });
  const d = evaluate(set, REF, { manifestDigest: DIGEST, verified: [sig(0), sig(0), sig(0), sig(2)], failures: [] });
  assert.equal(d.allowed, false);
  assert.equal(d.code, 'SIGNATURE_INVALID');
  assert.match(d.reasons.join('\n'), /1 distinct key\(s\) of 2 required/);
  const two = evaluate(set, REF, {
    manifestDigest: DIGEST,
    verified: [sig(0), { ...sig(1), keyId: 'sha256:otherkey' }],
    failures: [],
  });
  assert.equal(two.allowed, true);
});
