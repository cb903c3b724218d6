/**
 * cosign's encrypted private-key format (`cosign generate-key-pair`, sigstore/cosign pkg/cosign/keys.go): a PEM
 * block `ENCRYPTED SIGSTORE PRIVATE KEY` (or the older `ENCRYPTED COSIGN PRIVATE KEY`) whose body is the JSON
 * envelope of go-securesystemslib's `encrypted` package:
 *
 *   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<b64 32 bytes>"},
 *    "cipher":{"name":"nacl/secretbox","nonce":"<b64 24 bytes>"},"ciphertext":"<b64>"}
 *
 * key = scrypt(password, salt, N, r, p, 32); plaintext = secretbox.open(ciphertext, nonce, key) (XSalsa20-Poly1305,
 * tweetnacl); the plaintext is a PKCS#8 DER private key. Only the three scrypt parameter sets securesystemslib
 * itself accepts are accepted (an attacker-supplied N of 2^40 would be a memory/CPU bomb).
 */
import { createPrivateKey, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { KiB, MiB } from '../internal/units.js';
import { invalid, reasonOf } from './failure.js';
import { naclModule } from './lazy-modules.js';

/** PEM type cosign writes today. */
export const SIGSTORE_ENCRYPTED_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
/** PEM type older cosign versions wrote; still read (and kept by `cosign import-key-pair`). */
export const COSIGN_ENCRYPTED_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';

/**
 * scrypt parameter sets go-securesystemslib accepts (Legacy — what cosign writes —, Standard, OWASP). Anything
 * else is refused: the parameters are read from the file before the password is checked.
 */
export const ACCEPTED_SCRYPT_PARAMS: readonly { readonly N: number; readonly r: number; readonly p: number }[] = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];
/** What generate-key writes: securesystemslib's default (Legacy), so every cosign version reads it. */
export const WRITE_SCRYPT_PARAMS = { N: 32768, r: 8, p: 1 } as const;
/** scrypt needs 128·N·r bytes; the largest accepted set (N=2^17, r=8) needs 128 MiB. */
const SCRYPT_MAX_MEM_BYTES = 256 * MiB;
/** An encrypted RSA-4096 PKCS#8 key is ~3.5 KiB of JSON; anything much larger is not a key file. */
export const MAX_ENCRYPTED_KEY_BYTES = 64 * KiB;
const SALT_BYTES = 32;

const SUBJECT = 'signing key';

function b64Field(v: unknown, what: string, expectedBytes?: number): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
    throw invalid(SUBJECT, `encrypted key: ${what}: expected base64, got another value`);
  }
  const b = Buffer.from(v, 'base64');
  if (expectedBytes !== undefined && b.length !== expectedBytes) {
    throw invalid(SUBJECT, `encrypted key: ${what}: expected ${expectedBytes} bytes, got ${b.length}`);
  }
  return b;
}

/** The PEM body of an encrypted cosign key, or undefined when `pem` is not one. */
function encryptedBody(pem: string): Buffer | undefined {
  const m =
    /-----BEGIN (ENCRYPTED (?:SIGSTORE|COSIGN) PRIVATE KEY)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/.exec(pem);
  if (m === null) return undefined;
  return Buffer.from((m[2] ?? '').replace(/\s+/g, ''), 'base64');
}

/** True when `pem` holds a cosign-encrypted key block. */
export function isCosignEncryptedKey(pem: string): boolean {
  return /-----BEGIN ENCRYPTED (?:SIGSTORE|COSIGN) PRIVATE KEY-----/.test(pem);
}

/**
 * Decrypt a go-securesystemslib `encrypted` envelope (the JSON, not the PEM) with `password`. Verifies the
 * envelope shape, the accepted KDF parameters and the Poly1305 tag; returns the plaintext. Throws
 * SIGNATURE_INVALID with a fixed message on a wrong password or tampered ciphertext (never echoing either).
 */
export function decryptSecureSystemsLib(untrustedEnvelope: Uint8Array, password: string): Buffer {
  if (untrustedEnvelope.byteLength > MAX_ENCRYPTED_KEY_BYTES) {
    throw invalid(SUBJECT, `encrypted key: too large: expected at most ${MAX_ENCRYPTED_KEY_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(untrustedEnvelope, 'encrypted key');
  } catch (err) {
    throw invalid(SUBJECT, `encrypted key: expected a JSON envelope, got: ${reasonOf(err)}`, { cause: err });
  }
  const kdf = isJsonObject(doc) ? doc['kdf'] : undefined;
  const cipher = isJsonObject(doc) ? doc['cipher'] : undefined;
  if (!isJsonObject(doc) || !isJsonObject(kdf) || !isJsonObject(cipher)) {
    throw invalid(SUBJECT, 'encrypted key: expected {kdf, cipher, ciphertext}, got another shape');
  }
  if (kdf['name'] !== 'scrypt') throw invalid(SUBJECT, 'encrypted key: kdf.name: expected "scrypt"');
  if (cipher['name'] !== 'nacl/secretbox') {
    throw invalid(SUBJECT, 'encrypted key: cipher.name: expected "nacl/secretbox"');
  }
  const params = kdf['params'];
  const accepted = ACCEPTED_SCRYPT_PARAMS.find(
    (a) => isJsonObject(params) && params['N'] === a.N && params['r'] === a.r && params['p'] === a.p,
  );
  if (accepted === undefined) {
    throw invalid(
      SUBJECT,
      'encrypted key: unsupported scrypt parameters: expected N 32768/65536/131072 with r 8, p 1, got others',
      { hint: 'go-securesystemslib (cosign) accepts only these; a file with others was not written by cosign.' },
    );
  }
  const salt = b64Field(kdf['salt'], 'kdf.salt');
  if (salt.length === 0) throw invalid(SUBJECT, 'encrypted key: kdf.salt: expected bytes, got none');
  const nacl = naclModule();
  const nonce = b64Field(cipher['nonce'], 'cipher.nonce', nacl.secretbox.nonceLength);
  const ciphertext = b64Field(doc['ciphertext'], 'ciphertext');
  const key = scryptSync(Buffer.from(password, 'utf8'), salt, nacl.secretbox.keyLength, {
    N: accepted.N,
    r: accepted.r,
    p: accepted.p,
    maxmem: SCRYPT_MAX_MEM_BYTES,
  });
  const plain = nacl.secretbox.open(new Uint8Array(ciphertext), new Uint8Array(nonce), new Uint8Array(key));
  key.fill(0);
  if (plain === null) {
    throw invalid(SUBJECT, 'encrypted key: decryption failed: wrong password, or the key file was altered', {
      hint: 'Check $COSIGN_PASSWORD (or --password-stdin); cosign keys are sealed with the password given at generate time.',
    });
  }
  return Buffer.from(plain);
}

/** Encrypt `plaintext` as go-securesystemslib `encrypted.Encrypt` does (Legacy scrypt, random salt and nonce). */
export function encryptSecureSystemsLib(plaintext: Uint8Array, password: string): Buffer {
  const nacl = naclModule();
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const key = scryptSync(Buffer.from(password, 'utf8'), salt, nacl.secretbox.keyLength, {
    ...WRITE_SCRYPT_PARAMS,
    maxmem: SCRYPT_MAX_MEM_BYTES,
  });
  const sealed = nacl.secretbox(new Uint8Array(plaintext), new Uint8Array(nonce), new Uint8Array(key));
  key.fill(0);
  // Key order as Go's encoding/json writes the securesystemslib structs.
  return Buffer.from(
    JSON.stringify({
      kdf: { name: 'scrypt', params: { ...WRITE_SCRYPT_PARAMS }, salt: salt.toString('base64') },
      cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
      ciphertext: Buffer.from(sealed).toString('base64'),
    }),
  );
}

/**
 * Read a cosign-encrypted private key PEM with `password` (cosign treats a missing password as ""). Verifies
 * the PEM block, the envelope, the password (Poly1305 tag) and that the plaintext is a PKCS#8 DER key. Does not
 * check the key type (the caller does). Throws SIGNATURE_INVALID.
 */
export function decryptCosignPrivateKey(pem: string, password: string): KeyObject {
  const body = encryptedBody(pem);
  if (body === undefined) {
    throw invalid(SUBJECT, `expected a PEM "${SIGSTORE_ENCRYPTED_KEY_PEM_TYPE}" block, got a malformed one`);
  }
  const der = decryptSecureSystemsLib(body, password);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw invalid(SUBJECT, 'encrypted key: decrypted payload: expected a PKCS#8 private key, got other bytes', {
      cause: err,
    });
  } finally {
    der.fill(0);
  }
}

/** Seal `key` as cosign does: PKCS#8 DER, securesystemslib-encrypted, PEM `ENCRYPTED SIGSTORE PRIVATE KEY`. */
export function encryptCosignPrivateKey(key: KeyObject, password: string): string {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const envelope = encryptSecureSystemsLib(der, password);
  der.fill(0);
  const b64 = envelope.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${SIGSTORE_ENCRYPTED_KEY_PEM_TYPE}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${SIGSTORE_ENCRYPTED_KEY_PEM_TYPE}-----\n`;
}
