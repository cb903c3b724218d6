/**
 * GPG simple signing (containers-signature(5)): a binary OpenPGP signed message whose literal data is a
 * simple-signing payload of type `atomic container signature`, as `skopeo copy --sign-by` / `skopeo
 * standalone-sign` write to lookaside `signature-N` files.
 */
import type * as openpgp from 'openpgp';
import { openpgpModule } from './lazy-modules.js';
import { MiB } from '../internal/units.js';
import type { Digest } from '../ref/index.js';
import { invalid, missing, reasonOf } from './failure.js';
import { readPublicKeys, requireOneValidSignature } from './openpgp-keys.js';
import {
  buildSimpleSigningPayload,
  GPG_SIMPLE_SIGNING_TYPE,
  parseSimpleSigningPayloadOfType,
  type VerifiedPayload,
} from './simple-signing.js';

/** A signature file is a payload (< 1 KiB) plus one OpenPGP signature; 4 MiB is far beyond any real one. */
export const MAX_GPG_SIGNATURE_BYTES = 4 * MiB;

/** A verified GPG simple signature. */
export interface VerifiedGpgSignature {
  readonly format: 'gpg';
  readonly payload: VerifiedPayload;
  /** Uppercase hex fingerprint of the primary key (from the given keyring) that made the signature. */
  readonly keyFingerprint: string;
  /** Same as keyFingerprint, for uniform policy facts. */
  readonly keyId: string;
}

/**
 * Verify a containers GPG signature: the message must carry exactly one OpenPGP signature that verifies under a key
 * in `publicKeys`, and its literal data must be a strict `atomic container signature` payload.
 *
 * Does NOT compare the payload's digest with the image, does NOT check the signed reference against policy
 * (src/policy does), and does NOT consult a GnuPG keyring or the network. Throws SIGNATURE_MISSING for an empty
 * signature, SIGNATURE_INVALID otherwise.
 */
export async function verifyGpgSimpleSignature(input: {
  signature: Uint8Array;
  publicKeys: Uint8Array | string;
}): Promise<VerifiedGpgSignature> {
  const subject = 'GPG signature';
  const untrusted = input.signature;
  if (untrusted.byteLength === 0) throw missing(subject, 'expected a signed message, got 0 bytes');
  if (untrusted.byteLength > MAX_GPG_SIGNATURE_BYTES) {
    throw invalid(subject, `too large: expected at most ${MAX_GPG_SIGNATURE_BYTES} bytes, got ${untrusted.byteLength}`);
  }
  const keys = await readPublicKeys(input.publicKeys);
  let message: openpgp.Message<Uint8Array>;
  try {
    message = await (await openpgpModule()).readMessage({ binaryMessage: new Uint8Array(untrusted) });
  } catch (err) {
    throw invalid(subject, `expected a binary OpenPGP signed message, got unreadable data: ${reasonOf(err)}`, {
      cause: err,
    });
  }
  let result: openpgp.VerifyMessageResult<Uint8Array>;
  try {
    // openpgp's stream-generic overloads do not resolve under lib ES2023 without DOM; narrow at runtime instead.
    const untypedResult: unknown = await (
      await openpgpModule()
    ).verify({ message, verificationKeys: keys, format: 'binary' });
    result = untypedResult as openpgp.VerifyMessageResult<Uint8Array>;
    if (!(result.data instanceof Uint8Array)) throw new Error('unexpected streamed result');
  } catch (err) {
    throw invalid(subject, `expected a signed message, got: ${reasonOf(err)}`, { cause: err });
  }
  const keyFingerprint = await requireOneValidSignature(result.signatures, keys, subject);
  // Only now, with the signature verified, is the payload interpreted.
  const payload = parseSimpleSigningPayloadOfType(result.data, GPG_SIMPLE_SIGNING_TYPE);
  return { format: 'gpg', payload, keyFingerprint, keyId: keyFingerprint };
}

/**
 * Produce a containers GPG signature (binary OpenPGP signed message over an `atomic container signature` payload)
 * that `skopeo standalone-verify` and `policy.json` `signedBy` accept. Does not check that `dockerReference`
 * parses or that the digest is in any store; the caller signs only what it holds.
 */
export async function signGpgSimple(input: {
  dockerReference: string;
  manifestDigest: Digest;
  privateKeyArmored: string;
  passphrase?: string;
  /** Seconds since the epoch for `optional.timestamp`; defaults to now. */
  timestamp?: number;
  creator?: string;
}): Promise<Buffer> {
  const subject = 'GPG signing key';
  let privateKey: openpgp.PrivateKey;
  try {
    privateKey = await (await openpgpModule()).readPrivateKey({ armoredKey: input.privateKeyArmored });
    if (!privateKey.isDecrypted()) {
      if (input.passphrase === undefined) throw new Error('the key is encrypted and no passphrase was given');
      privateKey = await (await openpgpModule()).decryptKey({ privateKey, passphrase: input.passphrase });
    }
  } catch (err) {
    throw invalid(subject, `expected a usable armored OpenPGP private key: ${reasonOf(err)}`, { cause: err });
  }
  const payload = buildSimpleSigningPayload({
    dockerReference: input.dockerReference,
    manifestDigest: input.manifestDigest,
    type: GPG_SIMPLE_SIGNING_TYPE,
    optional: {
      creator: input.creator ?? 'customs',
      timestamp: input.timestamp ?? Math.floor(Date.now() / 1000),
    },
  });
  const message = await (await openpgpModule()).createMessage({ binary: new Uint8Array(payload) });
  const signed: unknown = await (await openpgpModule()).sign({ message, signingKeys: privateKey, format: 'binary' });
  if (!(signed instanceof Uint8Array))
    throw new Error('(await openpgpModule()).sign: expected bytes for a non-streamed message');
  return Buffer.from(signed);
}
