/**
 * OpenPGP key and signature plumbing shared by GPG simple signing and signed checksum files, on `openpgp`.
 * Keyrings are read from armored (one or more `BEGIN PGP PUBLIC KEY BLOCK` blocks) or binary bytes; a
 * signature counts only when it verifies under a key from the given keyring — never one carried by the message.
 */
import type * as openpgp from 'openpgp';
import { openpgpModule } from './lazy-modules.js';
import { MiB } from '../internal/units.js';
import { invalid, reasonOf } from './failure.js';

/** Bigger than any real keyring file; bounds parsing work on a hostile key file. */
export const MAX_KEYRING_BYTES = 16 * MiB;

const ARMOR_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

/** Read public keys from armored or binary keyring bytes. Throws SIGNATURE_INVALID when none can be read. */
export async function readPublicKeys(
  keyring: Uint8Array | string,
  subject = 'OpenPGP keyring',
): Promise<openpgp.PublicKey[]> {
  const bytes = typeof keyring === 'string' ? Buffer.from(keyring, 'utf8') : Buffer.from(keyring);
  if (bytes.byteLength > MAX_KEYRING_BYTES) {
    throw invalid(subject, `too large: expected at most ${MAX_KEYRING_BYTES} bytes, got ${bytes.byteLength}`);
  }
  const text = bytes.toString('latin1');
  try {
    if (text.includes('-----BEGIN PGP')) {
      const blocks = text.match(ARMOR_BLOCK) ?? [];
      if (blocks.length === 0) throw new Error('no PUBLIC KEY BLOCK');
      const keys: openpgp.PublicKey[] = [];
      for (const armoredKeys of blocks) {
        for (const key of await (await openpgpModule()).readKeys({ armoredKeys })) keys.push(key.toPublic());
      }
      return keys;
    }
    return (await (await openpgpModule()).readKeys({ binaryKeys: new Uint8Array(bytes) })).map((key) => key.toPublic());
  } catch (err) {
    throw invalid(subject, `expected OpenPGP public keys, got unreadable data: ${reasonOf(err)}`, { cause: err });
  }
}

/** Uppercase hex fingerprint of the primary key that owns `keyID` (possibly a subkey), or undefined. */
export function fingerprintFor(keys: readonly openpgp.Key[], keyID: openpgp.KeyID): string | undefined {
  for (const key of keys) {
    if (key.getKeys(keyID).length > 0) return key.getFingerprint().toUpperCase();
  }
  return undefined;
}

/**
 * Require exactly one signature on a verified openpgp result and that it verifies under `keys`; return the
 * signing primary key's fingerprint. containers/image (mech_gpgme.go) likewise accepts exactly one signature.
 */
export async function requireOneValidSignature(
  signatures: openpgp.VerifyMessageResult['signatures'],
  keys: readonly openpgp.Key[],
  subject: string,
): Promise<string> {
  if (signatures.length !== 1) {
    throw invalid(subject, `expected exactly 1 signature, got ${signatures.length}`);
  }
  const sig = signatures[0];
  if (sig === undefined) throw new Error('unreachable: length checked');
  const keyHex = sig.keyID.toHex().toUpperCase();
  const fingerprint = fingerprintFor(keys, sig.keyID);
  if (fingerprint === undefined) {
    throw invalid(subject, `signed by an unknown key: expected a key from the trusted keyring, got key ID ${keyHex}`, {
      details: { keyId: keyHex },
      hint: 'Add the signer’s public key to the trust store only if you trust it for this scope.',
    });
  }
  try {
    await sig.verified;
  } catch (err) {
    throw invalid(subject, `signature by ${fingerprint} does not verify: ${reasonOf(err)}`, {
      cause: err,
      details: { keyFingerprint: fingerprint },
    });
  }
  return fingerprint;
}
