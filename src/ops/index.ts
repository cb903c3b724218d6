/** The library API: one-call verbs composing ref, registry, store (and later trust, unpack, export). */
export * from './context.js';
export * from './pull.js';
export * from './local.js';
export * from './login.js';
export * from './verify.js';
export * from './sign.js';
export * from './trust.js';
export * from './export.js';
export * from './load.js';
export * from './notary.js';
export * from './unpack.js';
