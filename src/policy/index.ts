/**
 * src/policy: containers-policy.json parsing, scope lookup, pure synchronous evaluation of verified signature
 * facts into a Decision, registries.d lookaside configuration, the trust store (policy + keys directory) and
 * look-alike name detection. The module's only import surface.
 *
 * I/O lives only in `loadPolicy`, `loadRegistriesD`, `addTrust` and `removeTrust`; everything else is pure.
 */
export type * from './types.js';
export { parsePolicy, MAX_REQUIREMENTS_PER_SCOPE } from './parse-policy.js';
export { requirementsFor, policyIdentities, policyNamespaces, validateDockerScope } from './scope.js';
export { evaluate, decisionError, signatureChecks, type SignatureCheck } from './evaluate.js';
export { identityMatches, describeIdentity } from './identity.js';
export { parseNormalizedDockerName, dockerNameOf, dockerNameString, type DockerName } from './docker-name.js';
export {
  loadPolicy,
  policyPaths,
  starterPolicy,
  POLICY_FILE,
  SYSTEM_POLICY_PATH,
  type PolicyLocation,
} from './load.js';
export { MAX_POLICY_FILE_BYTES } from './config-file.js';
export {
  parseRegistriesD,
  loadRegistriesD,
  lookasideFor,
  EMPTY_REGISTRIES_D,
  SYSTEM_REGISTRIES_D,
  MAX_REGISTRIES_D_FILES,
  type LookasideNamespace,
  type LookasideLocation,
  type RegistriesD,
  type RegistriesDLocation,
} from './registries-d.js';
export {
  addTrust,
  removeTrust,
  listTrust,
  describeRequirement,
  assertTrustScope,
  type TrustKey,
  type TrustEntry,
} from './trust-store.js';
export {
  checkLookalike,
  knownNamesFrom,
  lookalikeReason,
  skeleton,
  editDistance,
  MAX_LOOKALIKE_DISTANCE,
  MIN_LOOKALIKE_LENGTH,
  type KnownNames,
} from './lookalike.js';
