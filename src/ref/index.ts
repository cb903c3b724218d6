/**
 * src/ref: strict image-reference parsing and name resolution. The module's only import surface.
 *
 * No implicit docker.io, library/ or :latest: `parseReference` checks the distribution reference grammar,
 * `resolveName` turns a short name into a Reference only through registries.conf `[aliases]`, and
 * `assertNotBlocked` / `rewriteToLocation` apply the rest of registries.conf before any connection.
 */
export * from './digest.js';
export * from './reference.js';
export {
  MAX_NAME_LENGTH_CHARS,
  MAX_TAG_LENGTH_CHARS,
  apiHostFor,
  parseQualifiedReference,
  parseReference,
  parseRegistryHost,
  parseRepositoryName,
  parseRepositoryPath,
  type ParsedName,
  type ParsedRepositoryName,
  type ShortName,
} from './parse.js';
export * from './registries-conf.js';
export * from './short-names.js';
export * from './config-paths.js';
