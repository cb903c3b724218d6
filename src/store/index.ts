/** The OCI image layout store: the only import surface of src/store. */
export type { ContentStore, FsckProblem, FsckReport, GcReport, IngestOptions, StoreEntry } from './content-store.js';
export { openStore, type OpenStoreOptions } from './oci-layout-store.js';
export { removeStoreIfUnused } from './remove-unused.js';
export { REF_NAME_ANNOTATION, isValidRefName, MAX_INDEX_BYTES } from './index-file.js';
export { LOCK_TIMEOUT_MS } from './lock.js';
export { WRITE_BATCH_BYTES } from './quarantine.js';
