/**
 * Image references. A Reference is always fully qualified: registry host, repository path, and a tag or a
 * digest (or both). There is no implicit docker.io, library/ or :latest (see parse.ts and short-names.ts).
 */
import type { Digest } from './digest.js';

export interface Reference {
  /** Registry host with optional port, as written (lowercased host), e.g. `127.0.0.1:5000`, `quay.io`. */
  readonly registry: string;
  /** Repository path without the registry, e.g. `library/debian`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/** `registry/repository` */
export function repositoryName(ref: Pick<Reference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Canonical string: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}
