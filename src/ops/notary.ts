/**
 * `customs notary verify`: which manifest digest a tag is bound to by Notary v1 / Docker Content Trust
 * metadata, read from a directory (a Notary server's files, or `~/.docker/trust/tuf/GUN/metadata/`) or fetched
 * from a Notary server, then verified by trust's pure verifyNotaryTag.
 */
import { open } from '../internal/fsp.js';
import { join } from 'node:path';
import { CustomsError, isCustomsError, mismatch } from '../errors.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { readCapped } from '../internal/limit.js';
import { parseDigest, type Digest } from '../ref/index.js';
import type { VerifiedSignature } from '../policy/index.js';
import {
  MAX_NOTARY_METADATA_BYTES,
  MAX_NOTARY_ROOT_ROTATIONS,
  NOTARY_RELEASES_ROLE,
  fetchNotaryMetadata,
  verifyNotaryTag,
  type NotaryMetadata,
  type NotaryRootPin,
  type NotaryTagVerification,
  type NotaryTrustedState,
} from '../trust/index.js';
import type { Context } from './context.js';

/** A trusted-state file is four small integers; anything larger is not one. */
export const MAX_NOTARY_TRUSTED_STATE_BYTES = 64 * 1024;

/** Where the metadata comes from. */
export type NotarySource =
  | { readonly kind: 'dir'; readonly dir: string }
  | { readonly kind: 'server'; readonly url: string; readonly caPath?: string | undefined };

export interface NotaryVerifyRequest {
  readonly source: NotarySource;
  readonly gun: string;
  readonly tag: string;
  /** root.json to pin (recommended; required for a server source unless `rootKeyIds` is given). */
  readonly rootPath?: string | undefined;
  /** Root key IDs to pin instead of a root.json. */
  readonly rootKeyIds?: readonly string[] | undefined;
  /** When set, the bound digest must equal it (else SIGNATURE_INVALID, exit 6). */
  readonly expectedDigest?: string | undefined;
  /** Clock for expiry checks; defaults to the current time. */
  readonly now?: Date | undefined;
  /** JSON `{"root": v, "timestamp": v, "snapshot": v, "targets": v}` of versions already trusted. */
  readonly trustedStatePath?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The verified binding plus what was checked. */
export interface NotaryVerifyResult extends NotaryTagVerification {
  /** The directory or redacted server URL the metadata came from. */
  readonly source: string;
  /** The time expiry was checked against. */
  readonly checkedAt: string;
  /** Present when `expectedDigest` was given (always true: a mismatch throws). */
  readonly digestMatches?: true;
}

function usage(message: string, hint?: string): CustomsError {
  return new CustomsError('USAGE', message, hint === undefined ? {} : { hint });
}

/** Read a local file of at most `maxBytes`; undefined when it does not exist. */
async function readLocal(
  path: string,
  maxBytes: number,
  subject: string,
  signal?: AbortSignal,
): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CustomsError('USAGE', `${subject}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw usage(`${subject}: not a regular file: ${path}`);
    return await readCapped(fh.createReadStream({ autoClose: false }), maxBytes, subject, signal);
  } finally {
    await fh.close();
  }
}

async function readMetadataFile(path: string, subject: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    return await readLocal(path, MAX_NOTARY_METADATA_BYTES, subject, signal);
  } catch (err) {
    if (isCustomsError(err) && err.code === 'TOO_LARGE') {
      // Oversized metadata is bad TUF metadata (exit 6), refused before parsing (TUF "endless data").
      throw new CustomsError(
        'SIGNATURE_INVALID',
        `${subject}: too large: expected at most ${MAX_NOTARY_METADATA_BYTES} bytes, got more`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

function untrustedRootVersion(bytes: Uint8Array): number | undefined {
  try {
    const doc = parseStrictJsonBytes(bytes, 'root.json');
    const signed = isJsonObject(doc) ? doc['signed'] : undefined;
    const v = isJsonObject(signed) ? signed['version'] : undefined;
    return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined; // verifyNotaryTag reports it
  }
}

/**
 * Read Notary metadata from DIR: `root.json`, `timestamp.json`, `snapshot.json`, `targets.json`, optional
 * `targets/releases.json`, and `<v>.root.json` for a rotation since `pinnedRootVersion`. Each file capped at
 * MAX_NOTARY_METADATA_BYTES. Throws SIGNATURE_MISSING when DIR has no root.json.
 */
export async function readNotaryMetadataDir(
  dir: string,
  pinnedRootVersion?: number,
  signal?: AbortSignal,
): Promise<NotaryMetadata> {
  const read = (name: string): Promise<Buffer | undefined> =>
    readMetadataFile(join(dir, name), `notary ${name}`, signal);
  const root = await read('root.json');
  if (root === undefined) {
    throw new CustomsError(
      'SIGNATURE_MISSING',
      `notary metadata: no root.json in ${dir}: expected Notary TUF metadata, got none`,
      {
        hint: 'Point at a directory holding root.json, timestamp.json, snapshot.json and targets.json (e.g. ~/.docker/trust/tuf/GUN/metadata).',
      },
    );
  }
  const required = async (name: string): Promise<Buffer> => {
    const b = await read(name);
    if (b === undefined)
      throw new CustomsError(
        'SIGNATURE_INVALID',
        `notary metadata: ${name} missing in ${dir}: expected the file, got none`,
      );
    return b;
  };
  const timestamp = await required('timestamp.json');
  const snapshot = await required('snapshot.json');
  const targets = await required('targets.json');
  const releases = await read(`${NOTARY_RELEASES_ROLE}.json`);
  const intermediateRoots: Buffer[] = [];
  const current = untrustedRootVersion(root);
  if (pinnedRootVersion !== undefined && current !== undefined && current > pinnedRootVersion + 1) {
    for (let v = pinnedRootVersion + 1; v < current && v - pinnedRootVersion <= MAX_NOTARY_ROOT_ROTATIONS; v++) {
      const b = await read(`${v}.root.json`);
      if (b !== undefined) intermediateRoots.push(b);
    }
  }
  return {
    root,
    timestamp,
    snapshot,
    targets,
    ...(releases === undefined ? {} : { delegations: { [NOTARY_RELEASES_ROLE]: releases } }),
    ...(intermediateRoots.length === 0 ? {} : { intermediateRoots }),
  };
}

const TRUSTED_STATE_KEYS = new Set(['root', 'timestamp', 'snapshot', 'targets']);

/** Parse a trusted-state document. Unknown keys or non-integer versions are refused (USAGE). */
export function parseNotaryTrustedState(bytes: Uint8Array, subject = 'trusted state'): NotaryTrustedState {
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes, subject);
  } catch (err) {
    if (!isCustomsError(err)) throw err;
    throw usage(err.message);
  }
  if (!isJsonObject(doc))
    throw usage(`${subject}: expected a JSON object {"root": v, "timestamp": v, "snapshot": v, "targets": v}`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!TRUSTED_STATE_KEYS.has(k)) {
      throw usage(`${subject}: unknown key: expected root, timestamp, snapshot or targets, got ${JSON.stringify(k)}`);
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw usage(`${subject}: ${k}: expected a non-negative integer version, got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out;
}

async function loadPin(req: NotaryVerifyRequest): Promise<{ pin?: NotaryRootPin; version?: number }> {
  if (req.rootPath !== undefined && req.rootKeyIds !== undefined && req.rootKeyIds.length > 0) {
    throw usage('notary: expected at most one of --root and --root-key-id, got both');
  }
  if (req.rootPath !== undefined) {
    const bytes = await readLocal(req.rootPath, MAX_NOTARY_METADATA_BYTES, 'pinned root', req.signal);
    if (bytes === undefined) throw usage(`pinned root: ${req.rootPath} does not exist`);
    const version = untrustedRootVersion(bytes);
    return { pin: bytes, ...(version === undefined ? {} : { version }) };
  }
  if (req.rootKeyIds !== undefined && req.rootKeyIds.length > 0) {
    for (const id of req.rootKeyIds) {
      if (!/^[0-9a-f]{64}$/.test(id))
        throw usage(`--root-key-id: expected 64 lowercase hex digits, got ${JSON.stringify(id)}`);
    }
    return { pin: { keyIds: req.rootKeyIds } };
  }
  return {};
}

/**
 * Verify the digest bound to `req.tag` in Notary repository `req.gun` (see verifyNotaryTag for the checks).
 * With a server source a pin (`rootPath` or `rootKeyIds`) is required: a root fetched from the same server as
 * the signatures proves nothing about who signed. With a directory source and no pin, DIR/root.json is trusted
 * as found (it is what docker trusted on first use) and the result says `rootPinned: false`.
 * Throws SIGNATURE_MISSING / SIGNATURE_INVALID (exit 6) when the binding cannot be verified or differs from
 * `expectedDigest`; USAGE for bad arguments; NETWORK/TIMEOUT for transport failures.
 */
export async function notaryVerify(ctx: Context, req: NotaryVerifyRequest): Promise<NotaryVerifyResult> {
  const now = req.now ?? new Date();
  const expected: Digest | undefined =
    req.expectedDigest === undefined ? undefined : parseDigest(req.expectedDigest, '--digest');
  const { pin, version } = await loadPin(req);
  let trustedState: NotaryTrustedState = {};
  if (req.trustedStatePath !== undefined) {
    const bytes = await readLocal(req.trustedStatePath, MAX_NOTARY_TRUSTED_STATE_BYTES, 'trusted state', req.signal);
    if (bytes === undefined) throw usage(`trusted state: ${req.trustedStatePath} does not exist`);
    trustedState = parseNotaryTrustedState(bytes, `trusted state ${req.trustedStatePath}`);
  }
  let metadata: NotaryMetadata;
  let source: string;
  if (req.source.kind === 'server') {
    if (pin === undefined) {
      throw usage(
        'notary verify --server: expected a pinned root (--root FILE or --root-key-id ID), got none',
        'Pin the root.json you trust (e.g. from ~/.docker/trust/tuf/GUN/metadata/root.json).',
      );
    }
    let ca: Buffer | undefined;
    if (req.source.caPath !== undefined) {
      ca = await readLocal(req.source.caPath, 1024 * 1024, 'CA file', req.signal);
      if (ca === undefined) throw usage(`--ca: ${req.source.caPath} does not exist`);
    }
    metadata = await fetchNotaryMetadata(req.source.url, req.gun, req.signal, {
      ...(ca === undefined ? {} : { ca }),
      timeoutMs: ctx.idleTimeoutMs,
      ...(version === undefined ? {} : { pinnedRootVersion: version }),
    });
    source = new URL(req.source.url).origin;
  } else {
    metadata = await readNotaryMetadataDir(req.source.dir, version, req.signal);
    source = req.source.dir;
  }
  const result = verifyNotaryTag({
    gun: req.gun,
    tag: req.tag,
    metadata,
    now,
    trustedState,
    ...(pin === undefined ? {} : { pinnedRoot: pin }),
  });
  if (expected !== undefined && expected !== result.digest) {
    throw mismatch(
      'SIGNATURE_INVALID',
      `notary ${req.gun}:${req.tag}`,
      'signed digest does not match',
      expected,
      result.digest,
      {
        hint: 'The tag is signed for another manifest: the image is not the one the publisher signed.',
        details: { role: result.role },
      },
    );
  }
  return {
    ...result,
    source,
    checkedAt: now.toISOString(),
    ...(expected === undefined ? {} : { digestMatches: true as const }),
  };
}

/**
 * The policy fact for a verified Notary binding (src/policy `VerifiedSignature`, format `notary`): the key is
 * the root that vouched (its verified root key IDs, sorted), so one root counts once toward a threshold; the
 * reference is `GUN:TAG`. The evaluator still compares `manifestDigest` with the image's digest.
 */
export function notarySignatureFact(
  result: NotaryTagVerification,
  requirementIndex: number,
  subIndex?: number,
): VerifiedSignature {
  return {
    requirementIndex,
    ...(subIndex === undefined ? {} : { subIndex }),
    format: 'notary',
    keyId: `notary-root:${[...result.rootKeyIds].sort().join(',')}`,
    manifestDigest: result.digest,
    dockerReference: `${result.gun}:${result.tag}`,
  };
}
