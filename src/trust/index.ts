/**
 * src/trust: signature verification cores and signing helpers. The module's only import surface.
 *
 * Verification is pure where it can be (bytes + keys in, verified facts or a SIGNATURE_* CustomsError out; no
 * network, no store). What a signature *means* for an image — scope, thresholds, reference matching — is
 * src/policy's decision, made over the facts returned here.
 */
export {
  COSIGN_SIMPLE_SIGNING_TYPE,
  GPG_SIMPLE_SIGNING_TYPE,
  MAX_SIMPLE_SIGNING_PAYLOAD_BYTES,
  buildSimpleSigningPayload,
  parseSimpleSigningPayload,
  parseSimpleSigningPayloadOfType,
  type SimpleSigningType,
  type VerifiedPayload,
} from './simple-signing.js';
export {
  MIN_RSA_KEY_BITS,
  generateKeyPair,
  keyAlgorithm,
  parsePublicKeyPem,
  publicKeyId,
  readCosignPrivateKey,
  type GeneratedKeyPair,
  type KeyAlgorithm,
} from './keys.js';
export * from './cosign.js';
export {
  ACCEPTED_SCRYPT_PARAMS,
  COSIGN_ENCRYPTED_KEY_PEM_TYPE,
  SIGSTORE_ENCRYPTED_KEY_PEM_TYPE,
  decryptCosignPrivateKey,
  decryptSecureSystemsLib,
  encryptCosignPrivateKey,
  encryptSecureSystemsLib,
  isCosignEncryptedKey,
} from './encrypted-key.js';
export * from './bundle.js';
export * from './keyless.js';
export { MAX_GPG_SIGNATURE_BYTES, signGpgSimple, verifyGpgSimpleSignature, type VerifiedGpgSignature } from './gpg.js';
export { MAX_KEYRING_BYTES, readPublicKeys } from './openpgp-keys.js';
export * from './checksums.js';
export * from './notary/index.js';
