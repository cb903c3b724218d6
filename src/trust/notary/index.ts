/**
 * Notary v1 / Docker Content Trust verification: the pure core (verifyNotaryTag) and the fetch edge
 * (fetchNotaryMetadata). Imported through src/trust/index.ts.
 */
export {
  MAX_NOTARY_ROOT_ROTATIONS,
  NOTARY_RELEASES_ROLE,
  notaryDelegationPermits,
  verifyNotaryTag,
  type NotaryMetadata,
  type NotaryRootPin,
  type NotaryTagVerification,
  type NotaryTrustedState,
  type NotaryVersions,
  type VerifyNotaryTagInput,
} from './verify.js';
export {
  DEFAULT_NOTARY_TIMEOUT_MS,
  assertNotaryGun,
  fetchNotaryMetadata,
  parseNotaryServerUrl,
  type FetchNotaryOptions,
} from './fetch.js';
export { MAX_NOTARY_METADATA_BYTES, MAX_NOTARY_SIGNATURES, parseRfc3339 } from './metadata.js';
export { goCanonicalJson } from './canonical-json.js';
export { notaryKeyId } from './keys.js';
