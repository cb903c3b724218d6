/**
 * Test fixtures for Notary v1 / Docker Content Trust: a generator of Notary-format TUF repositories (ECDSA
 * P-256 keys, certificate-wrapped root keys with CN = GUN, raw r||s signatures over Go-canonical JSON, base64
 * hashes) written independently of src/trust/notary, plus a capture of real notary 0.7.0 output, and a
 * helper that runs `customs notary` in-process.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import type { Output, Values } from '../../src/cli/command.js';
import { exitCodeOf, isCustomsError } from '../../src/errors.js';
import { createContext } from '../../src/ops/index.js';
import type { NotaryMetadata } from '../../src/trust/index.js';

export const DAY_MS = 24 * 3600 * 1000;
export const YEAR_MS = 365 * DAY_MS;

/** A key as notary lists it, with its private half for signing. */
export interface FixtureKey {
  readonly id: string;
  readonly keytype: 'ecdsa' | 'ecdsa-x509';
  readonly publicB64: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/**
 * Go docker/go canonical JSON for plain ASCII fixture data: sorted keys, no whitespace, only `"` and `\`
 * escaped. Written without src/ so the tests do not check the verifier against itself.
 */
export function fixtureCanonical(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return JSON.stringify(v);
  if (typeof v === 'string') return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (Array.isArray(v)) return `[${v.map(fixtureCanonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${fixtureCanonical(k)}:${fixtureCanonical(o[k])}`)
    .join(',')}}`;
}

function keyId(keytype: string, publicB64: string): string {
  return createHash('sha256')
    .update(fixtureCanonical({ keytype, keyval: { private: null, public: publicB64 } }))
    .digest('hex');
}

/** A plain `ecdsa` key (DER SubjectPublicKeyInfo), as notary makes for targets/snapshot/timestamp. */
export function ecdsaKey(): FixtureKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicB64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { id: keyId('ecdsa', publicB64), keytype: 'ecdsa', publicB64, privateKey, publicKey };
}

// ---- a minimal X.509 writer (self-signed ECDSA P-256 certificates, CN only, as notary's root certs) ----
function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer): Buffer =>
  Buffer.concat([Buffer.from([tag]), derLen(content.length), content]);
const seq = (...xs: Buffer[]): Buffer => tlv(0x30, Buffer.concat(xs));
const OID_ECDSA_SHA256 = Buffer.from('06082a8648ce3d040302', 'hex');
const OID_CN = Buffer.from('0603550403', 'hex');
const derName = (cn: string): Buffer => seq(tlv(0x31, seq(OID_CN, tlv(0x0c, Buffer.from(cn, 'utf8')))));
function derTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
}
let serial = 4096;

/** A self-signed certificate for a fresh P-256 key, PEM. */
export function selfSignedCert(
  cn: string,
  notBefore: Date,
  notAfter: Date,
): { pem: string; privateKey: KeyObject; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, Buffer.from([(serial >> 8) & 0x7f, serial++ & 0xff])),
    seq(OID_ECDSA_SHA256),
    derName(cn),
    seq(derTime(notBefore), derTime(notAfter)),
    derName(cn),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const sig = sign('sha256', tbs, privateKey);
  const der = seq(tbs, seq(OID_ECDSA_SHA256), tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return { pem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`, privateKey, publicKey };
}

/** An `ecdsa-x509` root key: a self-signed certificate whose CN is the GUN (notary's root key shape). */
export function rootCertKey(gun: string, notBefore: Date, notAfter: Date, cn = gun): FixtureKey {
  const cert = selfSignedCert(cn, notBefore, notAfter);
  const publicB64 = Buffer.from(cert.pem).toString('base64');
  return {
    id: keyId('ecdsa-x509', publicB64),
    keytype: 'ecdsa-x509',
    publicB64,
    privateKey: cert.privateKey,
    publicKey: cert.publicKey,
  };
}

/** Re-wrap a key under another key type (same public key, different ID): for duplicate-key attacks. */
export function asPlainEcdsa(k: FixtureKey): FixtureKey {
  const publicB64 = k.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { ...k, id: keyId('ecdsa', publicB64), keytype: 'ecdsa', publicB64 };
}

export function keyJson(k: FixtureKey): Record<string, unknown> {
  return { keytype: k.keytype, keyval: { private: null, public: k.publicB64 } };
}

export interface FixtureSignature {
  keyid: string;
  method: string;
  sig: string;
}

export function signatureBy(k: FixtureKey, signed: unknown): FixtureSignature {
  const sig = sign('sha256', Buffer.from(fixtureCanonical(signed)), { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
  return { keyid: k.id, method: 'ecdsa', sig: sig.toString('base64') };
}

/** `{"signed":…,"signatures":[…]}` bytes, compact like notary writes them. */
export function envelope(signed: unknown, signatures: FixtureSignature[]): Buffer {
  return Buffer.from(JSON.stringify({ signed, signatures }));
}

export function fileMeta(bytes: Uint8Array, version?: number): Record<string, unknown> {
  return {
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('base64'),
      sha512: createHash('sha512').update(bytes).digest('base64'),
    },
    length: bytes.byteLength,
    ...(version === undefined ? {} : { version }),
  };
}

/** Go RFC3339Nano, as notary writes `expires`. */
export function goTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export type Role = 'root' | 'targets' | 'snapshot' | 'timestamp' | 'releases';

export interface RepoKeys {
  root: FixtureKey[];
  targets: FixtureKey[];
  snapshot: FixtureKey[];
  timestamp: FixtureKey[];
  releases: FixtureKey[];
}

export interface RepoSpec {
  gun: string;
  /** Reference time: everything is valid around it. */
  now: Date;
  /** Tags signed in targets: name → manifest bytes. */
  tags?: Record<string, Uint8Array>;
  /** Tags signed in targets/releases; when given, the delegation exists. */
  releaseTags?: Record<string, Uint8Array>;
  releasePaths?: string[];
  versions?: Partial<Record<Role, number>>;
  expires?: Partial<Record<Role, Date>>;
  /** Reuse keys (same repository, another version). */
  keys?: Partial<RepoKeys>;
  thresholds?: Partial<Record<Role, number>>;
  /** Who actually signs each role (default: the role's keys). */
  signers?: Partial<Record<Role, FixtureKey[]>>;
  /** Rewrite a role's signature list before writing (duplicates, garbage). */
  editSignatures?: Partial<Record<Role, (sigs: FixtureSignature[]) => FixtureSignature[]>>;
  /** Rewrite a role's signed object before signing. */
  editSigned?: Partial<Record<Role, (signed: Record<string, unknown>) => void>>;
}

export interface Repo {
  gun: string;
  keys: RepoKeys;
  files: { root: Buffer; timestamp: Buffer; snapshot: Buffer; targets: Buffer; releases?: Buffer };
  metadata: NotaryMetadata;
}

/** Build a signed Notary repository: releases → targets → snapshot → timestamp, each naming the one below. */
export function buildRepo(spec: RepoSpec): Repo {
  const now = spec.now.getTime();
  const keys: RepoKeys = {
    root: spec.keys?.root ?? [rootCertKey(spec.gun, new Date(now - DAY_MS), new Date(now + 10 * YEAR_MS))],
    targets: spec.keys?.targets ?? [ecdsaKey()],
    snapshot: spec.keys?.snapshot ?? [ecdsaKey()],
    timestamp: spec.keys?.timestamp ?? [ecdsaKey()],
    releases: spec.keys?.releases ?? [ecdsaKey()],
  };
  const v = (r: Role): number => spec.versions?.[r] ?? 1;
  const exp = (r: Role, dflt: number): string => goTime(spec.expires?.[r] ?? new Date(now + dflt));
  const th = (r: Role): number => spec.thresholds?.[r] ?? 1;
  const seal = (r: Role, signed: Record<string, unknown>): Buffer => {
    spec.editSigned?.[r]?.(signed);
    let sigs = (spec.signers?.[r] ?? keys[r]).map((k) => signatureBy(k, signed));
    const edit = spec.editSignatures?.[r];
    if (edit !== undefined) sigs = edit(sigs);
    return envelope(signed, sigs);
  };
  const targetsOf = (tags: Record<string, Uint8Array>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(tags).map(([t, b]) => [t, fileMeta(b)]));

  const rootSigned: Record<string, unknown> = {
    _type: 'Root',
    consistent_snapshot: false,
    expires: exp('root', 10 * YEAR_MS),
    keys: Object.fromEntries(
      [...keys.root, ...keys.targets, ...keys.snapshot, ...keys.timestamp].map((k) => [k.id, keyJson(k)]),
    ),
    roles: {
      root: { keyids: keys.root.map((k) => k.id), threshold: th('root') },
      snapshot: { keyids: keys.snapshot.map((k) => k.id), threshold: th('snapshot') },
      targets: { keyids: keys.targets.map((k) => k.id), threshold: th('targets') },
      timestamp: { keyids: keys.timestamp.map((k) => k.id), threshold: th('timestamp') },
    },
    version: v('root'),
  };
  const root = seal('root', rootSigned);

  let releases: Buffer | undefined;
  if (spec.releaseTags !== undefined) {
    releases = seal('releases', {
      _type: 'Targets',
      delegations: { keys: {}, roles: [] },
      expires: exp('releases', 3 * YEAR_MS),
      targets: targetsOf(spec.releaseTags),
      version: v('releases'),
    });
  }
  const targets = seal('targets', {
    _type: 'Targets',
    delegations:
      releases === undefined
        ? { keys: {}, roles: [] }
        : {
            keys: Object.fromEntries(keys.releases.map((k) => [k.id, keyJson(k)])),
            roles: [
              {
                keyids: keys.releases.map((k) => k.id),
                name: 'targets/releases',
                paths: spec.releasePaths ?? [''],
                threshold: th('releases'),
              },
            ],
          },
    expires: exp('targets', 3 * YEAR_MS),
    targets: targetsOf(spec.tags ?? {}),
    version: v('targets'),
  });
  const snapshot = seal('snapshot', {
    _type: 'Snapshot',
    expires: exp('snapshot', 3 * YEAR_MS),
    meta: {
      root: fileMeta(root),
      targets: fileMeta(targets),
      ...(releases === undefined ? {} : { 'targets/releases': fileMeta(releases) }),
    },
    version: v('snapshot'),
  });
  const timestamp = seal('timestamp', {
    _type: 'Timestamp',
    expires: exp('timestamp', 14 * DAY_MS),
    meta: { snapshot: fileMeta(snapshot) },
    version: v('timestamp'),
  });
  const files = { root, timestamp, snapshot, targets, ...(releases === undefined ? {} : { releases }) };
  return { gun: spec.gun, keys, files, metadata: metadataOf(files) };
}

export function metadataOf(files: Repo['files']): NotaryMetadata {
  return {
    root: files.root,
    timestamp: files.timestamp,
    snapshot: files.snapshot,
    targets: files.targets,
    ...(files.releases === undefined ? {} : { delegations: { 'targets/releases': files.releases } }),
  };
}

/** Write a repository as a trust dir / server layout: root.json … targets/releases.json. */
export function writeRepoDir(dir: string, files: Repo['files']): string {
  mkdirSync(join(dir, 'targets'), { recursive: true });
  writeFileSync(join(dir, 'root.json'), files.root);
  writeFileSync(join(dir, 'timestamp.json'), files.timestamp);
  writeFileSync(join(dir, 'snapshot.json'), files.snapshot);
  writeFileSync(join(dir, 'targets.json'), files.targets);
  if (files.releases !== undefined) writeFileSync(join(dir, 'targets', 'releases.json'), files.releases);
  return dir;
}

/** Parse an envelope, edit it, re-serialise (signatures untouched: a tampering). */
export function tamper(
  bytes: Uint8Array,
  edit: (doc: { signed: Record<string, unknown>; signatures: FixtureSignature[] }) => void,
): Buffer {
  const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
    signed: Record<string, unknown>;
    signatures: FixtureSignature[];
  };
  edit(doc);
  return Buffer.from(JSON.stringify(doc));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The CustomsError code when the command failed. */
  errorCode: string | undefined;
}

/**
 * Run `customs notary ARGS` in-process: the same flag parsing as src/cli/run.ts (global --json/-q plus the
 * command's options), then notaryCommand.run. Returns the exit code run.ts would return.
 */
export async function runNotaryCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => ((stdout += s), true) },
    stderr: { write: (s: string) => ((stderr += s), true) },
    env: { HOME: '/nonexistent', ...env },
    isTTY: false,
    readStdin: () => Promise.resolve(''),
  };
  try {
    // Imported lazily: the command needs ops/index.ts to export the notary verb, and the core's unit tests
    // should not depend on that wiring.
    const { notaryCommand } = await import('../../src/cli/commands/notary.js');
    const parsed = parseArgs({
      args: [...args],
      options: { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, ...notaryCommand.options },
      allowPositionals: true,
      strict: true,
    });
    const values = parsed.values as Values;
    const json = values['json'] === true;
    const quiet = values['quiet'] === true;
    const out: Output = {
      json,
      quiet,
      result(value, text, essential = false) {
        if (json) stdout += `${JSON.stringify(value, null, 2)}\n`;
        else if (!quiet || essential) stdout += text;
      },
    };
    const ctx = await createContext({ env: io.env });
    await notaryCommand.run(ctx, parsed.positionals, values, io, out);
    return { code: 0, stdout, stderr, errorCode: undefined };
  } catch (err) {
    if (isCustomsError(err)) stderr += `customs: ${err.message}\n`;
    else stderr += `bug: ${String(err)}\n`;
    return { code: exitCodeOf(err), stdout, stderr, errorCode: isCustomsError(err) ? err.code : undefined };
  }
}

/**
 * Real Notary metadata, captured from Debian's notary 0.7.0 (notary-server + notary-signer from scripts/notary-up.sh,
 * client `notary init/add/delegation add/publish`) on 2026-11-25 for GUN 127.0.0.1:5000/customs/hello: tag v1
 * signed in targets, tag v2 signed in targets/releases. Bytes exactly as the client cached them. The timestamp
 * expires 2026-12-09T16:40:08Z, so tests pass `now` inside the window.
 */
export const REAL_NOTARY_CAPTURE = {
  gun: '127.0.0.1:5000/customs/hello',
  v1: { digest: 'sha256:b22c7289dd3b4785a3795c90e15d16bd66bd29b444b8974fe29ed0443ce50405', size: 76 },
  v2: { digest: 'sha256:b0ff67b72a1d087090ad4fe635c35ad2752dd27d26f9435bb7877f40ecdc0bc3', size: 88 },
  validAt: '2026-12-01T00:00:00Z',
  timestampExpires: '2026-12-09T16:40:08Z',
  files: {
    'root.json':
      '{"signed":{"_type":"Root","consistent_snapshot":false,"expires":"2036-11-22T16:39:54.861041289Z","keys":{"27404f315b8119a3595b34e4d359254fa841c99e1fbe76a02d69c3b61ca4759e":{"keytype":"ecdsa","keyval":{"private":null,"public":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZtzwVtP6nIENZSa7J7wYXiWxmNn8kIsq6wtHRk1r5fqQItH46ym34RlCzFR6gb5qEHhUakqTmcVdHkJ0J357Pw=="}},"7192418759c55abb6ebaafc8e90a19480f44c111f61229fabf372f5714dc0c44":{"keytype":"ecdsa","keyval":{"private":null,"public":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAy2sYjIqwZoJG327z8YDsnawbZPWNojTmORLXranLDyd4kIxlT8fHdb/H0VxOx8Y/SYRv+y81jsbh6eouVVSLg=="}},"c9f4281bf721aa49c05f908e3d601c0b1422c88e01c837cba7c9497d6f4b7e4a":{"keytype":"ecdsa","keyval":{"private":null,"public":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESStYuEc9AynJwnFksnwDr9lyoOQ/YWWn30ZV8ZVwIjURWLDsYknGL3GhX0F0hEnGR6eOAOlipPLVq2IHsvPTUw=="}},"f694d770b20456e9fa52508d57579886c618c5f7c52554b38a2dbe26d2f239e1":{"keytype":"ecdsa-x509","keyval":{"private":null,"public":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJnVENDQVNpZ0F3SUJBZ0lSQUlMbkNKYW0wZzNDcWhoL2lUd0ZPd1F3Q2dZSUtvWkl6ajBFQXdJd0p6RWwKTUNNR0ExVUVBeE1jTVRJM0xqQXVNQzR4T2pVd01EQXZZM1Z6ZEc5dGN5OW9aV3hzYnpBZUZ3MHlOakV4TWpVeApOak01TlRSYUZ3MHpOakV4TWpJeE5qTTVOVFJhTUNjeEpUQWpCZ05WQkFNVEhERXlOeTR3TGpBdU1UbzFNREF3CkwyTjFjM1J2YlhNdmFHVnNiRzh3V1RBVEJnY3Foa2pPUFFJQkJnZ3Foa2pPUFFNQkJ3TkNBQVIybC9XSTNUUGIKWHUyai9WNjhwZFUzRnI4Ri9xQ2I0Z0JQMjl5c1RVdUdSUzJwOXBNUGwycC9GYkpLcFBjaFk3TFJTVVF1SnhkSwpXMEM1a0E4MjMzSjVvelV3TXpBT0JnTlZIUThCQWY4RUJBTUNCYUF3RXdZRFZSMGxCQXd3Q2dZSUt3WUJCUVVICkF3TXdEQVlEVlIwVEFRSC9CQUl3QURBS0JnZ3Foa2pPUFFRREFnTkhBREJFQWlCMWZQL2NJZ0FXOEphYjdTNW4KV0dYeXNOVDM4TmZpb0lIdmd4bGlVbVp4N1FJZ0RXT0QydWtDWFB2aUdOVSsreXFxVzlxaXg3T01hcmw2UEl5dwplWHVyR3hFPQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="}}},"roles":{"root":{"keyids":["f694d770b20456e9fa52508d57579886c618c5f7c52554b38a2dbe26d2f239e1"],"threshold":1},"snapshot":{"keyids":["27404f315b8119a3595b34e4d359254fa841c99e1fbe76a02d69c3b61ca4759e"],"threshold":1},"targets":{"keyids":["7192418759c55abb6ebaafc8e90a19480f44c111f61229fabf372f5714dc0c44"],"threshold":1},"timestamp":{"keyids":["c9f4281bf721aa49c05f908e3d601c0b1422c88e01c837cba7c9497d6f4b7e4a"],"threshold":1}},"version":1},"signatures":[{"keyid":"f694d770b20456e9fa52508d57579886c618c5f7c52554b38a2dbe26d2f239e1","method":"ecdsa","sig":"kmUFeCZI5tp9j1IrKPVE7NL7N3z2m5mtJFV+gKn71F9kG6AMkVvnHipLnApcjZUvtLi5hofWoqdjAUxhapA0uQ=="}]}',
    'timestamp.json':
      '{"signed":{"_type":"Timestamp","expires":"2026-12-09T16:40:08.367054309Z","meta":{"snapshot":{"hashes":{"sha256":"+LBIGCS1vmG3lxqule5+KMDmbing8bzgb9qn1waUUZg=","sha512":"ltfLaBKL5CqnL+0ue0iLMaKRgonC/pGEbTKW/IeAfAvCLRd/0GQyopkiL2X071hbEQi43j7HiuptPWJhVFnafg=="},"length":885}},"version":3},"signatures":[{"keyid":"c9f4281bf721aa49c05f908e3d601c0b1422c88e01c837cba7c9497d6f4b7e4a","method":"ecdsa","sig":"mQ7d2J1ArjpqYuWCpcwZ1QGXeTtQG/kz15EuyMpdy2sFb/M9SlcDSYNcX7vAwP+9kWeJ0YTz9GvnODcnN0xABw=="}]}',
    'snapshot.json':
      '{"signed":{"_type":"Snapshot","expires":"2029-11-24T16:40:08.357841192Z","meta":{"root":{"hashes":{"sha256":"SzoRCudmx2QXYS9GG4zrV0sxJN75PfacAWcY3SD/erI=","sha512":"p7awgei9XnOAV03jAaZagtWfZPl13uv7xbZeWgND+g09gyShNS/4r/jRGLG5VBijKDsS29puFGthLy4zhL/Y5g=="},"length":2408},"targets":{"hashes":{"sha256":"oGSE2fiefwr3mahGqYHbxKuASvl1qdNw/Jzp/0K/5Lg=","sha512":"qPBR/+hj16+6xaMLZqUwdK3KAw48XNooYFBDFumtY3XkMSL2aTBPwTYe83zXqDU9LxR3BfsAteUEqnnVm2g/iA=="},"length":1555},"targets/releases":{"hashes":{"sha256":"YuacqcroZ1YsbndOncjVL6EffNC3g0gYLNCtVmRtws4=","sha512":"uoFvUlor4spQAP6Kf1osww2XktNRsULvLgCPJd346EMBQF4OiOBxmO4UuXXStpfe+f/rdtYCHkjd2L7ccnsUeg=="},"length":525}},"version":4},"signatures":[{"keyid":"27404f315b8119a3595b34e4d359254fa841c99e1fbe76a02d69c3b61ca4759e","method":"ecdsa","sig":"EIlzwP7aFctneLhwEAHNrKbsEC6/+qV0ZKJDyzf+PYhTLn60C6qS7ZQE1JXj4UVRRC+WmaNMGZPSpwAlm1JW0w=="}]}',
    'targets.json':
      '{"signed":{"_type":"Targets","delegations":{"keys":{"7de4eb00c0d4b489692c491ffc40280411eadf47a2e64c024ff0e211e447fb57":{"keytype":"ecdsa-x509","keyval":{"private":null,"public":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmRENDQVNHZ0F3SUJBZ0lVVHNFUG9TN1kwVytrd2hXYmtIYWNacFNjSzRBd0NnWUlLb1pJemowRUF3SXcKRXpFUk1BOEdBMVVFQXd3SWNtVnNaV0Z6WlhNd0hoY05Nall4TVRJMU1UWTBNREE0V2hjTk1qY3hNVEkxTVRZMApNREE0V2pBVE1SRXdEd1lEVlFRRERBaHlaV3hsWVhObGN6QlpNQk1HQnlxR1NNNDlBZ0VHQ0NxR1NNNDlBd0VICkEwSUFCSzNhT29xZzhmSm53UU16eHMyT0JSZjFoRFFHWW1UbnU0RGRNVkpDUVdvK3Z3MG9XUk1BVUMwSkdhNWEKNWVaTE9wcFJVUmpVUTFxTWx4V2hqaTgvN3JTalV6QlJNQjBHQTFVZERnUVdCQlFpRmg2OEY5c3QxZ1RCdDFnKwpiSjl6MkN6REFqQWZCZ05WSFNNRUdEQVdnQlFpRmg2OEY5c3QxZ1RCdDFnK2JKOXoyQ3pEQWpBUEJnTlZIUk1CCkFmOEVCVEFEQVFIL01Bb0dDQ3FHU000OUJBTUNBMGtBTUVZQ0lRRDNmVnk1V3F6VE55WGxGN3BjOXpNak1ReUgKV1AydHlPSUhsdjltbXljUmhRSWhBTzFhb0QvanFyTUNSMWw5a0doeS9FdTdCVkRmQ0dJcENXeElhQ1VWYlY3MgotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="}}},"roles":[{"keyids":["7de4eb00c0d4b489692c491ffc40280411eadf47a2e64c024ff0e211e447fb57"],"name":"targets/releases","paths":[""],"threshold":1}]},"expires":"2029-11-24T16:40:08.205480458Z","targets":{"v1":{"hashes":{"sha256":"sixyid07R4WjeVyQ4V0WvWa9KbREuJdP4p7QRDzlBAU=","sha512":"UYVpBrS2eMMQTyPKtMKrBZa03Ct/Ui/xPArmwjNLYkjnQid3SgP0KRVFVsUbUlBi5OBU0Z9jAhnlT21cpXz53A=="},"length":76}},"version":3},"signatures":[{"keyid":"7192418759c55abb6ebaafc8e90a19480f44c111f61229fabf372f5714dc0c44","method":"ecdsa","sig":"F/5TQVosY5hHIDsvZt7IcY/iPOyg+Vi9WMBHwXFYS15C4OY8iqwHi9MxnvvfNROcA5SLxTekfCeiiuRJUpaU5g=="}]}',
    'targets/releases.json':
      '{"signed":{"_type":"Targets","delegations":{"keys":{},"roles":[]},"expires":"2029-11-24T16:40:08.35743337Z","targets":{"v2":{"hashes":{"sha256":"sP9ntyodCHCQrU/mNcNa0nUt0n0m+UNbt4d/QOzcC8M=","sha512":"PMy66dEslcqdmx213hAh8kQtX0/W1p66nPiGBz54qOy9oKhuv4aORSvFEXsOWOLHHAzNPgehnNlDFwY88A5TDw=="},"length":88}},"version":1},"signatures":[{"keyid":"7de4eb00c0d4b489692c491ffc40280411eadf47a2e64c024ff0e211e447fb57","method":"ecdsa","sig":"7CI6CESnXu13Rzq4q7dfPoxuSNeEax/9l5d2lWguxUifaUg3fn7OUpb7ey59jSqkRahJ7mXkBizq4XpKGvUMbQ=="}]}',
  },
} as const;
