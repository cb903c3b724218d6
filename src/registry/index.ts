/**
 * src/registry: the distribution-spec pull client, the untrusted side of customs. The module's only import
 * surface; re-exports registry/auth so callers import credentials and challenge parsing from here too.
 */
export { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_RETRIES, RegistryClient, type RegistryClientOptions } from './client.js';
export {
  MAX_REDIRECTS,
  REDIRECT_STATUSES,
  assertCredentialTransport,
  checkRedirect,
  isCredentialTarget,
} from './redirects.js';
export {
  DEFAULT_BACKOFF_BASE_MS,
  MAX_RETRY_AFTER_MS,
  MAX_TOTAL_BACKOFF_MS,
  RETRYABLE_STATUSES,
  RetryBudget,
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfter,
} from './retry.js';
export { MAX_RESUMES, checkResumeResponse, parseContentRange } from './blob-stream.js';
export { MAX_ERROR_BODY_BYTES, describeErrorBody } from './errors-body.js';
export { MAX_CERT_FILE_BYTES, type RegistryTls, loadRegistryTls } from './tls-config.js';
export { isCertificateError } from './transport.js';
export * from './auth/index.js';
