/**
 * Notary v1 / Docker Content Trust: verify which manifest digest a tag is bound to, from a repository's TUF
 * metadata, following the TUF client workflow (TUF specification §5, "Detailed client workflow") as notary's
 * client (`client/tufclient.go`, `trustpinning/certs.go`, `tuf/signed/verify.go`) applies it:
 *
 * 1. root: trusted (pinned) or chained from the pinned root through version+1 roots, each signed by the
 *    threshold of the previous root's root keys and of its own (§5.3); root keys are certificates whose CN is
 *    the GUN and that are valid at `now` (notary `validRootLeafCerts`); not expired (§5.3.10).
 * 2. timestamp: signed by the timestamp threshold, not rolled back, not expired (freeze attack, §5.4).
 * 3. snapshot: length and hashes as the timestamp lists them, signed, not rolled back, not expired (§5.5).
 * 4. targets: length and hashes as the snapshot lists them, signed, not rolled back, not expired (§5.6).
 * 5. `targets/releases` (what `docker trust sign` writes): as 4, signed by the delegated keys, and only for tags
 *    its `paths` prefixes permit (§5.6.7). Docker looks for a tag in `targets/releases` first, then `targets`.
 *
 * A threshold counts distinct keys: several signatures by one key, or by one public key listed under two IDs
 * (plain and certificate-wrapped), count once (CVE-2020-15093 / go-tuf GHSA-4hfp-h4cw-hj8p class).
 *
 * Pure and synchronous: bytes in, a verified binding or a SIGNATURE_* CustomsError out.
 */
import { createHash } from 'node:crypto';
import { parseDigest, type Digest } from '../../ref/index.js';
import { invalid, missing, shown } from '../failure.js';
import { isNotaryKeyId, parseNotaryKey, verifyNotarySignature, type NotaryKey } from './keys.js';
import {
  parseEnvelope,
  parseRootDoc,
  parseSnapshotDoc,
  parseTargetsDoc,
  parseTimestampDoc,
  type DelegationRole,
  type Envelope,
  type FileMeta,
  type RoleKeys,
  type RootDoc,
  type TargetsDoc,
} from './metadata.js';

/** The role docker trust signs tags with (`docker trust sign`, `DOCKER_CONTENT_TRUST=1 docker push`). */
export const NOTARY_RELEASES_ROLE = 'targets/releases';
/** Root rotations one verification follows; more is a DoS, not a repository's history. */
export const MAX_NOTARY_ROOT_ROTATIONS = 64;

/** The metadata files of one repository (GUN), as a Notary server serves them or a trust dir caches them. */
export interface NotaryMetadata {
  readonly root: Uint8Array;
  readonly timestamp: Uint8Array;
  readonly snapshot: Uint8Array;
  readonly targets: Uint8Array;
  /** Delegated targets files by role name (`targets/releases`). Only roles the snapshot lists are used. */
  readonly delegations?: Readonly<Record<string, Uint8Array>>;
  /**
   * Roots between a pinned root and `root` (versions pinned+1 … current−1, any order), for root rotation.
   * Notary serves them as `<version>.root.json`.
   */
  readonly intermediateRoots?: readonly Uint8Array[];
}

/** A trust anchor: the root.json the user trusts, or the IDs of root keys the user trusts. */
export type NotaryRootPin = Uint8Array | { readonly keyIds: readonly string[] };

/** Versions already trusted (TUF rollback protection); a missing role means none. */
export interface NotaryTrustedState {
  readonly root?: number;
  readonly timestamp?: number;
  readonly snapshot?: number;
  readonly targets?: number;
}

export interface VerifyNotaryTagInput {
  /** Globally unique name of the repository, e.g. `docker.io/library/alpine`; root certificates name it. */
  readonly gun: string;
  readonly tag: string;
  readonly metadata: NotaryMetadata;
  /** Without a pin, `metadata.root` is trusted as given (trust on first use); the result says so. */
  readonly pinnedRoot?: NotaryRootPin;
  /** The clock for expiry and certificate validity (pass a past time to verify after the service is gone). */
  readonly now: Date;
  readonly trustedState?: NotaryTrustedState;
}

/** Versions of the metadata that verified: the next `trustedState`. */
export interface NotaryVersions {
  readonly root: number;
  readonly timestamp: number;
  readonly snapshot: number;
  readonly targets: number;
  /** Delegated roles that verified, by name. */
  readonly delegations: Readonly<Record<string, number>>;
}

/** A verified tag → digest binding. */
export interface NotaryTagVerification {
  readonly gun: string;
  readonly tag: string;
  /** `sha256:<hex>` from the target's `hashes.sha256`: the manifest digest docker trust signed. */
  readonly digest: Digest;
  /** The target's `length`: the manifest's size in bytes. */
  readonly size: number;
  /** The role whose metadata holds the tag. */
  readonly role: string;
  readonly versions: NotaryVersions;
  /** IDs of root keys whose signatures on the root counted. */
  readonly rootKeyIds: readonly string[];
  /** IDs of the keys whose signatures on `role`'s metadata counted. */
  readonly signerKeyIds: readonly string[];
  /** False when no pin was given and the root was taken as found (trust on first use). */
  readonly rootPinned: boolean;
  /** Earliest expiry among the metadata used: the binding is not valid after it. */
  readonly expires: Date;
}

const KEY_TYPES_X509 = new Set(['ecdsa-x509', 'rsa-x509']);

function sha256(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}
function sha512(b: Uint8Array): Buffer {
  return createHash('sha512').update(b).digest();
}

/** Length and every listed hash must match (TUF §5.5.1/§5.6.1; notary `data.CheckHashes`). */
function checkFileMeta(bytes: Uint8Array, meta: FileMeta, subject: string, listedBy: string): void {
  if (bytes.byteLength !== meta.length) {
    throw invalid(
      subject,
      `length does not match ${listedBy}: expected ${meta.length} bytes, got ${bytes.byteLength}`,
      {
        hint: 'The file is not the one the signed metadata names (tampered, or mixed from another version).',
      },
    );
  }
  if (meta.sha256 !== undefined && !sha256(bytes).equals(meta.sha256)) {
    throw invalid(
      subject,
      `sha256 does not match ${listedBy}: expected ${meta.sha256.toString('hex')}, got ${sha256(bytes).toString('hex')}`,
      {
        hint: 'The file is not the one the signed metadata names (tampered, or mixed from another version).',
      },
    );
  }
  if (meta.sha512 !== undefined && !sha512(bytes).equals(meta.sha512)) {
    throw invalid(subject, `sha512 does not match ${listedBy}`);
  }
}

interface ThresholdResult {
  readonly keyIds: readonly string[];
}

/**
 * Count valid signatures over `env` by distinct keys of `role` (keys from `keys`). Keys that do not parse or
 * whose ID does not match do not count. Throws SIGNATURE_INVALID below the threshold.
 */
function verifyThreshold(
  env: Envelope,
  role: RoleKeys,
  keys: ReadonlyMap<string, unknown>,
  roleName: string,
  acceptKey: (key: NotaryKey) => string | undefined = () => undefined,
): ThresholdResult {
  const allowed = new Set(role.keyIds);
  const countedKeyIds: string[] = [];
  const countedSpki = new Set<string>();
  const problems: string[] = [];
  const parsed = new Map<string, NotaryKey | undefined>();
  for (const sig of env.signatures) {
    if (!allowed.has(sig.keyId)) continue; // notary: signatures by keys outside the role are ignored
    let key = parsed.get(sig.keyId);
    if (!parsed.has(sig.keyId)) {
      const raw = keys.get(sig.keyId);
      if (raw === undefined) {
        problems.push(`key ${sig.keyId.slice(0, 12)} is listed for ${roleName} but not defined`);
      } else {
        try {
          key = parseNotaryKey(sig.keyId, raw, env.subject);
          const refused = acceptKey(key);
          if (refused !== undefined) {
            problems.push(refused);
            key = undefined;
          }
        } catch (err) {
          problems.push(err instanceof Error ? err.message : 'key does not parse');
          key = undefined;
        }
      }
      parsed.set(sig.keyId, key);
    }
    if (key === undefined) continue;
    // One cryptographic key counts once, however many signatures or IDs it appears under.
    if (countedSpki.has(key.spkiFingerprint)) continue;
    if (!verifyNotarySignature(key, sig.method, sig.sig, env.canonicalSigned)) {
      problems.push(`signature by key ${sig.keyId.slice(0, 12)} does not verify`);
      continue;
    }
    countedSpki.add(key.spkiFingerprint);
    countedKeyIds.push(key.id);
  }
  if (countedKeyIds.length < role.threshold) {
    throw invalid(
      env.subject,
      `not signed by enough ${roleName} keys: expected ${role.threshold} distinct key(s), got ${countedKeyIds.length}` +
        (problems.length === 0 ? '' : ` (${[...new Set(problems)].slice(0, 4).join('; ')})`),
      {
        details: { role: roleName, threshold: role.threshold, valid: countedKeyIds.length },
        hint: 'The metadata was not signed by the keys its parent role names: tampered, or signed with the wrong key.',
      },
    );
  }
  return { keyIds: countedKeyIds };
}

function checkExpiry(subject: string, expires: Date, expiresText: string, now: Date, what: string): void {
  if (expires.getTime() <= now.getTime()) {
    throw invalid(subject, `expired: expected expiry after ${now.toISOString()}, got ${expiresText}`, {
      details: { expires: expiresText, now: now.toISOString() },
      hint: `${what} Pass --now with a time inside the validity window only to verify a signature as of that time.`,
    });
  }
}

function checkRollback(subject: string, version: number, trusted: number | undefined): void {
  if (trusted !== undefined && version < trusted) {
    throw invalid(subject, `version rolled back: expected at least ${trusted}, got ${version}`, {
      details: { version, trusted },
      hint: 'An older, validly signed version is being replayed (TUF rollback attack); refuse it.',
    });
  }
}

/**
 * notary `validRootLeafCerts`: certificate keys only, CN = GUN, valid at `now`. Validity is checked for the root
 * in force only: an intermediate root in a rotation chain may have been rotated away precisely because its
 * certificates lapsed.
 */
function rootKeyCheck(gun: string, now: Date | undefined): (key: NotaryKey) => string | undefined {
  return (key) => {
    const cert = key.certificate;
    if (cert === undefined || !KEY_TYPES_X509.has(key.keyType)) {
      return `root key ${key.id.slice(0, 12)} is not a certificate (notary root keys are ecdsa-x509 or rsa-x509)`;
    }
    const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
    if (cn !== gun)
      return `root certificate ${key.id.slice(0, 12)} names CN ${shown(cn ?? '', 80)}, not the GUN ${shown(gun, 80)}`;
    if (now === undefined) return undefined;
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    if (!(from <= now.getTime() && now.getTime() <= to)) {
      return `root certificate ${key.id.slice(0, 12)} is not valid at ${now.toISOString()} (${cert.validFrom} – ${cert.validTo})`;
    }
    return undefined;
  };
}

interface TrustedRoot {
  readonly env: Envelope;
  readonly doc: RootDoc;
  readonly keyIds: readonly string[];
  readonly pinned: boolean;
}

/** Self-signature of a root (threshold of its own root keys, with the certificate checks). */
function verifyRootSelf(
  env: Envelope,
  doc: RootDoc,
  gun: string,
  now: Date | undefined,
  extra?: (k: NotaryKey) => string | undefined,
): ThresholdResult {
  const base = rootKeyCheck(gun, now);
  return verifyThreshold(env, doc.roles.root, doc.keys, 'root', (k) => base(k) ?? extra?.(k));
}

function establishRoot(input: VerifyNotaryTagInput): TrustedRoot {
  const { gun, now, metadata, pinnedRoot } = input;
  const env = parseEnvelope(metadata.root, 'notary root.json');
  const doc = parseRootDoc(env);

  if (pinnedRoot === undefined) {
    const r = verifyRootSelf(env, doc, gun, now);
    return { env, doc, keyIds: r.keyIds, pinned: false };
  }

  if (!(pinnedRoot instanceof Uint8Array)) {
    // A key-ID pin (notary trust_pinning "certs"): the threshold must be met by pinned keys alone.
    const pins = new Set(pinnedRoot.keyIds);
    if (pins.size === 0 || ![...pins].every(isNotaryKeyId)) {
      throw invalid('notary root pin', 'expected one or more key IDs of 64 lowercase hex digits');
    }
    let r: ThresholdResult;
    try {
      r = verifyRootSelf(env, doc, gun, now, (k) =>
        pins.has(k.id) ? undefined : `root key ${k.id.slice(0, 12)} is not pinned`,
      );
    } catch (err) {
      throw invalid(
        'notary root.json',
        `does not match the pinned root keys: ${err instanceof Error ? err.message : 'refused'}`,
        {
          cause: err,
          hint: 'The repository root is not signed by the root keys you pinned: another publisher, or a rotated root you have not trusted.',
        },
      );
    }
    return { env, doc, keyIds: r.keyIds, pinned: true };
  }

  // A root.json pin: the metadata root must be it, or chain from it version by version (TUF §5.3.4–5.3.7).
  const pinEnv = parseEnvelope(pinnedRoot, 'pinned root.json');
  const pinDoc = parseRootDoc(pinEnv);
  if (doc.version < pinDoc.version) {
    throw invalid(
      'notary root.json',
      `version rolled back: expected at least the pinned version ${pinDoc.version}, got ${doc.version}`,
      {
        hint: 'An older root than the one you pinned is being served (TUF rollback attack).',
      },
    );
  }
  if (doc.version === pinDoc.version) {
    if (!env.canonicalSigned.equals(pinEnv.canonicalSigned)) {
      throw invalid('notary root.json', 'does not match the pinned root: same version, different content', {
        hint: 'Someone other than the holder of the pinned root published this repository root.',
      });
    }
    const r = verifyRootSelf(env, doc, gun, now);
    return { env, doc, keyIds: r.keyIds, pinned: true };
  }
  const steps = doc.version - pinDoc.version;
  if (steps > MAX_NOTARY_ROOT_ROTATIONS) {
    throw invalid(
      'notary root.json',
      `too many root rotations: expected at most ${MAX_NOTARY_ROOT_ROTATIONS}, got ${steps}`,
    );
  }
  const byVersion = new Map<number, Envelope>();
  for (const [i, bytes] of (metadata.intermediateRoots ?? []).entries()) {
    if (i >= MAX_NOTARY_ROOT_ROTATIONS) break;
    const e = parseEnvelope(bytes, `notary intermediate root #${i + 1}`);
    const d = parseRootDoc(e);
    byVersion.set(d.version, e);
  }
  byVersion.set(doc.version, env);
  let prevDoc = pinDoc;
  let last: ThresholdResult | undefined;
  for (let v = pinDoc.version + 1; v <= doc.version; v++) {
    const e = byVersion.get(v);
    if (e === undefined) {
      throw invalid('notary root.json', `cannot chain from the pinned root: root version ${v} is missing`, {
        hint: `Fetch ${v}.root.json from the Notary server (or copy it into the directory) to follow the root rotation.`,
      });
    }
    const d = v === doc.version ? doc : parseRootDoc(e);
    // Signed by the threshold of the previous root's root keys (its certificate checks at `now` waived: the old
    // root vouches for its successor even after its own certificates lapse, as in notary's rotation check)…
    verifyThreshold(e, prevDoc.roles.root, prevDoc.keys, `previous root (v${prevDoc.version})`);
    // …and by its own.
    last = verifyRootSelf(e, d, gun, v === doc.version ? now : undefined);
    prevDoc = d;
  }
  if (last === undefined) throw invalid('notary root.json', 'internal: empty root chain');
  return { env, doc, keyIds: last.keyIds, pinned: true };
}

/** Whether a delegation's `paths` let it sign `name` (notary `Role.CheckPaths`: prefix match). */
export function notaryDelegationPermits(role: Pick<DelegationRole, 'paths'>, name: string): boolean {
  return role.paths.some((p) => name.startsWith(p));
}

function targetBinding(doc: TargetsDoc, tag: string, subject: string): { digest: Digest; size: number } | undefined {
  const t = doc.targets.get(tag);
  if (t === undefined) return undefined;
  if (t.sha256 === undefined) throw invalid(subject, `target ${shown(tag, 80)} has no sha256 hash`);
  return { digest: parseDigest(`sha256:${t.sha256.toString('hex')}`, subject), size: t.length };
}

/**
 * Verify the digest bound to `tag` in the Notary repository `gun` from its metadata, with TUF's checks:
 * signature thresholds (distinct keys), root pinning and rotation, expiry against `now` (freeze attack),
 * versions against `trustedState` (rollback), length and hashes from the parent role (mix-and-match,
 * endless data: every file capped at MAX_NOTARY_METADATA_BYTES), and delegation paths.
 *
 * Does not fetch anything, does not check that the manifest with that digest exists or is the image being
 * pulled (compare `digest` with the stored manifest's digest), and does not decide whether the root is the
 * right one for a registry scope (src/policy does). Without `pinnedRoot` the root is trusted as given.
 * Throws SIGNATURE_MISSING when the tag is not signed, SIGNATURE_INVALID for everything else.
 */
export function verifyNotaryTag(input: VerifyNotaryTagInput): NotaryTagVerification {
  const { gun, tag, metadata, now, trustedState = {} } = input;
  if (!Number.isFinite(now.getTime())) throw invalid('notary verification', 'expected a valid time for "now"');
  if (gun === '' || tag === '') throw invalid('notary verification', 'expected a non-empty GUN and tag');

  // 1. Root.
  const root = establishRoot(input);
  checkRollback('notary root.json', root.doc.version, trustedState.root);
  checkExpiry('notary root.json', root.doc.expires, root.doc.expiresText, now, 'The repository root has expired.');

  // 2. Timestamp: signed, fresh, not rolled back. An expired timestamp is the freeze attack.
  const tsEnv = parseEnvelope(metadata.timestamp, 'notary timestamp.json');
  verifyThreshold(tsEnv, root.doc.roles.timestamp, root.doc.keys, 'timestamp');
  const ts = parseTimestampDoc(tsEnv);
  checkRollback(tsEnv.subject, ts.version, trustedState.timestamp);
  checkExpiry(
    tsEnv.subject,
    ts.expires,
    ts.expiresText,
    now,
    'Stale timestamp metadata is how a freeze attack hides newer versions.',
  );

  // 3. Snapshot: the exact file the timestamp names.
  checkFileMeta(metadata.snapshot, ts.snapshot, 'notary snapshot.json', 'timestamp.json');
  const snapEnv = parseEnvelope(metadata.snapshot, 'notary snapshot.json');
  verifyThreshold(snapEnv, root.doc.roles.snapshot, root.doc.keys, 'snapshot');
  const snap = parseSnapshotDoc(snapEnv);
  if (ts.snapshot.version !== undefined && ts.snapshot.version !== snap.version) {
    throw invalid(
      snapEnv.subject,
      `version does not match timestamp.json: expected ${ts.snapshot.version}, got ${snap.version}`,
    );
  }
  checkRollback(snapEnv.subject, snap.version, trustedState.snapshot);
  checkExpiry(snapEnv.subject, snap.expires, snap.expiresText, now, 'The snapshot has expired.');
  const rootMeta = snap.meta.get('root');
  // Mix-and-match: the snapshot names the root it was made with; another root is another repository state.
  if (rootMeta !== undefined) checkFileMeta(metadata.root, rootMeta, 'notary root.json', 'snapshot.json');

  // 4. Targets.
  const targetsMeta = snap.meta.get('targets');
  if (targetsMeta === undefined) throw invalid(snapEnv.subject, 'expected a "meta.targets" entry, got none');
  checkFileMeta(metadata.targets, targetsMeta, 'notary targets.json', 'snapshot.json');
  const tgtEnv = parseEnvelope(metadata.targets, 'notary targets.json');
  const tgtSigners = verifyThreshold(tgtEnv, root.doc.roles.targets, root.doc.keys, 'targets');
  const targets = parseTargetsDoc(tgtEnv);
  if (targetsMeta.version !== undefined && targetsMeta.version !== targets.version) {
    throw invalid(
      tgtEnv.subject,
      `version does not match snapshot.json: expected ${targetsMeta.version}, got ${targets.version}`,
    );
  }
  checkRollback(tgtEnv.subject, targets.version, trustedState.targets);
  checkExpiry(tgtEnv.subject, targets.expires, targets.expiresText, now, 'The targets metadata has expired.');

  let expires = new Date(
    Math.min(root.doc.expires.getTime(), ts.expires.getTime(), snap.expires.getTime(), targets.expires.getTime()),
  );
  const delegationVersions: Record<string, number> = {};

  // 5. targets/releases, when delegated and listed in the snapshot (an unlisted file is not part of this
  //    repository state, whatever bytes were supplied for it).
  let releases: { doc: TargetsDoc; role: DelegationRole; signers: readonly string[] } | undefined;
  const relRole = targets.delegations.find((r) => r.name === NOTARY_RELEASES_ROLE);
  const relMeta = snap.meta.get(NOTARY_RELEASES_ROLE);
  if (relRole !== undefined && relMeta !== undefined) {
    const bytes = metadata.delegations?.[NOTARY_RELEASES_ROLE];
    const subject = `notary ${NOTARY_RELEASES_ROLE}.json`;
    if (bytes === undefined) {
      throw invalid(subject, 'missing: expected the delegated metadata the snapshot lists, got none', {
        hint: `Supply ${NOTARY_RELEASES_ROLE}.json (the server serves it; a trust dir keeps it under metadata/targets/).`,
      });
    }
    checkFileMeta(bytes, relMeta, subject, 'snapshot.json');
    const env = parseEnvelope(bytes, subject);
    const signers = verifyThreshold(env, relRole, targets.delegationKeys, NOTARY_RELEASES_ROLE);
    const doc = parseTargetsDoc(env);
    if (relMeta.version !== undefined && relMeta.version !== doc.version) {
      throw invalid(subject, `version does not match snapshot.json: expected ${relMeta.version}, got ${doc.version}`);
    }
    checkExpiry(subject, doc.expires, doc.expiresText, now, 'The delegated targets metadata has expired.');
    delegationVersions[NOTARY_RELEASES_ROLE] = doc.version;
    releases = { doc, role: relRole, signers: signers.keyIds };
  }

  const versions: NotaryVersions = {
    root: root.doc.version,
    timestamp: ts.version,
    snapshot: snap.version,
    targets: targets.version,
    delegations: delegationVersions,
  };
  const common = { gun, tag, versions, rootKeyIds: root.keyIds, rootPinned: root.pinned };

  // 6. The tag: targets/releases first (docker's order), then targets.
  let refusedByPaths = false;
  if (releases !== undefined) {
    const subject = `notary ${NOTARY_RELEASES_ROLE}.json`;
    const b = targetBinding(releases.doc, tag, subject);
    if (b !== undefined) {
      if (notaryDelegationPermits(releases.role, tag)) {
        expires = new Date(Math.min(expires.getTime(), releases.doc.expires.getTime()));
        return { ...common, ...b, role: NOTARY_RELEASES_ROLE, signerKeyIds: releases.signers, expires };
      }
      refusedByPaths = true;
    }
  }
  const b = targetBinding(targets, tag, tgtEnv.subject);
  if (b !== undefined) return { ...common, ...b, role: 'targets', signerKeyIds: tgtSigners.keyIds, expires };
  if (refusedByPaths) {
    throw invalid(
      `notary ${NOTARY_RELEASES_ROLE}.json`,
      `tag ${shown(tag, 80)} is outside the delegation's paths: expected a prefix among ${shown(releases?.role.paths ?? [])}, got none`,
      { hint: 'A delegated signer may only sign the names its delegation permits (TUF §5.6.7).' },
    );
  }
  throw missing(
    `notary ${gun}`,
    `tag ${shown(tag, 80)} is not signed: expected a target named ${shown(tag, 80)}, got none`,
    {
      details: { gun, tag },
      hint: 'The tag was never signed with docker trust / notary, or the signature was removed.',
    },
  );
}
