import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import {
  goCanonicalJson,
  notaryKeyId,
  parseRfc3339,
  verifyNotaryTag,
  type NotaryMetadata,
} from '../../src/trust/index.js';
import { isCustomsError } from '../../src/errors.js';
import {
  DAY_MS,
  REAL_NOTARY_CAPTURE,
  YEAR_MS,
  buildRepo,
  ecdsaKey,
  rootCertKey,
  signatureBy,
  envelope,
  keyJson,
  goTime,
  type FixtureKey,
} from '../helpers/notary-fixtures.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const GUN = 'registry.example/team/app';
const M1 = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');
const M2 = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}');
const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function real(): NotaryMetadata {
  const f = REAL_NOTARY_CAPTURE.files;
  return {
    root: Buffer.from(f['root.json']),
    timestamp: Buffer.from(f['timestamp.json']),
    snapshot: Buffer.from(f['snapshot.json']),
    targets: Buffer.from(f['targets.json']),
    delegations: { 'targets/releases': Buffer.from(f['targets/releases.json']) },
  };
}
const REAL_NOW = new Date(REAL_NOTARY_CAPTURE.validAt);

test('real notary 0.7 metadata: a tag signed in targets verifies to its manifest digest and size', () => {
  const r = verifyNotaryTag({
    gun: REAL_NOTARY_CAPTURE.gun,
    tag: 'v1',
    metadata: real(),
    pinnedRoot: real().root,
    now: REAL_NOW,
  });
  assert.equal(r.digest, REAL_NOTARY_CAPTURE.v1.digest);
  assert.equal(r.size, REAL_NOTARY_CAPTURE.v1.size);
  assert.equal(r.role, 'targets');
  assert.equal(r.rootPinned, true);
  assert.deepEqual(r.versions, {
    root: 1,
    timestamp: 3,
    snapshot: 4,
    targets: 3,
    delegations: { 'targets/releases': 1 },
  });
});

test('real notary 0.7 metadata: a tag signed in targets/releases verifies with the delegated key', () => {
  const r = verifyNotaryTag({
    gun: REAL_NOTARY_CAPTURE.gun,
    tag: 'v2',
    metadata: real(),
    pinnedRoot: real().root,
    now: REAL_NOW,
  });
  assert.equal(r.digest, REAL_NOTARY_CAPTURE.v2.digest);
  assert.equal(r.size, REAL_NOTARY_CAPTURE.v2.size);
  assert.equal(r.role, 'targets/releases');
  assert.equal(r.signerKeyIds.length, 1);
});

test('real notary 0.7 metadata: a pin by root key ID works, and no pin is reported as not pinned', () => {
  const pinned = verifyNotaryTag({
    gun: REAL_NOTARY_CAPTURE.gun,
    tag: 'v1',
    metadata: real(),
    pinnedRoot: { keyIds: ['f694d770b20456e9fa52508d57579886c618c5f7c52554b38a2dbe26d2f239e1'] },
    now: REAL_NOW,
  });
  assert.equal(pinned.rootPinned, true);
  const tofu = verifyNotaryTag({ gun: REAL_NOTARY_CAPTURE.gun, tag: 'v1', metadata: real(), now: REAL_NOW });
  assert.equal(tofu.rootPinned, false);
  assert.equal(tofu.digest, REAL_NOTARY_CAPTURE.v1.digest);
});

test('real notary 0.7 metadata: the GUN must be the root certificate CN', () => {
  assert.throws(
    () => verifyNotaryTag({ gun: 'docker.io/other/repo', tag: 'v1', metadata: real(), now: REAL_NOW }),
    (e: unknown) => isCustomsError(e) && e.code === 'SIGNATURE_INVALID' && /not the GUN/.test(e.message),
  );
});

test('Go-canonical JSON of a parsed signed object reproduces the bytes notary signed', () => {
  for (const name of [
    'root.json',
    'timestamp.json',
    'snapshot.json',
    'targets.json',
    'targets/releases.json',
  ] as const) {
    const text = REAL_NOTARY_CAPTURE.files[name];
    const signedText = text.slice('{"signed":'.length, text.indexOf(',"signatures":'));
    const parsed = JSON.parse(text) as { signed: unknown };
    assert.equal(goCanonicalJson(parsed.signed).toString('utf8'), signedText, name);
  }
});

test('Go-canonical JSON escapes only quote and backslash, sorts keys by UTF-8 bytes and refuses fractions', () => {
  assert.equal(
    goCanonicalJson({ b: 'a"b\\c\n<&>é', a: [1, true, null] }).toString('utf8'),
    '{"a":[1,true,null],"b":"a\\"b\\\\c\n<&>é"}',
  );
  // U+FF01 sorts before U+1F600 in UTF-16 code units but after it... in UTF-8 bytes U+FF01 (EF BC 81) < U+1F600 (F0 9F 98 80).
  assert.equal(goCanonicalJson({ '\u{1F600}': 1, '\uFF01': 2 }).toString('utf8'), '{"\uFF01":2,"\u{1F600}":1}');
  assert.equal(goCanonicalJson({ n: 1e3, z: -0 }).toString('utf8'), '{"n":1000,"z":0}');
  assert.throws(
    () => goCanonicalJson({ n: 1.5 }),
    (e: unknown) => isCustomsError(e) && e.code === 'SIGNATURE_INVALID',
  );
});

test('key IDs are sha256 of the canonical public key JSON, as notary computes them', () => {
  const root = JSON.parse(REAL_NOTARY_CAPTURE.files['root.json']) as {
    signed: { keys: Record<string, { keytype: string; keyval: { public: string } }> };
  };
  for (const [id, k] of Object.entries(root.signed.keys)) assert.equal(notaryKeyId(k.keytype, k.keyval.public), id);
});

test('RFC 3339 times parse with nanoseconds and offsets, and impossible dates are refused', () => {
  assert.equal(parseRfc3339('2036-11-22T16:39:54.861041289Z')?.toISOString(), '2036-11-22T16:39:54.861Z');
  assert.equal(parseRfc3339('2026-01-01T02:00:00+02:00')?.toISOString(), '2026-01-01T00:00:00.000Z');
  assert.equal(parseRfc3339('2026-02-31T00:00:00Z'), undefined);
  assert.equal(parseRfc3339('2026-01-01 00:00:00Z'), undefined);
  assert.equal(parseRfc3339(12), undefined);
});

test('a generated repository verifies tags from targets and targets/releases, releases first', () => {
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: M1, both: M1 }, releaseTags: { v2: M2, both: M2 } });
  const v1 = verifyNotaryTag({ gun: GUN, tag: 'v1', metadata: repo.metadata, pinnedRoot: repo.files.root, now: NOW });
  assert.equal(v1.digest, sha(M1));
  assert.equal(v1.role, 'targets');
  const v2 = verifyNotaryTag({ gun: GUN, tag: 'v2', metadata: repo.metadata, pinnedRoot: repo.files.root, now: NOW });
  assert.equal(v2.digest, sha(M2));
  assert.equal(v2.role, 'targets/releases');
  const both = verifyNotaryTag({
    gun: GUN,
    tag: 'both',
    metadata: repo.metadata,
    pinnedRoot: repo.files.root,
    now: NOW,
  });
  assert.equal(both.digest, sha(M2), 'docker looks in targets/releases before targets');
});

test('trusted-state versions equal to the served ones are accepted and the result gives the next state', () => {
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: M1 },
    versions: { root: 1, timestamp: 9, snapshot: 7, targets: 5 },
  });
  const r = verifyNotaryTag({
    gun: GUN,
    tag: 'v1',
    metadata: repo.metadata,
    pinnedRoot: repo.files.root,
    now: NOW,
    trustedState: { root: 1, timestamp: 9, snapshot: 7, targets: 5 },
  });
  assert.deepEqual(r.versions, { root: 1, timestamp: 9, snapshot: 7, targets: 5, delegations: {} });
});

test('a threshold of two distinct keys is met by two keys', () => {
  const t = [ecdsaKey(), ecdsaKey()];
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: M1 }, keys: { targets: t }, thresholds: { targets: 2 } });
  assert.equal(verifyNotaryTag({ gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW }).signerKeyIds.length, 2);
});

function rotatedRoot(
  newKeys: FixtureKey[],
  other: ReturnType<typeof buildRepo>['keys'],
  version: number,
  signers: FixtureKey[],
): Buffer {
  const signed = {
    _type: 'Root',
    consistent_snapshot: false,
    expires: goTime(new Date(NOW.getTime() + 10 * YEAR_MS)),
    keys: Object.fromEntries(
      [...newKeys, ...other.targets, ...other.snapshot, ...other.timestamp].map((k) => [k.id, keyJson(k)]),
    ),
    roles: {
      root: { keyids: newKeys.map((k) => k.id), threshold: 1 },
      snapshot: { keyids: other.snapshot.map((k) => k.id), threshold: 1 },
      targets: { keyids: other.targets.map((k) => k.id), threshold: 1 },
      timestamp: { keyids: other.timestamp.map((k) => k.id), threshold: 1 },
    },
    version,
  };
  return envelope(
    signed,
    signers.map((k) => signatureBy(k, signed)),
  );
}

test('a rotated root is trusted when it chains from the pinned root, signed by old and new root keys', () => {
  const k1 = [rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS))];
  const k2 = [rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS))];
  const k3 = [rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS))];
  const v1repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: M1 }, keys: { root: k1 } });
  const keys = v1repo.keys;
  const root2 = rotatedRoot(k2, keys, 2, [...k1, ...k2]);
  const v3repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: M1 },
    keys: { ...keys, root: k3 },
    versions: { root: 3 },
    signers: { root: [...k2, ...k3] },
  });
  const r = verifyNotaryTag({
    gun: GUN,
    tag: 'v1',
    metadata: { ...v3repo.metadata, intermediateRoots: [root2] },
    pinnedRoot: v1repo.files.root,
    now: NOW,
  });
  assert.equal(r.versions.root, 3);
  assert.equal(r.digest, sha(M1));
  // Without the intermediate root the chain cannot be followed.
  assert.throws(
    () => verifyNotaryTag({ gun: GUN, tag: 'v1', metadata: v3repo.metadata, pinnedRoot: v1repo.files.root, now: NOW }),
    (e: unknown) => isCustomsError(e) && e.code === 'SIGNATURE_INVALID' && /version 2 is missing/.test(e.message),
  );
});

test('a rotated root signed only by its new keys does not chain from the pinned root', () => {
  const k1 = [rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS))];
  const k2 = [rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS))];
  const v1repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: M1 }, keys: { root: k1 } });
  const v2repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: M1 },
    keys: { ...v1repo.keys, root: k2 },
    versions: { root: 2 },
  });
  assert.throws(
    () => verifyNotaryTag({ gun: GUN, tag: 'v1', metadata: v2repo.metadata, pinnedRoot: v1repo.files.root, now: NOW }),
    (e: unknown) => isCustomsError(e) && e.code === 'SIGNATURE_INVALID' && /previous root/.test(e.message),
  );
});
