/**
 * Key handling for cosign-style signatures with node:crypto. Key ids are `sha256:<hex>` of the DER
 * SubjectPublicKeyInfo, so the same key loaded from a PEM file, a trust-store entry or a certificate has one id.
 *
 * Accepted public keys (what cosign's sigstore LoadVerifier accepts by default): ECDSA P-256 with SHA-256
 * (cosign's default), Ed25519, RSA ≥ 2048 bits with PKCS#1 v1.5 / SHA-256. Anything else is refused rather
 * than verified with a guessed algorithm.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { sha256Hex } from '../internal/hash.js';
import { decryptCosignPrivateKey, isCosignEncryptedKey } from './encrypted-key.js';
import { invalid } from './failure.js';

/** Smallest RSA modulus accepted; smaller keys are factorable or deprecated (NIST SP 800-131A). */
export const MIN_RSA_KEY_BITS = 2048;

/** Which algorithm a key verifies with; decided by the key, never by the signature. */
export type KeyAlgorithm = 'ecdsa-p256-sha256' | 'ed25519' | 'rsa-pkcs1v15-sha256';

const PEM_PUBLIC = /-----BEGIN PUBLIC KEY-----/;

/** The algorithm `key` is used with, or SIGNATURE_INVALID for unsupported key types. */
export function keyAlgorithm(key: KeyObject, subject = 'public key'): KeyAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ecdsa-p256-sha256';
    throw invalid(subject, `unsupported EC curve: expected P-256, got ${curve ?? 'unknown'}`);
  }
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_KEY_BITS) {
      throw invalid(subject, `RSA key too small: expected at least ${MIN_RSA_KEY_BITS} bits, got ${bits}`);
    }
    return 'rsa-pkcs1v15-sha256';
  }
  throw invalid(subject, `unsupported key type: expected EC P-256, Ed25519 or RSA, got ${type ?? 'unknown'}`);
}

/**
 * Parse a PEM `PUBLIC KEY` (SubjectPublicKeyInfo). Verifies the PEM decodes to a supported key type; does not
 * say anything about whether the key is trusted. Throws SIGNATURE_INVALID without echoing the PEM.
 */
export function parsePublicKeyPem(pem: string, subject = 'public key'): KeyObject {
  if (!PEM_PUBLIC.test(pem)) {
    throw invalid(subject, 'expected a PEM "PUBLIC KEY" block, got none');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw invalid(subject, 'expected a valid PEM public key, got one that does not parse', { cause: err });
  }
  keyAlgorithm(key, subject);
  return key;
}

/** `sha256:<hex>` of the key's DER SubjectPublicKeyInfo: a stable, non-secret key id. */
export function publicKeyId(key: KeyObject): string {
  // Memoized per KeyObject: a policy with N keys over M signatures asks N×M times, and the DER export costs more
  // than the ECDSA verification it labels. KeyObjects are immutable, so the id cannot go stale.
  const known = keyIds.get(key);
  if (known !== undefined) return known;
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const id = `sha256:${sha256Hex(pub.export({ type: 'spki', format: 'der' }))}`;
  keyIds.set(key, id);
  return id;
}

const keyIds = new WeakMap<KeyObject, string>();

function hashFor(alg: KeyAlgorithm): string | null {
  return alg === 'ed25519' ? null : 'sha256';
}

/**
 * Verify `signature` over `data` with `key`, using the algorithm the key implies. Returns false for a bad
 * signature; throws only for unsupported keys. Does not decide whether the key is trusted.
 */
export function verifyWithKey(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const alg = keyAlgorithm(key);
  try {
    // ECDSA signatures are ASN.1 DER, as cosign writes them (node's default dsaEncoding 'der').
    return cryptoVerify(hashFor(alg), data, key, signature);
  } catch {
    // Malformed DER signatures make OpenSSL throw; a malformed signature is simply not valid.
    return false;
  }
}

/** Sign `data` with a private key, cosign-style (ECDSA DER / Ed25519 / RSA PKCS#1 v1.5, SHA-256). */
export function signWithKey(key: KeyObject, data: Uint8Array): Buffer {
  if (key.type !== 'private') throw invalid('signing key', 'expected a private key, got a public key');
  const alg = keyAlgorithm(createPublicKey(key), 'signing key');
  return cryptoSign(hashFor(alg), data, key);
}

/** A freshly generated ECDSA P-256 pair (cosign generate-key-pair's algorithm), PEM encoded. */
export interface GeneratedKeyPair {
  /** Unencrypted PKCS#8 `PRIVATE KEY` PEM. Secret: write it with mode 0600. */
  readonly privatePem: string;
  /** SubjectPublicKeyInfo `PUBLIC KEY` PEM, as cosign.pub. */
  readonly publicPem: string;
  readonly keyId: string;
}

/** Generate an ECDSA P-256 key pair. Does not write anything or encrypt the private key. */
export function generateKeyPair(): GeneratedKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: publicKeyId(publicKey),
  };
}

/**
 * Read a cosign signing key. Accepts cosign's own encrypted format (`ENCRYPTED SIGSTORE PRIVATE KEY` /
 * `ENCRYPTED COSIGN PRIVATE KEY`: scrypt + NaCl secretbox over PKCS#8, see encrypted-key.ts; a missing password
 * is "" as in cosign), plain PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) and password-protected PKCS#8
 * (`ENCRYPTED PRIVATE KEY`) PEM.
 *
 * Verifies the key parses (and, for encrypted keys, that the password is right) and is a supported type; never
 * echoes key material or the password. Throws SIGNATURE_INVALID.
 */
export function readCosignPrivateKey(pem: string, password?: string): KeyObject {
  const subject = 'signing key';
  if (isCosignEncryptedKey(pem)) {
    const key = decryptCosignPrivateKey(pem, password ?? '');
    keyAlgorithm(createPublicKey(key), subject);
    return key;
  }
  if (!/-----BEGIN (ENCRYPTED |EC )?PRIVATE KEY-----/.test(pem)) {
    throw invalid(subject, 'expected a PEM "PRIVATE KEY" block, got none');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(
      password === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase: password },
    );
  } catch (err) {
    // OpenSSL messages never contain the key or password, but keep ours fixed anyway.
    throw invalid(subject, 'expected a readable private key, got one that does not parse (wrong password?)', {
      cause: err,
    });
  }
  keyAlgorithm(createPublicKey(key), subject);
  return key;
}
