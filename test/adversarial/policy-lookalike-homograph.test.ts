// Attack: typosquatted and homograph registry names (IDN homographs, Cyrillic letters, rn/m, 0/o) posing as a trusted registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainToASCII } from 'node:url';
import { CustomsError } from '../../src/errors.js';
import { parseQualifiedReference, type Reference } from '../../src/ref/index.js';
import { checkLookalike } from '../../src/policy/index.js';

const KNOWN = { registries: ['registry.example.com', 'ghcr.io'], repositories: ['ghcr.io/acme'] };
const isLookalike = (e: unknown) => e instanceof CustomsError && e.code === 'LOOKALIKE_NAME' && e.exitCode === 3;

test('look-alike registries and repositories are refused with exit 3, naming the near match', () => {
  const refs: Reference[] = [
    parseQualifiedReference(`${domainToASCII('registry.еxample.com')}/x:1`), // Cyrillic е, punycode
    parseQualifiedReference('registry.exarnple.com/x:1'),
    parseQualifiedReference('registry.examp1e.com/x:1'),
    parseQualifiedReference('registry.example.co/x:1'),
    parseQualifiedReference('gcr.io/acme/app:1'),
    parseQualifiedReference('ghcr.io/acrne/app:1'),
    { registry: 'ghcr.io', repository: 'аcme/app', tag: '1' },
  ];
  for (const ref of refs) assert.throws(() => checkLookalike(ref, KNOWN), isLookalike, JSON.stringify(ref));
  checkLookalike(parseQualifiedReference('ghcr.io/acme/app:1'), KNOWN);
});
