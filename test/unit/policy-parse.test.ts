// containers-policy.json(5) parsing: what skopeo accepts means the same here; everything else is refused (POLICY_INVALID).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { parsePolicy, starterPolicy, type PolicyRequirement } from '../../src/policy/index.js';

function invalid(json: unknown, pathPart: string): void {
  const text = typeof json === 'string' ? json : JSON.stringify(json);
  assert.throws(
    () => parsePolicy(text, '/p.json'),
    (err: unknown) =>
      err instanceof CustomsError &&
      err.code === 'POLICY_INVALID' &&
      err.exitCode === 7 &&
      err.message.includes(pathPart),
    `expected POLICY_INVALID mentioning ${pathPart} for ${text}`,
  );
}

function withDocker(reqs: unknown, scope = 'quay.io/org'): unknown {
  return { default: [{ type: 'reject' }], transports: { docker: { [scope]: reqs } } };
}

// containers/image signature/fixtures/policy.json, less its two "bogus/…" scopes (see the next test).
const FIXTURE = {
  default: [{ type: 'reject' }],
  transports: {
    dir: { '': [{ type: 'insecureAcceptAnything' }] },
    registry: {
      'example.com/playground': [{ type: 'insecureAcceptAnything' }],
      'example.com/production': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/keys/employee-gpg-keyring' }],
    },
    docker: {
      'example.com/hardened': [
        {
          type: 'signedBy',
          keyType: 'GPGKeys',
          keyPath: '/keys/employee-gpg-keyring',
          signedIdentity: { type: 'matchRepository' },
        },
        {
          type: 'signedBy',
          keyType: 'signedByGPGKeys',
          keyPath: '/keys/public-key-signing-gpg-keyring',
          signedIdentity: { type: 'matchExact' },
        },
        {
          type: 'signedBaseLayer',
          baseLayerIdentity: { type: 'exactRepository', dockerRepository: 'registry.access.redhat.com/rhel7/rhel' },
        },
      ],
      'example.com/hardened-x509': [
        {
          type: 'signedBy',
          keyType: 'X509Certificates',
          keyPath: '/keys/employee-cert-file',
          signedIdentity: { type: 'matchRepository' },
        },
        { type: 'signedBy', keyType: 'signedByX509CAs', keyPath: '/keys/public-key-signing-ca-file' },
      ],
      'registry.access.redhat.com': [
        {
          type: 'signedBy',
          keyType: 'signedByGPGKeys',
          keyPath: '/keys/RH',
          signedIdentity: { type: 'matchRepoDigestOrExact' },
        },
      ],
      'private-mirror:5000/vendor-mirror': [
        {
          type: 'signedBy',
          keyType: 'GPGKeys',
          keyPath: '/keys/vendor-gpg-keyring',
          signedIdentity: {
            type: 'remapIdentity',
            prefix: 'private-mirror:5000/vendor-mirror',
            signedPrefix: 'vendor.example.com',
          },
        },
      ],
      '*.access.redhat.com': [{ type: 'signedBy', keyType: 'signedByGPGKeys', keyPath: '/keys/RH' }],
      '*.redhat.com': [{ type: 'signedBy', keyType: 'signedByGPGKeys', keyPath: '/keys/RH' }],
      '*.com': [{ type: 'signedBy', keyType: 'signedByGPGKeys', keyPath: '/keys/RH' }],
      'example.com/key-data-example': [{ type: 'signedBy', keyType: 'signedByGPGKeys', keyData: 'bm9uc2Vuc2U=' }],
    },
  },
};

test('parses the containers/image fixture policy, keeping every transport', () => {
  const p = parsePolicy(JSON.stringify(FIXTURE), '/etc/containers/policy.json');
  assert.deepEqual(p.default, [{ type: 'reject' }]);
  assert.deepEqual([...p.transports.keys()], ['dir', 'registry', 'docker']);
  const hardened = p.transports.get('docker')?.get('example.com/hardened') ?? [];
  assert.equal(hardened.length, 3);
  assert.deepEqual(hardened[0], {
    type: 'signedBy',
    keyType: 'GPGKeys',
    keys: { kind: 'path', path: '/keys/employee-gpg-keyring' },
    signedIdentity: { type: 'matchRepository' },
  });
  const kd = p.transports.get('docker')?.get('example.com/key-data-example')?.[0] as Extract<
    PolicyRequirement,
    { type: 'signedBy' }
  >;
  assert.equal(kd.keys.kind, 'data');
  assert.equal(kd.keys.kind === 'data' && Buffer.from(kd.keys.data).toString(), 'nonsense');
  // signedIdentity defaults to matchRepoDigestOrExact.
  assert.deepEqual((p.transports.get('docker')?.get('*.com')?.[0] as { signedIdentity: unknown }).signedIdentity, {
    type: 'matchRepoDigestOrExact',
  });
});

test('docker scopes that could never match a customs reference are refused, unlike skopeo which ignores them', () => {
  invalid(withDocker([{ type: 'reject' }], 'bogus/key-data-example'), '$.transports.docker["bogus/key-data-example"]');
  invalid(withDocker([{ type: 'reject' }], 'docker.io/busybox'), 'docker.io/busybox');
  invalid(withDocker([{ type: 'reject' }], 'Quay.io/org'), 'Quay.io/org');
  invalid(withDocker([{ type: 'reject' }], '*.example.com:5000'), '*.example.com:5000');
  invalid(withDocker([{ type: 'reject' }], 'quay.io/org:1@sha256:' + '0'.repeat(64)), 'quay.io/org');
  // Other transports' scopes are theirs to interpret.
  parsePolicy(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { 'docker-daemon': { whatever: [{ type: 'reject' }] } },
    }),
    '/p',
  );
});

test('every valid docker scope form is accepted', () => {
  for (const scope of [
    '',
    'quay.io',
    'localhost:5000',
    'quay.io/org',
    'quay.io/org/app',
    'quay.io/org/app:1',
    `quay.io/org/app@sha256:${'a'.repeat(64)}`,
    '*.example.com',
    '[::1]:5000/x',
  ]) {
    parsePolicy(JSON.stringify(withDocker([{ type: 'insecureAcceptAnything' }], scope)), '/p');
  }
});

test('unknown fields anywhere refuse the policy, naming the JSON path', () => {
  invalid({ default: [{ type: 'reject' }], extra: 1 }, '$.extra');
  invalid({ default: [{ type: 'reject', why: 'x' }] }, '$.default[0].why');
  invalid(
    withDocker([{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', keyid: 'x' }]),
    '$.transports.docker["quay.io/org"][0].keyid',
  );
  invalid(
    withDocker([{ type: 'sigstoreSigned', keyPath: '/k', signedIdentity: { type: 'matchExact', x: 1 } }]),
    'signedIdentity.x',
  );
  invalid(
    withDocker([
      {
        type: 'sigstoreSigned',
        fulcio: { caPath: '/c', oidcIssuer: 'i', subjectEmail: 's', subject: 'x' },
        rekorPublicKeyPath: '/r',
      },
    ]),
    'fulcio.subject',
  );
  invalid(withDocker([{ type: 'sigstoreSigned', pki: {} }]), 'pki');
});

test('unknown requirement or identity types refuse the policy', () => {
  invalid({ default: [{ type: 'acceptEverything' }] }, 'unknown requirement type');
  invalid({ default: [{}] }, '$.default[0]');
  invalid(
    withDocker([{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: { type: 'matchAnything' } }]),
    'unknown signedIdentity type',
  );
  invalid(withDocker([{ type: 'signedBy', keyType: 'PGP', keyPath: '/k' }]), 'keyType');
});

test('wrong types, nulls, empty lists and missing default are refused', () => {
  invalid('[]', '$');
  invalid({}, '"default"');
  invalid({ default: [] }, '$.default');
  invalid({ default: { type: 'reject' } }, '$.default');
  invalid({ default: [{ type: 'reject' }], transports: [] }, '$.transports');
  invalid(withDocker({ type: 'reject' }), 'quay.io/org');
  invalid(withDocker([{ type: 'signedBy', keyType: 'GPGKeys', keyPath: null }]), 'keyPath');
  invalid(withDocker([{ type: 'signedBy', keyType: 'GPGKeys', keyPaths: [] }]), 'keyPaths');
  invalid(withDocker([{ type: 'signedBy', keyType: 'GPGKeys', keyData: 'not base64!' }]), 'keyData');
  invalid('{"default":[{"type":"reject"}],"default":[{"type":"insecureAcceptAnything"}]}', 'duplicate key');
});

test('key sources: exactly one of keyPath/keyPaths/keyData (signedBy) and keyPath/keyPaths/keyData/keyDatas/fulcio (sigstoreSigned)', () => {
  invalid(withDocker([{ type: 'signedBy', keyType: 'GPGKeys' }]), 'exactly one of keyPath, keyPaths, keyData');
  invalid(
    withDocker([{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/a', keyData: 'YQ==' }]),
    'keyPath and keyData',
  );
  invalid(withDocker([{ type: 'signedBy', keyPath: '/a' }]), 'keyType');
  invalid(withDocker([{ type: 'sigstoreSigned' }]), 'exactly one of');
  invalid(
    withDocker([
      {
        type: 'sigstoreSigned',
        keyPath: '/a',
        fulcio: { caPath: '/c', oidcIssuer: 'i', subjectEmail: 's' },
        rekorPublicKeyPath: '/r',
      },
    ]),
    'fulcio',
  );
  invalid(
    withDocker([{ type: 'sigstoreSigned', fulcio: { caPath: '/c', oidcIssuer: 'i', subjectEmail: 's' } }]),
    'Rekor',
  );
  invalid(
    withDocker([
      {
        type: 'sigstoreSigned',
        fulcio: { caPath: '/c', caData: 'YQ==', oidcIssuer: 'i', subjectEmail: 's' },
        rekorPublicKeyPath: '/r',
      },
    ]),
    'caPath, caData',
  );
  invalid(
    withDocker([{ type: 'sigstoreSigned', fulcio: { caPath: '/c', subjectEmail: 's' }, rekorPublicKeyPath: '/r' }]),
    'oidcIssuer',
  );
  invalid(
    withDocker([{ type: 'sigstoreSigned', keyPath: '/a', rekorPublicKeyPath: '/r', rekorPublicKeyData: 'YQ==' }]),
    'rekorPublicKey',
  );
  const p = parsePolicy(
    JSON.stringify(
      withDocker([
        { type: 'sigstoreSigned', keyPaths: ['/a', '/b'], rekorPublicKeyDatas: ['YQ=='] },
        {
          type: 'sigstoreSigned',
          fulcio: { caData: 'YQ==', oidcIssuer: 'https://issuer', subjectEmail: 'a@b.c' },
          rekorPublicKeyPath: '/r',
        },
      ]),
    ),
    '/p',
  );
  const reqs = p.transports.get('docker')?.get('quay.io/org') ?? [];
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1]?.type === 'sigstoreSigned' && reqs[1].keys.kind, 'fulcio');
});

test('identity values are validated when the policy is read', () => {
  invalid(
    withDocker([
      {
        type: 'signedBy',
        keyType: 'GPGKeys',
        keyPath: '/k',
        signedIdentity: { type: 'exactReference', dockerReference: 'quay.io/org/app' },
      },
    ]),
    'dockerReference',
  );
  invalid(
    withDocker([
      {
        type: 'signedBy',
        keyType: 'GPGKeys',
        keyPath: '/k',
        signedIdentity: { type: 'exactRepository', dockerRepository: 'UPPER' },
      },
    ]),
    'dockerRepository',
  );
  invalid(
    withDocker([
      {
        type: 'signedBy',
        keyType: 'GPGKeys',
        keyPath: '/k',
        signedIdentity: { type: 'remapIdentity', prefix: '*.x', signedPrefix: 'a.b' },
      },
    ]),
    'prefix',
  );
  invalid(
    withDocker([
      { type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: { type: 'remapIdentity', prefix: 'a.b' } },
    ]),
    'signedPrefix',
  );
  parsePolicy(
    JSON.stringify(
      withDocker([
        {
          type: 'signedBy',
          keyType: 'GPGKeys',
          keyPath: '/k',
          signedIdentity: { type: 'remapIdentity', prefix: 'localhost:5000', signedPrefix: 'docker.io/library' },
        },
      ]),
    ),
    '/p',
  );
});

test('customsThreshold needs 1 ≤ threshold ≤ members and only signature members', () => {
  const member = { type: 'sigstoreSigned', keyPath: '/a' };
  const ok = parsePolicy(
    JSON.stringify(withDocker([{ type: 'customsThreshold', threshold: 2, requirements: [member, member, member] }])),
    '/p',
  );
  assert.equal(ok.transports.get('docker')?.get('quay.io/org')?.[0]?.type, 'customsThreshold');
  invalid(withDocker([{ type: 'customsThreshold', threshold: 0, requirements: [member] }]), 'threshold');
  invalid(withDocker([{ type: 'customsThreshold', threshold: 2, requirements: [member] }]), 'threshold');
  invalid(withDocker([{ type: 'customsThreshold', threshold: 1.5, requirements: [member, member] }]), 'threshold');
  invalid(
    withDocker([{ type: 'customsThreshold', threshold: 1, requirements: [{ type: 'insecureAcceptAnything' }] }]),
    'requirements[0].type',
  );
  invalid(withDocker([{ type: 'customsThreshold', threshold: 1, requirements: [] }]), 'requirements');
});

test('the starter policy rejects by default and parses', () => {
  const p = parsePolicy(starterPolicy(), '/p');
  assert.deepEqual(p.default, [{ type: 'reject' }]);
  assert.equal(p.transports.get('docker')?.size, 0);
});
