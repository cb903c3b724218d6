/** customs as a library: the verbs (ops) plus the types and errors they speak. */
export * from './ops/index.js';
export * from './errors.js';
export type { Reference, Digest } from './ref/index.js';
export type { Descriptor, Platform, ProgressEvent, ProgressSink } from './oci/index.js';
