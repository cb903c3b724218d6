/** OCI spec types and validating parsers: the only import surface of src/oci. */
export * from './descriptor.js';
export * from './media-types.js';
export * from './parse-descriptor.js';
export * from './manifest.js';
export * from './config.js';
export * from './platform.js';
export * from './content.js';
