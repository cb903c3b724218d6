// Look-alike names: near a known registry or repository but not equal → LOOKALIKE_NAME (exit 3).
import { test } from 'node:test';
import { domainToASCII } from 'node:url';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { parseQualifiedReference, parseRegistriesConf, type Reference } from '../../src/ref/index.js';
import {
  checkLookalike,
  editDistance,
  knownNamesFrom,
  lookalikeReason,
  parsePolicy,
  skeleton,
} from '../../src/policy/index.js';

const KNOWN = {
  registries: ['docker.io', 'ghcr.io', 'quay.io', 'registry.access.redhat.com', '127.0.0.1:5000'],
  repositories: ['registry.access.redhat.com/rhel7', 'quay.io/myorg', 'docker.io/library/alpine'],
};

function refused(ref: Reference, near: string): void {
  assert.throws(
    () => checkLookalike(ref, KNOWN),
    (err: unknown) =>
      err instanceof CustomsError &&
      err.code === 'LOOKALIKE_NAME' &&
      err.exitCode === 3 &&
      err.message.includes(`"${near}"`),
    `${JSON.stringify(ref)} should be refused near ${near}`,
  );
}

test('near misses of known names are refused, naming the near match', () => {
  const table: [string, string][] = [
    ['docker.com/library/alpine:3', 'docker.io'],
    ['gcr.io/x/y:1', 'ghcr.io'],
    ['quay.lo/x/y:1', 'quay.io'],
    ['qauy.io/x/y:1', 'quay.io'],
    ['registry.access.redhat.com/rel7/rhel:7', 'registry.access.redhat.com/rhel7'],
    ['quay.io/myorq/app:1', 'quay.io/myorg'],
    ['quay.io/rnyorg/app:1', 'quay.io/myorg'],
    ['docker.io/library/a1pine:3', 'docker.io/library/alpine'],
    ['d0cker.io/library/alpine:3', 'docker.io'],
  ];
  for (const [ref, near] of table) refused(parseQualifiedReference(ref), near);
});

test('a Cyrillic look-alike is refused (confusable skeleton)', () => {
  // parseReference refuses non-ASCII names outright; this covers References built elsewhere.
  refused({ registry: 'quay.io', repository: 'myоrg/app', tag: '1' }, 'quay.io/myorg');
  refused({ registry: 'dоcker.io', repository: 'library/alpine', tag: '1' }, 'docker.io');
  assert.equal(skeleton('dоcker.io'), skeleton('docker.io'));
  assert.equal(skeleton(domainToASCII('dоcker.io')), skeleton('docker.io'));
});

test('exactly known names, names under a known prefix, other ports and unrelated names pass', () => {
  for (const ref of [
    'docker.io/library/alpine:3',
    'quay.io/myorg/anything:1',
    'registry.access.redhat.com/rhel7/rhel:7',
    'ghcr.io/x/y:1',
    '127.0.0.1:5001/x:1',
    '127.0.0.2:5000/x:1',
    'example.com/x/y:1',
    'docker.io/library/debian:12',
    'quay.io/otherorg/app:1',
  ]) {
    checkLookalike(parseQualifiedReference(ref), KNOWN);
  }
});

test('edit distance is Damerau-Levenshtein (adjacent transposition costs 1)', () => {
  assert.equal(editDistance('quay', 'qauy'), 1);
  assert.equal(editDistance('docker.io', 'docker.com'), 2);
  assert.equal(editDistance('ghcr.io', 'gcr.io'), 1);
  assert.equal(editDistance('abc', 'abc'), 0);
  assert.equal(lookalikeReason('example.org', 'example.com'), 'same name under another top-level domain');
  assert.equal(lookalikeReason('mycompany.io', 'mycompany.co'), 'edit distance 1');
  assert.equal(lookalikeReason('registry.mycompany.co.uk', 'registry.mycompany.io'), undefined);
  assert.equal(
    lookalikeReason('registry.mycompany.com', 'registry.mycompany.info'),
    'same name under another top-level domain',
  );
});

test('known names come from policy scopes and registries.conf aliases', () => {
  const policy = parsePolicy(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'quay.io/myorg': [{ type: 'reject' }],
          'ghcr.io': [{ type: 'reject' }],
          '*.example.com': [{ type: 'reject' }],
          'docker.io/library/busybox:1': [{ type: 'reject' }],
        },
      },
    }),
    '/p',
  );
  const conf = parseRegistriesConf('[aliases]\n"alpine" = "docker.io/library/alpine"\n', '/r.conf');
  const known = knownNamesFrom(policy, conf);
  assert.deepEqual([...known.registries].sort(), ['docker.io', 'ghcr.io', 'quay.io']);
  assert.deepEqual([...known.repositories].sort(), [
    'docker.io/library/alpine',
    'docker.io/library/busybox',
    'quay.io/myorg',
  ]);
});
