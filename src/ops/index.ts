/** The library API: one-call verbs composing ref, registry, store (and later trust, unpack, export). */
export * from './context.js';
export * from './pull.js';
export * from './local.js';
export * from './login.js';
