/**
 * Notary v1 public keys and signature verification with node:crypto.
 *
 * Notary's key and signature dialect predates the TUF specification that `@tufjs/models` implements, so none
 * of tuf-js' key classes apply: key types are `ecdsa`, `ecdsa-x509`, `rsa`, `rsa-x509` and `ed25519` (tuf-js:
 * `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`, `ed25519` with hex/PEM values); `keyval.public` is base64 of DER
 * SubjectPublicKeyInfo (`ecdsa`, `rsa`), of a PEM certificate (`*-x509`) or of the raw 32-byte key (`ed25519`);
 * ECDSA signatures are raw `r||s` (IEEE P1363), not DER; and a key ID is the sha256 of the Go-canonical JSON of
 * `{"keytype":T,"keyval":{"private":null,"public":B64}}` (notary `data.TUFKey.ID`).
 *
 * Signature methods (notary `tuf/signed/verifiers.go`): `ecdsa` (SHA-256, any key size), `rsapss` (SHA-256,
 * salt length = hash length), `rsapkcs1v15` (SHA-256) and `eddsa`. The method must fit the key's type; a key
 * never verifies with an algorithm the signature alone chose. `pycrypto-pkcs#1 pss` is not accepted.
 */
import { X509Certificate, createPublicKey, constants, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../../internal/hash.js';
import { isJsonObject } from '../../internal/json.js';
import { invalid, shown } from '../failure.js';
import { goCanonicalJson } from './canonical-json.js';

/** Smallest RSA modulus notary accepts for certificates (`utils.ValidateCertificate`); below is factorable. */
export const MIN_NOTARY_RSA_BITS = 2048;
/** A base64 public key or PEM certificate longer than this is not a key (RSA-8192 certificates are < 4 KiB). */
const MAX_KEY_BASE64_CHARS = 16 * 1024;
/** An RSA-8192 signature is 1 KiB; base64 of anything much larger is not a signature. */
const MAX_SIGNATURE_BASE64_CHARS = 4 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KEY_ID = /^[0-9a-f]{64}$/;

/** Key types notary writes. */
export type NotaryKeyType = 'ecdsa' | 'ecdsa-x509' | 'rsa' | 'rsa-x509' | 'ed25519';

const KEY_TYPES: ReadonlySet<string> = new Set<NotaryKeyType>(['ecdsa', 'ecdsa-x509', 'rsa', 'rsa-x509', 'ed25519']);

function isNotaryKeyType(s: string): s is NotaryKeyType {
  return KEY_TYPES.has(s);
}

/** A parsed public key from a `keys` map, with the ID recomputed from its content. */
export interface NotaryKey {
  /** Lowercase hex sha256 key ID, recomputed and equal to the ID the metadata gave it. */
  readonly id: string;
  readonly keyType: NotaryKeyType;
  readonly publicKey: KeyObject;
  /** Hex sha256 of the DER SubjectPublicKeyInfo: one cryptographic key, however it is wrapped. */
  readonly spkiFingerprint: string;
  /** For `*-x509` keys: the certificate. */
  readonly certificate?: X509Certificate;
}

/** Strict standard base64 (with padding, no whitespace) → bytes, or undefined. */
export function decodeBase64Strict(untrusted: unknown, maxChars: number): Buffer | undefined {
  if (typeof untrusted !== 'string' || untrusted.length > maxChars || !BASE64.test(untrusted)) return undefined;
  return Buffer.from(untrusted, 'base64');
}

/** notary `data.TUFKey.ID()`: sha256 of the canonical JSON of the public half. */
export function notaryKeyId(keyType: string, publicBase64: string): string {
  return sha256Hex(goCanonicalJson({ keytype: keyType, keyval: { private: null, public: publicBase64 } }));
}

/** True for a lowercase hex sha256 key ID. */
export function isNotaryKeyId(untrusted: unknown): untrusted is string {
  return typeof untrusted === 'string' && KEY_ID.test(untrusted);
}

function spkiFingerprint(key: KeyObject): string {
  return sha256Hex(key.export({ type: 'spki', format: 'der' }));
}

function checkKeyStrength(key: KeyObject, subject: string): void {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_NOTARY_RSA_BITS) {
      throw invalid(subject, `RSA key too small: expected at least ${MIN_NOTARY_RSA_BITS} bits, got ${bits}`);
    }
  }
}

function expectAlgorithm(key: KeyObject, want: 'ec' | 'rsa' | 'ed25519', subject: string): void {
  if (key.asymmetricKeyType !== want) {
    throw invalid(
      subject,
      `key type mismatch: expected a ${want} key inside, got ${shown(key.asymmetricKeyType ?? 'unknown')}`,
    );
  }
  checkKeyStrength(key, subject);
}

/**
 * Parse one entry of a metadata `keys` map. Verifies the shape, that the key material parses as its declared
 * type, and that `untrustedId` is the key's content ID (a key listed under another key's ID could otherwise
 * stand in for it). Says nothing about whether the key is trusted. Throws SIGNATURE_INVALID.
 */
export function parseNotaryKey(untrustedId: string, untrustedKey: unknown, subject: string): NotaryKey {
  const where = `${subject}: key ${shown(untrustedId, 80)}`;
  if (!isNotaryKeyId(untrustedId)) throw invalid(where, 'expected a key ID of 64 lowercase hex digits');
  if (!isJsonObject(untrustedKey)) throw invalid(where, 'expected an object');
  const keyType = untrustedKey['keytype'];
  const keyval = untrustedKey['keyval'];
  if (!isJsonObject(keyval)) throw invalid(where, 'expected "keyval" to be an object');
  // Public metadata never carries private keys; one that does was produced by something other than notary.
  const priv = keyval['private'];
  if (priv !== undefined && priv !== null) throw invalid(where, 'expected "keyval.private" to be null');
  const publicB64 = keyval['public'];
  const bytes = decodeBase64Strict(publicB64, MAX_KEY_BASE64_CHARS);
  if (bytes === undefined || typeof publicB64 !== 'string' || bytes.length === 0) {
    throw invalid(where, 'expected "keyval.public" to be standard base64');
  }
  if (typeof keyType !== 'string') throw invalid(where, 'expected "keytype" to be a string');
  if (!isNotaryKeyType(keyType)) {
    throw invalid(
      where,
      `unsupported key type: expected ecdsa, ecdsa-x509, rsa, rsa-x509 or ed25519, got ${shown(keyType, 40)}`,
    );
  }
  const id = notaryKeyId(keyType, publicB64);
  if (id !== untrustedId) {
    throw invalid(where, `key ID does not match the key: expected ${id}, got ${shown(untrustedId, 80)}`);
  }
  let publicKey: KeyObject;
  let certificate: X509Certificate | undefined;
  try {
    switch (keyType) {
      case 'ecdsa':
      case 'rsa':
        publicKey = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
        break;
      case 'ecdsa-x509':
      case 'rsa-x509': {
        const text = bytes.toString('utf8');
        if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not a PEM certificate');
        certificate = new X509Certificate(bytes);
        publicKey = certificate.publicKey;
        break;
      }
      case 'ed25519':
        if (bytes.length !== 32) throw new Error(`expected 32 bytes, got ${bytes.length}`);
        publicKey = createPublicKey({
          key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') },
          format: 'jwk',
        });
        break;
    }
  } catch (err) {
    throw invalid(where, `key material does not parse as ${keyType}`, { cause: err });
  }
  expectAlgorithm(publicKey, keyType.startsWith('ecdsa') ? 'ec' : keyType.startsWith('rsa') ? 'rsa' : 'ed25519', where);
  return {
    id,
    keyType,
    publicKey,
    spkiFingerprint: spkiFingerprint(publicKey),
    ...(certificate === undefined ? {} : { certificate }),
  };
}

/**
 * Verify one signature: `untrustedSigB64` by `key` over `message` with `untrustedMethod`. False when the
 * signature does not verify or the method does not fit the key type; never throws for bad signatures.
 */
export function verifyNotarySignature(
  key: NotaryKey,
  untrustedMethod: unknown,
  untrustedSigB64: unknown,
  message: Uint8Array,
): boolean {
  const sig = decodeBase64Strict(untrustedSigB64, MAX_SIGNATURE_BASE64_CHARS);
  if (sig === undefined || sig.length === 0) return false;
  const type = key.publicKey.asymmetricKeyType;
  try {
    switch (untrustedMethod) {
      case 'ecdsa': {
        if (type !== 'ec') return false;
        // notary ECDSAVerifier: r||s, each padded to the curve's byte length; always SHA-256.
        return cryptoVerify('sha256', message, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
      }
      case 'rsapss':
        if (type !== 'rsa') return false;
        return cryptoVerify(
          'sha256',
          message,
          {
            key: key.publicKey,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          },
          sig,
        );
      case 'rsapkcs1v15':
        if (type !== 'rsa') return false;
        return cryptoVerify('sha256', message, { key: key.publicKey, padding: constants.RSA_PKCS1_PADDING }, sig);
      case 'eddsa':
        if (type !== 'ed25519') return false;
        return cryptoVerify(null, message, key.publicKey, sig);
      default:
        return false;
    }
  } catch {
    // A malformed signature (wrong length for the curve, bad padding) is a signature that does not verify.
    return false;
  }
}
