/**
 * Shapes of Notary v1 TUF metadata (notary `tuf/data`): the `{"signed": ..., "signatures": [...]}` envelope and
 * the four role documents, parsed strictly from capped bytes.
 *
 * Notary speaks the pre-1.0 TUF dialect: `_type` is capitalised (`Root`, `Targets`, `Snapshot`, `Timestamp`),
 * there is no `spec_version`, hashes are base64 (not hex), delegation `paths` are string prefixes (not globs)
 * and the snapshot also lists `root`. `@tufjs/models` refuses all of these (it requires `spec_version` and the
 * lower-case `_type`), so the checks are written here against notary's Go types.
 *
 * Parsing validates shape only. Nothing here decides trust; verify.ts checks signatures before it uses any
 * field of a role other than root's own keys.
 */
import { isJsonObject, parseStrictJsonBytes } from '../../internal/json.js';
import { MiB } from '../../internal/units.js';
import { isCustomsError } from '../../errors.js';
import { invalid, shown } from '../failure.js';
import { goCanonicalJson } from './canonical-json.js';
import { decodeBase64Strict, isNotaryKeyId } from './keys.js';

/**
 * Cap on each metadata file. Docker Hub's largest targets files (thousands of tags) are a few hundred KiB;
 * anything past this is an endless-data attack (TUF spec §5, "endless data"), refused before parsing.
 */
export const MAX_NOTARY_METADATA_BYTES = 4 * MiB;
/** More signatures than any role has keys for; bounds the verification work one file can cause. */
export const MAX_NOTARY_SIGNATURES = 64;
/** Keys in one `keys` map (root or delegations); notary repositories use a handful. */
export const MAX_NOTARY_KEYS = 256;
/** Delegated roles in one targets file. */
export const MAX_NOTARY_DELEGATIONS = 256;
/** Largest threshold accepted; a higher one can never be met by MAX_NOTARY_SIGNATURES distinct keys. */
const MAX_THRESHOLD = MAX_NOTARY_SIGNATURES;

/** The top-level role names, and `targets/<name>` delegations. */
export type NotaryRoleType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';

/** One entry of `signatures`. Unverified until verify.ts says otherwise. */
export interface UnverifiedSignature {
  readonly keyId: string;
  readonly method: string;
  readonly sig: string;
}

/** A parsed metadata file: the signed object, its canonical bytes (what signatures cover) and its signatures. */
export interface Envelope {
  readonly subject: string;
  readonly bytes: Uint8Array;
  readonly untrustedSigned: Readonly<Record<string, unknown>>;
  readonly canonicalSigned: Buffer;
  readonly signatures: readonly UnverifiedSignature[];
}

/** `keyids` + `threshold` of a role. */
export interface RoleKeys {
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

/** Length and hashes of a file, as another role lists it (`meta` / `targets` entries). */
export interface FileMeta {
  readonly length: number;
  readonly sha256: Buffer | undefined;
  readonly sha512: Buffer | undefined;
  /** Optional in notary; checked when present. */
  readonly version: number | undefined;
}

interface Common {
  readonly version: number;
  readonly expires: Date;
  /** The `expires` string as written, for messages. */
  readonly expiresText: string;
}

export interface RootDoc extends Common {
  readonly keys: ReadonlyMap<string, unknown>;
  readonly roles: {
    readonly root: RoleKeys;
    readonly targets: RoleKeys;
    readonly snapshot: RoleKeys;
    readonly timestamp: RoleKeys;
  };
}

export interface TimestampDoc extends Common {
  readonly snapshot: FileMeta;
}

export interface SnapshotDoc extends Common {
  readonly meta: ReadonlyMap<string, FileMeta>;
}

export interface DelegationRole extends RoleKeys {
  readonly name: string;
  /** Path prefixes the role may sign (notary `Role.CheckPaths`: `strings.HasPrefix`; `""` = everything). */
  readonly paths: readonly string[];
}

export interface TargetsDoc extends Common {
  readonly targets: ReadonlyMap<string, FileMeta>;
  readonly delegationKeys: ReadonlyMap<string, unknown>;
  readonly delegations: readonly DelegationRole[];
}

// RFC 3339 as Go's time.Time marshals it (RFC3339Nano): fraction up to 9 digits, Z or a numeric offset.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parse an RFC 3339 timestamp strictly; undefined when it is not one. Fractions are truncated to ms. */
export function parseRfc3339(untrusted: unknown): Date | undefined {
  if (typeof untrusted !== 'string') return undefined;
  const m = RFC3339.exec(untrusted);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  let t = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), ms);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCDate() !== day) return undefined; // 31 February
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    t -= sign * (oh * 60 + om) * 60_000;
  }
  return Number.isFinite(t) ? new Date(t) : undefined;
}

function isCount(v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * Parse a metadata file: cap, strict JSON (duplicate keys refused), the envelope shape, and the canonical bytes
 * of `signed`. Does not verify anything. Throws SIGNATURE_INVALID.
 */
export function parseEnvelope(untrustedBytes: Uint8Array, subject: string): Envelope {
  if (untrustedBytes.byteLength > MAX_NOTARY_METADATA_BYTES) {
    throw invalid(
      subject,
      `too large: expected at most ${MAX_NOTARY_METADATA_BYTES} bytes, got ${untrustedBytes.byteLength}`,
      { hint: 'Notary metadata this large is an endless-data attack or not Notary metadata.' },
    );
  }
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(untrustedBytes, subject);
  } catch (err) {
    if (!isCustomsError(err)) throw err;
    throw invalid(subject, `not valid JSON: ${err.message}`, { cause: err });
  }
  if (!isJsonObject(doc)) throw invalid(subject, 'expected a JSON object with "signed" and "signatures"');
  const signed = doc['signed'];
  const sigs = doc['signatures'];
  if (!isJsonObject(signed)) throw invalid(subject, 'expected "signed" to be an object');
  if (!Array.isArray(sigs)) throw invalid(subject, 'expected "signatures" to be an array');
  if (sigs.length > MAX_NOTARY_SIGNATURES) {
    throw invalid(subject, `too many signatures: expected at most ${MAX_NOTARY_SIGNATURES}, got ${sigs.length}`);
  }
  const signatures: UnverifiedSignature[] = [];
  for (const s of sigs as unknown[]) {
    if (!isJsonObject(s)) throw invalid(subject, 'expected each signature to be an object');
    const keyId = s['keyid'];
    const method = s['method'];
    const sig = s['sig'];
    if (typeof keyId !== 'string' || typeof method !== 'string' || typeof sig !== 'string') {
      throw invalid(subject, 'expected each signature to have string "keyid", "method" and "sig"');
    }
    signatures.push({ keyId, method, sig });
  }
  return {
    subject,
    bytes: untrustedBytes,
    untrustedSigned: signed,
    canonicalSigned: goCanonicalJson(signed, subject),
    signatures,
  };
}

function common(env: Envelope, type: NotaryRoleType): Common {
  const s = env.untrustedSigned;
  if (s['_type'] !== type) {
    throw invalid(
      env.subject,
      `wrong metadata type: expected _type ${JSON.stringify(type)}, got ${shown(s['_type'])}`,
      {
        hint: 'A file of one role served in place of another is a mix-and-match attack.',
      },
    );
  }
  const version = s['version'];
  if (!isCount(version, 1))
    throw invalid(env.subject, `expected "version" to be an integer ≥ 1, got ${shown(version)}`);
  const expiresText = s['expires'];
  const expires = parseRfc3339(expiresText);
  if (expires === undefined || typeof expiresText !== 'string') {
    throw invalid(env.subject, `expected "expires" to be an RFC 3339 time, got ${shown(expiresText)}`);
  }
  return { version, expires, expiresText };
}

function keysMap(v: unknown, subject: string): Map<string, unknown> {
  if (!isJsonObject(v)) throw invalid(subject, 'expected "keys" to be an object');
  const entries = Object.entries(v);
  if (entries.length > MAX_NOTARY_KEYS) {
    throw invalid(subject, `too many keys: expected at most ${MAX_NOTARY_KEYS}, got ${entries.length}`);
  }
  return new Map(entries);
}

function roleKeys(v: unknown, subject: string): RoleKeys {
  if (!isJsonObject(v)) throw invalid(subject, 'expected an object with "keyids" and "threshold"');
  const keyIds = v['keyids'];
  const threshold = v['threshold'];
  if (!Array.isArray(keyIds) || keyIds.length > MAX_NOTARY_KEYS || !keyIds.every(isNotaryKeyId)) {
    throw invalid(subject, 'expected "keyids" to be a list of key IDs (64 lowercase hex digits)');
  }
  // TUF spec §5.3 / notary ErrRoleThreshold: a threshold below 1 would accept unsigned metadata.
  if (!isCount(threshold, 1, MAX_THRESHOLD)) {
    throw invalid(subject, `expected "threshold" to be an integer 1..${MAX_THRESHOLD}, got ${shown(threshold)}`);
  }
  return { keyIds, threshold };
}

function fileMeta(v: unknown, subject: string): FileMeta {
  if (!isJsonObject(v)) throw invalid(subject, 'expected an object with "length" and "hashes"');
  const length = v['length'];
  const hashes = v['hashes'];
  const version = v['version'];
  if (!isCount(length, 0))
    throw invalid(subject, `expected "length" to be a non-negative integer, got ${shown(length)}`);
  if (!isJsonObject(hashes)) throw invalid(subject, 'expected "hashes" to be an object');
  if (version !== undefined && !isCount(version, 1)) {
    throw invalid(subject, `expected "version" to be an integer ≥ 1, got ${shown(version)}`);
  }
  const hash = (alg: 'sha256' | 'sha512', bytes: number): Buffer | undefined => {
    const raw = hashes[alg];
    if (raw === undefined) return undefined;
    const b = decodeBase64Strict(raw, 200);
    if (b?.length !== bytes) throw invalid(subject, `expected "hashes.${alg}" to be base64 of ${bytes} bytes`);
    return b;
  };
  const sha256 = hash('sha256', 32);
  const sha512 = hash('sha512', 64);
  // notary `data.CheckHashes` requires at least one supported hash; customs requires sha256 (what a digest is).
  if (sha256 === undefined) throw invalid(subject, 'expected a "hashes.sha256" entry, got none');
  return { length, sha256, sha512, version };
}

/** Root fields. Validates shape only; the caller verifies signatures. */
export function parseRootDoc(env: Envelope): RootDoc {
  const c = common(env, 'Root');
  const s = env.untrustedSigned;
  const roles = s['roles'];
  if (!isJsonObject(roles)) throw invalid(env.subject, 'expected "roles" to be an object');
  const role = (name: string): RoleKeys => roleKeys(roles[name], `${env.subject}: role ${name}`);
  return {
    ...c,
    keys: keysMap(s['keys'], env.subject),
    roles: { root: role('root'), targets: role('targets'), snapshot: role('snapshot'), timestamp: role('timestamp') },
  };
}

/** Timestamp fields. */
export function parseTimestampDoc(env: Envelope): TimestampDoc {
  const c = common(env, 'Timestamp');
  const meta = env.untrustedSigned['meta'];
  if (!isJsonObject(meta)) throw invalid(env.subject, 'expected "meta" to be an object');
  return { ...c, snapshot: fileMeta(meta['snapshot'], `${env.subject}: meta.snapshot`) };
}

/** Snapshot fields. */
export function parseSnapshotDoc(env: Envelope): SnapshotDoc {
  const c = common(env, 'Snapshot');
  const meta = env.untrustedSigned['meta'];
  if (!isJsonObject(meta)) throw invalid(env.subject, 'expected "meta" to be an object');
  const out = new Map<string, FileMeta>();
  for (const [name, v] of Object.entries(meta)) out.set(name, fileMeta(v, `${env.subject}: meta.${name}`));
  return { ...c, meta: out };
}

/** Targets (or delegated targets) fields. */
export function parseTargetsDoc(env: Envelope): TargetsDoc {
  const c = common(env, 'Targets');
  const s = env.untrustedSigned;
  const targets = s['targets'];
  if (!isJsonObject(targets)) throw invalid(env.subject, 'expected "targets" to be an object');
  const out = new Map<string, FileMeta>();
  for (const [name, v] of Object.entries(targets))
    out.set(name, fileMeta(v, `${env.subject}: target ${shown(name, 80)}`));
  const del = s['delegations'];
  let delegationKeys = new Map<string, unknown>();
  const delegations: DelegationRole[] = [];
  if (del !== undefined && del !== null) {
    if (!isJsonObject(del)) throw invalid(env.subject, 'expected "delegations" to be an object');
    delegationKeys = keysMap(del['keys'] ?? {}, `${env.subject}: delegations`);
    const roles = del['roles'] ?? [];
    if (!Array.isArray(roles) || roles.length > MAX_NOTARY_DELEGATIONS) {
      throw invalid(env.subject, `expected "delegations.roles" to be a list of at most ${MAX_NOTARY_DELEGATIONS}`);
    }
    for (const r of roles as unknown[]) {
      if (!isJsonObject(r)) throw invalid(env.subject, 'expected each delegation role to be an object');
      const name = r['name'];
      if (typeof name !== 'string' || name === '') throw invalid(env.subject, 'expected a delegation role "name"');
      const where = `${env.subject}: delegation ${shown(name, 80)}`;
      const paths = r['paths'] ?? [];
      if (!Array.isArray(paths) || !paths.every((p): p is string => typeof p === 'string')) {
        throw invalid(where, 'expected "paths" to be a list of strings');
      }
      delegations.push({ name, paths, ...roleKeys(r, where) });
    }
  }
  return { ...c, targets: out, delegationKeys, delegations };
}
