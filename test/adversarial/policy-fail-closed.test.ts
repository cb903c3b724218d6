// Attack: a policy typo or an unknown construct silently weakening verification (a misspelled field ignored, a scope that never matches, a YAML alias bomb in registries.d).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { parsePolicy, parseRegistriesD } from '../../src/policy/index.js';

const isPolicyInvalid = (e: unknown) => e instanceof CustomsError && e.code === 'POLICY_INVALID' && e.exitCode === 7;

test('misspelled or unknown policy constructs refuse the whole file instead of being ignored', () => {
  for (const doc of [
    {
      default: [{ type: 'reject' }],
      transports: {
        docker: { 'quay.io/x': [{ type: 'sigstoreSigned', keyPath: '/k', signedIdentiy: { type: 'matchExact' } }] },
      },
    },
    {
      default: [{ type: 'reject' }],
      transports: { docker: { 'quay.io/x': [{ type: 'SignedBy', keyType: 'GPGKeys', keyPath: '/k' }] } },
    },
    {
      default: [{ type: 'reject' }],
      transports: { docker: { 'docker.io/nginx': [{ type: 'sigstoreSigned', keyPath: '/k' }] } },
    },
    { default: [{ type: 'reject' }], transports: { docker: { 'quay.io/x': [] } } },
    { default: [{ type: 'insecureAcceptAnything' }], Default: [{ type: 'reject' }] },
  ]) {
    assert.throws(() => parsePolicy(JSON.stringify(doc), '/p'), isPolicyInvalid, JSON.stringify(doc));
  }
  assert.throws(
    () => parsePolicy('{"default":[{"type":"reject"}],"default":[{"type":"insecureAcceptAnything"}]}', '/p'),
    isPolicyInvalid,
  );
  assert.throws(() => parsePolicy('{"default":[{"type":"reject"}]}\n{"default":[]}', '/p'), isPolicyInvalid);
});

test('registries.d with YAML anchors and aliases (billion laughs) is refused before expansion', () => {
  const bomb = [
    'a: &a ["lol","lol","lol"]',
    'b: &b [*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b]',
    'docker:',
    '  quay.io:',
    '    lookaside: *c',
  ].join('\n');
  assert.throws(() => parseRegistriesD([{ name: 'bomb.yaml', text: bomb }]), isPolicyInvalid);
  assert.throws(
    () =>
      parseRegistriesD([{ name: 'x.yaml', text: 'docker:\n  quay.io: &x\n    lookaside: file:///a\n  ghcr.io: *x\n' }]),
    isPolicyInvalid,
  );
});
