// Scope precedence: containers/image requirementsForImageRef with the docker transport's identity and namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQualifiedReference } from '../../src/ref/index.js';
import { parsePolicy, policyNamespaces, requirementsFor } from '../../src/policy/index.js';

const D = 'sha256:' + 'a'.repeat(64);

test('namespaces run from the repository up to host:port, then host wildcards without the port', () => {
  assert.deepEqual(policyNamespaces({ registry: 'a.b.example.com:5000', repository: 'ns/sub/repo' }), [
    'a.b.example.com:5000/ns/sub/repo',
    'a.b.example.com:5000/ns/sub',
    'a.b.example.com:5000/ns',
    'a.b.example.com:5000',
    '*.b.example.com',
    '*.example.com',
    '*.com',
  ]);
  assert.deepEqual(policyNamespaces({ registry: 'localhost:5000', repository: 'x' }), [
    'localhost:5000/x',
    'localhost:5000',
  ]);
  assert.deepEqual(policyNamespaces({ registry: '[::1]:5000', repository: 'x' }), ['[::1]:5000/x', '[::1]:5000']);
});

test('the most specific scope present wins, and lists are never merged', () => {
  const scopes = ['quay.io/ns/repo:1', `quay.io/ns/repo@${D}`, 'quay.io/ns/repo', 'quay.io/ns', 'quay.io', '*.io', ''];
  const docker: Record<string, unknown> = {};
  for (const s of scopes) docker[s] = [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: `/k/${s}` }];
  const table: [string, string][] = [
    ['quay.io/ns/repo:1', 'quay.io/ns/repo:1'],
    ['quay.io/ns/repo:2', 'quay.io/ns/repo'],
    [`quay.io/ns/repo@${D}`, `quay.io/ns/repo@${D}`],
    [`quay.io/ns/repo:1@${D}`, 'quay.io/ns/repo:1'],
    ['quay.io/ns/other:1', 'quay.io/ns'],
    ['quay.io/other/x:1', 'quay.io'],
    ['ghcr.io/x/y:1', '*.io'],
    ['example.com/x:1', ''],
  ];
  const all = parsePolicy(JSON.stringify({ default: [{ type: 'reject' }], transports: { docker } }), '/p');
  for (const [ref, want] of table) {
    const set = requirementsFor(all, parseQualifiedReference(ref));
    assert.equal(set.scope, want, ref);
    assert.equal(set.isDefault, false);
  }
  const fallthrough: [string[], string, string][] = [
    [['quay.io/ns/repo', 'quay.io'], 'quay.io/ns/repo:1', 'quay.io/ns/repo'],
    [['quay.io', '*.io'], 'quay.io/ns/repo:1', 'quay.io'],
    [['*.io', ''], 'quay.io/ns/repo:1', '*.io'],
    [[''], 'quay.io/ns/repo:1', ''],
    [['quay.io:5000'], 'quay.io/ns/repo:1', 'default'],
    [['quay.io'], 'quay.io:5000/ns/repo:1', 'default'],
    [['*.quay.io'], 'quay.io/ns/repo:1', 'default'],
  ];
  for (const [present, ref, want] of fallthrough) {
    const d: Record<string, unknown> = {};
    for (const s of present) d[s] = [{ type: 'insecureAcceptAnything' }];
    const p = parsePolicy(JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: d } }), '/p');
    const set = requirementsFor(p, parseQualifiedReference(ref));
    assert.equal(set.scope, want, `${ref} with ${present.join(',')}`);
    assert.equal(set.isDefault, want === 'default');
  }
});

test('other transports never apply', () => {
  const p = parsePolicy(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { 'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] } },
    }),
    '/p',
  );
  const set = requirementsFor(p, parseQualifiedReference('quay.io/a/b:1'));
  assert.equal(set.isDefault, true);
  assert.deepEqual(set.requirements, [{ type: 'reject' }]);
});
