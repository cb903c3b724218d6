/**
 * Test fixtures for src/trust: a minimal DER writer to mint a Fulcio-like CA and leaf certificates with
 * node:crypto keys, a Rekor-like log that signs SETs, and builders for sigstore bundles and trusted roots in
 * their real JSON shapes — so verifyBundle runs the same sigstore-js code paths as against sigstore.dev, offline.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

// ---- DER ----
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(content.length), content]);
const seq = (...xs: Buffer[]): Buffer => tlv(0x30, Buffer.concat(xs));
const set = (...xs: Buffer[]): Buffer => tlv(0x31, Buffer.concat(xs));
const int = (n: number): Buffer => {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
};
const oid = (s: string): Buffer => {
  const parts = s.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const b: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
};
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const octet = (b: Buffer): Buffer => tlv(0x04, b);
const bitString = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const ctx = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content);
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}
// RDNSequence: one SET per RDN, side by side (RFC 5280 §4.1.2.4); nesting the CN set inside the O set is a
// DER error OpenSSL reports as "wrong tag".
const name = (cn: string): Buffer =>
  seq(set(seq(oid('2.5.4.10'), utf8('customs-test'))), set(seq(oid('2.5.4.3'), utf8(cn))));
const ext = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octet(value));

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
let serial = 1000;

export interface Cert {
  der: Buffer;
  key: KeyObject;
  publicKey: KeyObject;
  subjectCn: string;
}

export function newEcKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** Mint an X.509 v3 certificate signed by `issuer` (or self-signed when issuer is undefined). */
export function mintCert(opts: {
  subjectCn: string;
  issuer?: Cert;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  email?: string;
  oidcIssuer?: string;
  key?: { privateKey: KeyObject; publicKey: KeyObject };
}): Cert {
  const pair = opts.key ?? newEcKey();
  const exts: Buffer[] = [];
  if (opts.ca === true) {
    exts.push(ext('2.5.29.19', true, seq(bool(true))));
    exts.push(ext('2.5.29.15', true, bitString(Buffer.from([0x06]), 1))); // keyCertSign, cRLSign
  } else {
    exts.push(ext('2.5.29.15', true, bitString(Buffer.from([0x80]), 7))); // digitalSignature
    exts.push(ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.3')))); // codeSigning
  }
  if (opts.email !== undefined) exts.push(ext('2.5.29.17', true, seq(tlv(0x81, Buffer.from(opts.email)))));
  if (opts.oidcIssuer !== undefined) {
    exts.push(ext('1.3.6.1.4.1.57264.1.1', false, Buffer.from(opts.oidcIssuer)));
    exts.push(ext('1.3.6.1.4.1.57264.1.8', false, utf8(opts.oidcIssuer)));
  }
  const issuerCn = opts.issuer?.subjectCn ?? opts.subjectCn;
  const tbs = seq(
    ctx(0, int(2)),
    int(serial++),
    seq(oid(ECDSA_SHA256)),
    name(issuerCn),
    seq(time(opts.notBefore), time(opts.notAfter)),
    name(opts.subjectCn),
    pair.publicKey.export({ type: 'spki', format: 'der' }),
    ctx(3, seq(...exts)),
  );
  const signer = opts.issuer?.key ?? pair.privateKey;
  const sig = sign('sha256', tbs, signer);
  return {
    der: seq(tbs, seq(oid(ECDSA_SHA256)), bitString(sig)),
    key: pair.privateKey,
    publicKey: pair.publicKey,
    subjectCn: opts.subjectCn,
  };
}

export function certPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

// ---- Rekor ----
/** JSON canonicalisation (RFC 8785 subset sufficient for these string/number/object payloads). */
export function canonicalize(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalize).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalize(o[k])}`)
    .join(',')}}`;
}

export interface Log {
  privateKey: KeyObject;
  publicKey: KeyObject;
  logIdHex: string;
}

export function newLog(): Log {
  const { privateKey, publicKey } = newEcKey();
  const logIdHex = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
  return { privateKey, publicKey, logIdHex };
}

export interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise: { signedEntryTimestamp: string };
  canonicalizedBody: string;
}

/** A Rekor entry with a signed entry timestamp (SET) over {body, integratedTime, logIndex, logID}. */
export function logEntry(log: Log, body: unknown, kind: string, integratedTime: Date, logIndex = 7): TlogEntryJson {
  const bodyB64 = Buffer.from(canonicalize(body)).toString('base64');
  const t = Math.floor(integratedTime.getTime() / 1000);
  const set = sign(
    'sha256',
    Buffer.from(canonicalize({ body: bodyB64, integratedTime: t, logIndex, logID: log.logIdHex })),
    log.privateKey,
  );
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(log.logIdHex, 'hex').toString('base64') },
    kindVersion: { kind, version: '0.0.1' },
    integratedTime: String(t),
    inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
    canonicalizedBody: bodyB64,
  };
}

// ---- bundles and trusted roots ----
const V01 = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
const FOREVER = { start: '2000-01-01T00:00:00Z' };

export function trustedRoot(opts: { cas: Cert[]; logs: Log[] }): Record<string, unknown> {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: opts.logs.map((l) => ({
      baseUrl: 'https://rekor.customs.test',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: l.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: FOREVER,
      },
      logId: { keyId: Buffer.from(l.logIdHex, 'hex').toString('base64') },
    })),
    certificateAuthorities: opts.cas.map((c) => ({
      subject: { organization: 'customs-test', commonName: c.subjectCn },
      uri: 'https://fulcio.customs.test',
      certChain: { certificates: [{ rawBytes: c.der.toString('base64') }] },
      validFor: FOREVER,
    })),
    ctlogs: [],
    timestampAuthorities: [],
  };
}

/** A v0.1 message-signature bundle over `artifact`, signed with `signer`, logged in `log`. */
export function messageBundle(opts: {
  artifact: Buffer;
  log: Log;
  integratedTime: Date;
  signer: { privateKey: KeyObject; publicKey: KeyObject };
  leaf?: Cert;
  signedDigest?: Buffer;
}): Record<string, unknown> {
  const digest = opts.signedDigest ?? createHash('sha256').update(opts.artifact).digest();
  const sig = sign('sha256', opts.artifact, opts.signer.privateKey);
  const verifierPem =
    opts.leaf !== undefined
      ? certPem(opts.leaf.der)
      : opts.signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
      signature: {
        content: sig.toString('base64'),
        publicKey: { content: Buffer.from(verifierPem).toString('base64') },
      },
    },
  };
  return {
    mediaType: V01,
    verificationMaterial: {
      ...(opts.leaf !== undefined
        ? { x509CertificateChain: { certificates: [{ rawBytes: opts.leaf.der.toString('base64') }] } }
        : { publicKey: { hint: 'customs-test-key' } }),
      tlogEntries: [logEntry(opts.log, body, 'hashedrekord', opts.integratedTime)],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
      signature: sig.toString('base64'),
    },
  };
}

/** A v0.1 DSSE bundle carrying an in-toto statement about `subjectDigestHex`. */
export function dsseBundle(opts: {
  subjectDigestHex: string;
  log: Log;
  integratedTime: Date;
  signer: { privateKey: KeyObject; publicKey: KeyObject };
}): Record<string, unknown> {
  const payloadType = 'application/vnd.in-toto+json';
  const payload = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'artifact', digest: { sha256: opts.subjectDigestHex } }],
      predicateType: 'https://customs.test/v1',
      predicate: {},
    }),
  );
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `), payload]);
  const sig = sign('sha256', pae, opts.signer.privateKey);
  const pem = opts.signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const body = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
      signatures: [{ signature: sig.toString('base64'), verifier: Buffer.from(pem).toString('base64') }],
    },
  };
  return {
    mediaType: V01,
    verificationMaterial: {
      publicKey: { hint: 'customs-test-key' },
      tlogEntries: [logEntry(opts.log, body, 'dsse', opts.integratedTime)],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType,
      signatures: [{ sig: sig.toString('base64'), keyid: '' }],
    },
  };
}

/** A complete keyless setup: Fulcio-like root CA, a log, and a leaf for `email` issued by `oidcIssuer`. */
export function keylessWorld(opts: {
  email?: string;
  oidcIssuer?: string;
  signedAt?: Date;
  leafNotBefore?: Date;
  leafNotAfter?: Date;
}): {
  ca: Cert;
  log: Log;
  leaf: Cert;
  signer: { privateKey: KeyObject; publicKey: KeyObject };
  root: Record<string, unknown>;
  signedAt: Date;
} {
  const signedAt = opts.signedAt ?? new Date(Date.now() - 60_000);
  const ca = mintCert({
    subjectCn: 'customs-test-fulcio',
    ca: true,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2099-01-01T00:00:00Z'),
  });
  const signer = newEcKey();
  const leaf = mintCert({
    subjectCn: '',
    issuer: ca,
    key: signer,
    email: opts.email ?? 'signer@customs.test',
    oidcIssuer: opts.oidcIssuer ?? 'https://issuer.customs.test',
    notBefore: opts.leafNotBefore ?? new Date(signedAt.getTime() - 60_000),
    notAfter: opts.leafNotAfter ?? new Date(signedAt.getTime() + 9 * 60_000),
  });
  const log = newLog();
  return { ca, log, leaf, signer, root: trustedRoot({ cas: [ca], logs: [log] }), signedAt };
}

// ---- cosign keyless `.sig` layers ----
/**
 * The annotations cosign writes on a keyless (or tlog-backed) `.sig` layer for `payload`: the signature by
 * `signer`, the leaf certificate and chain (keyless), and the Rekor SET bundle (`dev.sigstore.cosign/bundle`)
 * for a hashedrekord entry in `log`. `rekorBody` lets a test log another signature (a swapped entry).
 */
export function cosignTlogLayer(opts: {
  payload: Buffer;
  signer: { privateKey: KeyObject; publicKey: KeyObject };
  log: Log;
  integratedTime: Date;
  leaf?: Cert;
  chain?: Cert[];
  logIndex?: number;
}): { signatureB64: string; annotations: Record<string, string> } {
  const sig = sign('sha256', opts.payload, opts.signer.privateKey);
  const verifierPem =
    opts.leaf !== undefined
      ? certPem(opts.leaf.der)
      : opts.signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(opts.payload).digest('hex') } },
      signature: {
        content: sig.toString('base64'),
        publicKey: { content: Buffer.from(verifierPem).toString('base64') },
      },
    },
  };
  const entry = logEntry(opts.log, body, 'hashedrekord', opts.integratedTime, opts.logIndex ?? 7);
  const rekorBundle = {
    SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
    Payload: {
      body: entry.canonicalizedBody,
      integratedTime: Number(entry.integratedTime),
      logIndex: Number(entry.logIndex),
      logID: opts.log.logIdHex,
    },
  };
  const annotations: Record<string, string> = { 'dev.sigstore.cosign/bundle': JSON.stringify(rekorBundle) };
  if (opts.leaf !== undefined) {
    annotations['dev.sigstore.cosign/certificate'] = certPem(opts.leaf.der);
    annotations['dev.sigstore.cosign/chain'] = (opts.chain ?? []).map((c) => certPem(c.der)).join('');
  }
  return { signatureB64: sig.toString('base64'), annotations };
}

/** A v0.3 sigstore bundle (DSSE, in-toto statement about `name`@`digestHex`), as cosign v3 attaches to images. */
export function imageDsseBundle(opts: {
  name: string;
  digestHex: string;
  log: Log;
  integratedTime: Date;
  signer: { privateKey: KeyObject; publicKey: KeyObject };
  leaf: Cert;
}): Record<string, unknown> {
  const payloadType = 'application/vnd.in-toto+json';
  const payload = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: opts.name, digest: { sha256: opts.digestHex } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `), payload]);
  const sig = sign('sha256', pae, opts.signer.privateKey);
  const body = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
      signatures: [
        { signature: sig.toString('base64'), verifier: Buffer.from(certPem(opts.leaf.der)).toString('base64') },
      ],
    },
  };
  const entry = logEntry(opts.log, body, 'dsse', opts.integratedTime);
  // v0.2+ bundles carry an inclusion proof with a signed checkpoint: a one-leaf tree (RFC 6962 leaf hash).
  const leafHash = createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), Buffer.from(entry.canonicalizedBody, 'base64')]))
    .digest();
  const origin = 'rekor.customs.test';
  const note = `${origin} - 1\n1\n${leafHash.toString('base64')}\n`;
  const noteSig = sign('sha256', Buffer.from(note), opts.log.privateKey);
  const hint = Buffer.from(opts.log.logIdHex, 'hex').subarray(0, 4);
  const envelope = `${note}\n\u2014 ${origin} ${Buffer.concat([hint, noteSig]).toString('base64')}\n`;
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: opts.leaf.der.toString('base64') },
      tlogEntries: [
        {
          ...entry,
          inclusionProof: {
            logIndex: '0',
            rootHash: leafHash.toString('base64'),
            treeSize: '1',
            hashes: [],
            checkpoint: { envelope },
          },
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType,
      signatures: [{ sig: sig.toString('base64'), keyid: '' }],
    },
  };
}

// ---- GnuPG ----
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GnupgHome {
  dir: string;
  fingerprint: string;
  gpg(args: string[], input?: Buffer | string): Buffer;
  publicKeyArmored(): string;
  secretKeyArmored(): string;
  cleanup(): void;
}

/** A throwaway $GNUPGHOME with one passphrase-less signing key (`algo`: ed25519 or rsa3072). */
export function gnupgHome(uid = 'customs test <t@example.test>', algo = 'ed25519'): GnupgHome {
  const dir = mkdtempSync(join(tmpdir(), 'customs-gpg-'));
  const gpg = (args: string[], input?: Buffer | string): Buffer =>
    execFileSync('gpg', ['--homedir', dir, '--batch', '--yes', '--pinentry-mode', 'loopback', ...args], {
      input: input ?? '',
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, GNUPGHOME: dir },
    });
  gpg(['--passphrase', '', '--quick-gen-key', uid, algo, 'sign', 'never']);
  const colons = gpg(['--with-colons', '--list-keys', uid]).toString();
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
  if (fpr === undefined) throw new Error('gpg did not report a fingerprint');
  return {
    dir,
    fingerprint: fpr,
    gpg,
    publicKeyArmored: () => gpg(['--armor', '--export', fpr]).toString(),
    secretKeyArmored: () => gpg(['--passphrase', '', '--armor', '--export-secret-keys', fpr]).toString(),
    cleanup: () => {
      try {
        execFileSync('gpgconf', ['--homedir', dir, '--kill', 'all'], { stdio: 'ignore' });
      } catch {
        // gpg-agent may not have started
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
