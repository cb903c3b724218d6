/**
 * registry/auth: pure authentication logic (challenge parsing, realm policy, token request/response) and the
 * credential stores (auth files, docker credential helpers, customs login). No HTTP here: the transport sends
 * what `buildTokenRequest` builds and hands the capped body to `parseTokenResponse`.
 */
export { type Challenge, MAX_WWW_AUTHENTICATE_BYTES, findChallenge, parseWwwAuthenticate } from './challenge.js';
export { type CheckedRealm, checkTokenRealm, isLinkLocalOrUnsafeHost, isLoopbackHost } from './realm.js';
export {
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  MAX_TOKEN_BYTES,
  MAX_TOKEN_LIFETIME_SECONDS,
  MAX_TOKEN_RESPONSE_BYTES,
  OAUTH_CLIENT_ID,
  type TokenRequest,
  type TokenResponse,
  buildTokenRequest,
  parseTokenResponse,
  pullScope,
} from './token.js';
export {
  BasicCredential,
  type Credential,
  type CredentialSource,
  type FoundCredential,
  IdentityTokenCredential,
  credentialSecret,
  describeCredential,
  findCredential,
} from './credentials.js';
export {
  DOCKER_HUB_INDEX_URL,
  type Env,
  HELPER_TIMEOUT_MS,
  MAX_HELPER_OUTPUT_BYTES,
  credentialHelperSource,
  dockerServerUrl,
  getFromCredentialHelper,
} from './credential-helper.js';
export { AUTH_FILE_NAME, MAX_AUTH_FILE_BYTES, authFileSource, removeLogin, saveLogin } from './auth-file.js';
export { defaultCredentialSources } from './default-sources.js';
