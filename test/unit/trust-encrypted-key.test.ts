// cosign's encrypted private-key format (scrypt + NaCl secretbox, go-securesystemslib `encrypted`): known
// vectors from go-securesystemslib's encrypted_test.go, round trips through generate-key, wrong passwords.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import {
  decryptSecureSystemsLib,
  encryptCosignPrivateKey,
  encryptSecureSystemsLib,
  publicKeyId,
  readCosignPrivateKey,
} from '../../src/trust/index.js';
import { generateKeyFiles } from '../../src/ops/index.js';
import { isCustomsError } from '../../src/errors.js';

// go-securesystemslib encrypted/encrypted_test.go TestDecrypt and kdfVectors: passphrase "supersecret",
// plaintext "reallyimportant".
const TEST_DECRYPT_VECTOR =
  '{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g="},"cipher":{"name":"nacl/secretbox","nonce":"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik"},"ciphertext":"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ=="}';
const KDF_VECTORS = [
  '{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"WO3mVvyTwJ9vwT5/Tk5OW5WPIBUofMjcpEfrLnfY4uA="},"cipher":{"name":"nacl/secretbox","nonce":"tCy7HcTFr4uxv4Nrg/DWmncuZ148U1MX"},"ciphertext":"08n43p5G5yviPEZpO7tPPF4aZQkWiWjkv4taFdhDBA0tamKH4nw="}',
  '{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"FhzPOt9/bJG4PTq6lQ6ecG6GzaOuOy/ynG5+yRiFlNs="},"cipher":{"name":"nacl/secretbox","nonce":"aw1ng1jHaDz/tQ7V2gR9O2+IGQ8xJEuE"},"ciphertext":"HycvuLZL4sYH0BrYTh4E/H20VtAW6u5zL5Pr+IBjYLYnCPzDkq8="}',
  '{"kdf":{"name":"scrypt","params":{"N":131072,"r":8,"p":1},"salt":"m38E3kouJTtiheLQN22NQ8DTito5hrjpUIskqcd375k="},"cipher":{"name":"nacl/secretbox","nonce":"Y6PM13yA+o44pE/W1ZBwczeGnTV/m9Zc"},"ciphertext":"6H8sqj1K6B6yDjtH5AQ6lbFigg/C2yDDJc4rYJ79w9aVPImFIPI="}',
];
const UNSUPPORTED_PARAMS =
  '{"kdf":{"name":"scrypt","params":{"N":99,"r":99,"p":99},"salt":"cZFcQJdwPhPyhU1R4qkl0qVOIjZd4V/7LYYAavq166k="},"cipher":{"name":"nacl/secretbox","nonce":"7vhRS7j0hEPBWV05skAdgLj81AkGeE7U"},"ciphertext":"6WYU/YSXVbYzl/NzaeAzmjLyfFhOOjLc0d8/GFV0aBFdJvyCcXc="}';

function signatureInvalid(pattern: RegExp): (err: unknown) => boolean {
  return (err) => isCustomsError(err) && err.code === 'SIGNATURE_INVALID' && pattern.test(err.message);
}

test('go-securesystemslib known vectors decrypt to their plaintext (all three scrypt strengths)', () => {
  assert.equal(decryptSecureSystemsLib(Buffer.from(TEST_DECRYPT_VECTOR), 'supersecret').toString(), 'reallyimportant');
  // kdfVectors go through encrypted.Marshal, which JSON-encodes the []byte first (a base64 string).
  for (const v of KDF_VECTORS) {
    const inner = JSON.parse(decryptSecureSystemsLib(Buffer.from(v), 'supersecret').toString()) as string;
    assert.equal(Buffer.from(inner, 'base64').toString(), 'reallyimportant');
  }
});

test('a wrong password is refused with a clear error that names neither password nor key', () => {
  assert.throws(
    () => decryptSecureSystemsLib(Buffer.from(TEST_DECRYPT_VECTOR), 'notsosecret'),
    (err: unknown) => signatureInvalid(/wrong password/)(err) && !(err as Error).message.includes('notsosecret'),
  );
});

test('scrypt parameters go-securesystemslib does not accept are refused before deriving a key', () => {
  assert.throws(
    () => decryptSecureSystemsLib(Buffer.from(UNSUPPORTED_PARAMS), 'supersecret'),
    signatureInvalid(/unsupported scrypt parameters/),
  );
});

test('a tampered ciphertext is refused', () => {
  const doc = JSON.parse(encryptSecureSystemsLib(Buffer.from('payload'), 'pw').toString()) as {
    ciphertext: string;
  };
  const ct = Buffer.from(doc.ciphertext, 'base64');
  ct[0] = (ct[0] ?? 0) ^ 0xff;
  doc.ciphertext = ct.toString('base64');
  assert.throws(
    () => decryptSecureSystemsLib(Buffer.from(JSON.stringify(doc)), 'pw'),
    signatureInvalid(/wrong password/),
  );
});

test('encrypt then decrypt round-trips and writes the layout securesystemslib reads', () => {
  const env = encryptSecureSystemsLib(Buffer.from('reallyimportant'), 'supersecret');
  const doc = JSON.parse(env.toString()) as { kdf: { params: unknown; salt: string }; cipher: { nonce: string } };
  assert.deepEqual(doc.kdf.params, { N: 32768, r: 8, p: 1 });
  assert.equal(Buffer.from(doc.kdf.salt, 'base64').length, 32);
  assert.equal(Buffer.from(doc.cipher.nonce, 'base64').length, 24);
  assert.equal(decryptSecureSystemsLib(env, 'supersecret').toString(), 'reallyimportant');
});

test('an ENCRYPTED SIGSTORE / COSIGN PRIVATE KEY is read with its password; the key is the one sealed', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = encryptCosignPrivateKey(privateKey, 'hunter2');
  assert.match(pem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.equal(publicKeyId(readCosignPrivateKey(pem, 'hunter2')), publicKeyId(publicKey));
  const legacy = pem.replaceAll('SIGSTORE', 'COSIGN');
  assert.equal(publicKeyId(readCosignPrivateKey(legacy, 'hunter2')), publicKeyId(publicKey));
  assert.throws(() => readCosignPrivateKey(pem, 'hunter3'), signatureInvalid(/wrong password/));
  assert.throws(() => readCosignPrivateKey(pem), signatureInvalid(/wrong password/));
});

test('cosign keys sealed with an empty password (cosign --password "") are read without one', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = encryptCosignPrivateKey(privateKey, '');
  assert.equal(publicKeyId(readCosignPrivateKey(pem)), publicKeyId(publicKey));
});

test('generate-key with a password writes cosign format (0600) that readCosignPrivateKey opens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'customs-enc-key-'));
  const r = await generateKeyFiles(join(dir, 'cosign'), 'pw-123');
  assert.equal(r.encrypted, true);
  const pem = readFileSync(r.privateKeyPath, 'utf8');
  assert.match(pem, /BEGIN ENCRYPTED SIGSTORE PRIVATE KEY/);
  assert.equal(statSync(r.privateKeyPath).mode & 0o777, 0o600);
  assert.equal(publicKeyId(readCosignPrivateKey(pem, 'pw-123')), r.keyId);
  const plain = await generateKeyFiles(join(dir, 'plain'));
  assert.match(readFileSync(plain.privateKeyPath, 'utf8'), /BEGIN PRIVATE KEY/);
});
