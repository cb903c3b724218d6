// Attacks on Notary v1 / Docker Content Trust metadata (TUF specification §1.5.2 "Attacks and weaknesses",
// §5 client workflow), one per test; each test's first line names the attack it defends against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MAX_NOTARY_METADATA_BYTES, verifyNotaryTag, type VerifyNotaryTagInput } from '../../src/trust/index.js';
import { isCustomsError } from '../../src/errors.js';
import {
  DAY_MS,
  REAL_NOTARY_CAPTURE,
  YEAR_MS,
  asPlainEcdsa,
  buildRepo,
  ecdsaKey,
  rootCertKey,
  tamper,
} from '../helpers/notary-fixtures.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const GUN = 'registry.example/team/app';
const GOOD = Buffer.from('{"schemaVersion":2,"layers":["good"]}');
const EVIL = Buffer.from('{"schemaVersion":2,"layers":["evil"]}');
const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function refused(input: VerifyNotaryTagInput, code: 'SIGNATURE_INVALID' | 'SIGNATURE_MISSING', pattern: RegExp): void {
  assert.throws(
    () => verifyNotaryTag(input),
    (e: unknown) => {
      assert.ok(isCustomsError(e), `expected a CustomsError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.equal(e.exitCode, 6);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('freeze attack: an expired timestamp is refused, and accepted only with --now inside its validity', () => {
  // TUF spec §1.5.2 "freeze attack" / §5.4.4: a mirror keeps serving old, validly signed metadata.
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: GOOD },
    expires: { timestamp: new Date(NOW.getTime() - 3600_000) },
  });
  refused(
    { gun: GUN, tag: 'v1', metadata: repo.metadata, pinnedRoot: repo.files.root, now: NOW },
    'SIGNATURE_INVALID',
    /timestamp\.json: expired/,
  );
  const then = new Date(NOW.getTime() - 2 * 3600_000);
  assert.equal(
    verifyNotaryTag({ gun: GUN, tag: 'v1', metadata: repo.metadata, pinnedRoot: repo.files.root, now: then }).digest,
    sha(GOOD),
  );
});

test('freeze attack on real notary output: its 14-day timestamp is refused once it has expired', () => {
  // TUF spec "freeze attack", against metadata produced by Debian's notary-server 0.7.
  const f = REAL_NOTARY_CAPTURE.files;
  const metadata = {
    root: Buffer.from(f['root.json']),
    timestamp: Buffer.from(f['timestamp.json']),
    snapshot: Buffer.from(f['snapshot.json']),
    targets: Buffer.from(f['targets.json']),
    delegations: { 'targets/releases': Buffer.from(f['targets/releases.json']) },
  };
  refused(
    {
      gun: REAL_NOTARY_CAPTURE.gun,
      tag: 'v1',
      metadata,
      pinnedRoot: metadata.root,
      now: new Date('2026-12-10T00:00:00Z'),
    },
    'SIGNATURE_INVALID',
    /timestamp\.json: expired/,
  );
});

test('freeze attack: expired targets and expired roots are refused too', () => {
  // TUF spec §5.6.4 / §5.3.10: every role's expiry is checked, not only the timestamp's.
  const t = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD }, expires: { targets: new Date(NOW.getTime() - 1000) } });
  refused({ gun: GUN, tag: 'v1', metadata: t.metadata, now: NOW }, 'SIGNATURE_INVALID', /targets\.json: expired/);
  const r = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD }, expires: { root: new Date(NOW.getTime() - 1000) } });
  refused({ gun: GUN, tag: 'v1', metadata: r.metadata, now: NOW }, 'SIGNATURE_INVALID', /root\.json: expired/);
});

test('rollback attack: versions older than the trusted state are refused, role by role', () => {
  // TUF spec §1.5.2 "rollback attack" / §5.4.3, §5.5.5, §5.6.3: replaying older, validly signed metadata.
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: GOOD },
    versions: { root: 2, timestamp: 5, snapshot: 5, targets: 5 },
  });
  const base = { gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW };
  for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
    const trusted = role === 'root' ? 3 : 6;
    refused(
      { ...base, trustedState: { [role]: trusted } },
      'SIGNATURE_INVALID',
      new RegExp(`${role}\\.json: version rolled back: expected at least ${trusted}, got`),
    );
  }
});

test('rollback attack: a root older than the pinned root is refused', () => {
  // TUF spec "rollback attack" on the root role: the pinned root is version 2, the server serves version 1.
  const rootKeys = [rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS))];
  const v1 = buildRepo({ gun: GUN, now: NOW, tags: { v1: EVIL }, keys: { root: rootKeys } });
  const v2 = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD }, keys: { ...v1.keys }, versions: { root: 2 } });
  refused(
    { gun: GUN, tag: 'v1', metadata: v1.metadata, pinnedRoot: v2.files.root, now: NOW },
    'SIGNATURE_INVALID',
    /version rolled back/,
  );
});

test('mix-and-match attack: targets.json from another repository state does not match the snapshot hash', () => {
  // TUF spec §1.5.2 "mix-and-match attack" / §5.6.1: targets must be the file the snapshot names.
  const keys = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } }).keys;
  const a = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: GOOD },
    keys,
    versions: { targets: 2, snapshot: 2, timestamp: 2 },
  });
  const b = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: EVIL },
    keys,
    versions: { targets: 3, snapshot: 3, timestamp: 3 },
  });
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...a.metadata, targets: b.files.targets }, now: NOW },
    'SIGNATURE_INVALID',
    /targets\.json: (length|sha256) does not match snapshot\.json/,
  );
});

test('mix-and-match attack: a snapshot the timestamp does not name is refused', () => {
  // TUF spec "mix-and-match attack" / §5.5.1: snapshot length and hashes come from the timestamp.
  const keys = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } }).keys;
  const a = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD }, keys });
  const b = buildRepo({ gun: GUN, now: NOW, tags: { v1: EVIL }, keys });
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...b.metadata, timestamp: a.files.timestamp }, now: NOW },
    'SIGNATURE_INVALID',
    /snapshot\.json: (length|sha256) does not match timestamp\.json/,
  );
});

test('mix-and-match attack: a root other than the one the snapshot names is refused', () => {
  // TUF spec "mix-and-match attack": notary's snapshot also lists root; another root is another repository state.
  const a = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const b = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: GOOD },
    keys: { ...a.keys, root: [rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS))] },
  });
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...a.metadata, root: b.files.root }, now: NOW },
    'SIGNATURE_INVALID',
    /root\.json: (length|sha256) does not match snapshot\.json/,
  );
});

test('arbitrary software attack: targets signed by a key that is not the targets key are refused', () => {
  // TUF spec §1.5.2 "arbitrary software installation": metadata signed with the wrong key.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: EVIL }, signers: { targets: [ecdsaKey()] } });
  refused(
    { gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW },
    'SIGNATURE_INVALID',
    /targets\.json: not signed by enough targets keys/,
  );
});

test('arbitrary software attack: a tampered target hash invalidates the targets signature', () => {
  // TUF spec "arbitrary software installation": the tag is pointed at another digest after signing.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const evilHash = createHash('sha256').update(EVIL).digest('base64');
  const targets = tamper(repo.files.targets, (d) => {
    (d.signed['targets'] as Record<string, { hashes: Record<string, string> }>)['v1']!.hashes = { sha256: evilHash };
  });
  // Re-point snapshot/timestamp would need their keys too; keep them, so the hash check fires first.
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...repo.metadata, targets }, now: NOW },
    'SIGNATURE_INVALID',
    /targets\.json/,
  );
});

test('root substitution: a root not matching the pinned root is refused even though it is validly self-signed', () => {
  // TUF spec §5.3 (trusted root) / notary trust pinning: an attacker publishes their own repository for the GUN.
  const honest = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const attacker = buildRepo({ gun: GUN, now: NOW, tags: { v1: EVIL } });
  refused(
    { gun: GUN, tag: 'v1', metadata: attacker.metadata, pinnedRoot: honest.files.root, now: NOW },
    'SIGNATURE_INVALID',
    /does not match the pinned root/,
  );
  refused(
    {
      gun: GUN,
      tag: 'v1',
      metadata: attacker.metadata,
      pinnedRoot: { keyIds: honest.keys.root.map((k) => k.id) },
      now: NOW,
    },
    'SIGNATURE_INVALID',
    /does not match the pinned root keys/,
  );
});

test('root substitution: a root certificate for another GUN is not a root key for this one', () => {
  // notary validRootLeafCerts: a root key valid for one repository used for another (a key valid for one scope).
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: EVIL },
    keys: {
      root: [
        rootCertKey(
          GUN,
          new Date(NOW.getTime() - DAY_MS),
          new Date(NOW.getTime() + YEAR_MS),
          'registry.example/other/app',
        ),
      ],
    },
  });
  refused({ gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW }, 'SIGNATURE_INVALID', /not the GUN/);
});

test('expired certificate: a root key whose certificate is not valid at now does not count', () => {
  // notary validRootLeafCerts / X.509 validity: an expired or not-yet-valid root certificate.
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: GOOD },
    keys: { root: [rootCertKey(GUN, new Date(NOW.getTime() - 2 * YEAR_MS), new Date(NOW.getTime() - YEAR_MS))] },
  });
  refused({ gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW }, 'SIGNATURE_INVALID', /is not valid at/);
});

test('delegation path escape: targets/releases may not sign a tag outside its paths', () => {
  // TUF spec §5.6.7.2 (delegated role paths): a delegated signer signs a name it was not delegated.
  const repo = buildRepo({ gun: GUN, now: NOW, releaseTags: { latest: EVIL }, releasePaths: ['release-'] });
  refused(
    { gun: GUN, tag: 'latest', metadata: repo.metadata, now: NOW },
    'SIGNATURE_INVALID',
    /outside the delegation's paths/,
  );
  // A permitted name verifies.
  const ok = buildRepo({ gun: GUN, now: NOW, releaseTags: { 'release-1': GOOD }, releasePaths: ['release-'] });
  assert.equal(
    verifyNotaryTag({ gun: GUN, tag: 'release-1', metadata: ok.metadata, now: NOW }).role,
    'targets/releases',
  );
});

test('delegation key substitution: targets/releases signed by a key the delegation does not name is refused', () => {
  // TUF spec "arbitrary software installation" via a delegated role.
  const repo = buildRepo({ gun: GUN, now: NOW, releaseTags: { v1: EVIL }, signers: { releases: [ecdsaKey()] } });
  refused(
    { gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW },
    'SIGNATURE_INVALID',
    /not signed by enough targets\/releases keys/,
  );
});

test('threshold duplicate signature: one key signing twice does not meet a threshold of two', () => {
  // CVE-2020-15093 (tuf) / go-tuf GHSA-4hfp-h4cw-hj8p: duplicate signatures counted toward a threshold.
  const k = [ecdsaKey(), ecdsaKey()];
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: EVIL },
    keys: { targets: k },
    thresholds: { targets: 2 },
    signers: { targets: [k[0]!] },
    editSignatures: { targets: (s) => [s[0]!, s[0]!, { ...s[0]! }] },
  });
  refused(
    { gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW },
    'SIGNATURE_INVALID',
    /expected 2 distinct key\(s\), got 1/,
  );
});

test('threshold duplicate key: one public key listed under two key IDs counts once', () => {
  // go-tuf GHSA-4hfp-h4cw-hj8p class: the same public key as an "ecdsa-x509" and an "ecdsa" entry (two IDs).
  const certKey = rootCertKey(GUN, new Date(NOW.getTime() - DAY_MS), new Date(NOW.getTime() + YEAR_MS));
  const twin = asPlainEcdsa(certKey);
  assert.notEqual(twin.id, certKey.id);
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: EVIL },
    keys: { targets: [certKey, twin] },
    thresholds: { targets: 2 },
  });
  refused(
    { gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW },
    'SIGNATURE_INVALID',
    /expected 2 distinct key\(s\), got 1/,
  );
});

test('endless data: metadata larger than the cap is refused before parsing', () => {
  // TUF spec §1.5.2 "endless data attack": an oversized metadata file.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const huge = Buffer.alloc(MAX_NOTARY_METADATA_BYTES + 1, 0x20);
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...repo.metadata, targets: huge }, now: NOW },
    'SIGNATURE_INVALID',
    /too large|does not match/,
  );
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...repo.metadata, root: huge }, now: NOW },
    'SIGNATURE_INVALID',
    /root\.json: too large/,
  );
});

test('duplicate JSON keys: metadata that parsers could read two ways is refused', () => {
  // CVE-2021-41190 family (ambiguous JSON): a second "targets" key that Go's decoder would take over the first.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  const text = repo.files.root.toString('utf8').replace('{"signed":{', '{"signed":{"version":99,');
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...repo.metadata, root: Buffer.from(text) }, now: NOW },
    'SIGNATURE_INVALID',
    /duplicate key/,
  );
});

test('type confusion: a targets file served as the snapshot is refused', () => {
  // TUF "mix-and-match": one role's file in place of another (notary checks _type).
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD } });
  refused(
    { gun: GUN, tag: 'v1', metadata: { ...repo.metadata, timestamp: repo.files.targets }, now: NOW },
    'SIGNATURE_INVALID',
    /timestamp\.json/,
  );
});

test('unsigned tag: a tag absent from every role is SIGNATURE_MISSING', () => {
  // Docker Content Trust: pulling an unsigned tag must fail as "no signature", not pass.
  const repo = buildRepo({ gun: GUN, now: NOW, tags: { v1: GOOD }, releaseTags: { v2: GOOD } });
  refused({ gun: GUN, tag: 'v3', metadata: repo.metadata, now: NOW }, 'SIGNATURE_MISSING', /tag "v3" is not signed/);
});

test('zero threshold: a role with threshold 0 (accepting no signatures) is refused', () => {
  // TUF spec §5.3 / notary ErrRoleThreshold: a threshold below 1 accepts unsigned metadata.
  const repo = buildRepo({
    gun: GUN,
    now: NOW,
    tags: { v1: EVIL },
    thresholds: { targets: 0 },
    editSignatures: { targets: () => [] },
  });
  refused({ gun: GUN, tag: 'v1', metadata: repo.metadata, now: NOW }, 'SIGNATURE_INVALID', /threshold/);
});
