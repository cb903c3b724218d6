// Attack: a key trusted for one registry or repository prefix vouching for an image in another scope (titanous: root keys must map to the registries they may vouch for and no further).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDigest, parseQualifiedReference } from '../../src/ref/index.js';
import { addTrust, evaluate, requirementsFor, signatureChecks } from '../../src/policy/index.js';

test('a key added for quay.io/team-a gives no standing under quay.io/team-b, quay.io/team-a2 or another registry', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'customs-policy-adv-'));
  try {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const policy = await addTrust(join(dir, 'policy.json'), join(dir, 'keys'), 'quay.io/team-a', {
      kind: 'cosign',
      pem,
    });
    const digest = parseDigest('sha256:' + 'd'.repeat(64));
    for (const name of [
      'quay.io/team-b/app:1',
      'quay.io/team-a2/app:1',
      'quay.io/app:1',
      'quay.example.com/team-a/app:1',
    ]) {
      const ref = parseQualifiedReference(name);
      const set = requirementsFor(policy, ref);
      assert.equal(set.isDefault, true, name);
      assert.deepEqual(signatureChecks(set), [], `${name}: no key applies`);
      // Even a fact the trust layer should never have produced does not satisfy reject.
      const d = evaluate(set, ref, {
        manifestDigest: digest,
        verified: [
          {
            requirementIndex: 0,
            format: 'cosign',
            keyId: 'team-a',
            manifestDigest: digest,
            dockerReference: name.split(':')[0]!,
          },
        ],
        failures: [],
      });
      assert.equal(d.allowed, false, name);
      assert.equal(d.code, 'POLICY_REJECTED');
    }
    const inScope = requirementsFor(policy, parseQualifiedReference('quay.io/team-a/app:1'));
    assert.equal(inScope.scope, 'quay.io/team-a');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
