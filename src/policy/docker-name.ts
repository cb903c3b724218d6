/**
 * Docker references as signatures and policy identities write them. containers/image compares identities
 * after distribution's `ParseNormalizedNamed` (normalize.go): a name without a registry gets `docker.io`,
 * `index.docker.io` becomes `docker.io`, and a single-component Docker Hub name gets `library/`. Signatures made
 * by other tools rely on that, so identity matching here normalizes the same way — unlike user input, which
 * src/ref refuses to normalize.
 *
 * Anything outside the grammar yields `undefined`, which every caller treats as "does not match" (fail closed).
 * Registry hosts must already be lowercase: containers/image compares them case-sensitively, so a signature
 * for `Quay.io/x` never matches `quay.io/x` there either.
 */
import { isCustomsError } from '../errors.js';
import { parseDigest, parseRegistryHost, parseRepositoryPath, type Reference } from '../ref/index.js';

/** distribution/reference NameTotalLengthMax. */
const MAX_NAME_LENGTH_CHARS = 255;
const TAG = /^\w[\w.-]{0,127}$/;
const ANCHORED_IDENTIFIER = /^[a-f0-9]{64}$/;

/** A normalized docker reference: `name` is `registry/repository`. */
export interface DockerName {
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** `name[:tag][@digest]` */
export function dockerNameString(n: DockerName): string {
  return `${n.name}${n.tag === undefined ? '' : `:${n.tag}`}${n.digest === undefined ? '' : `@${n.digest}`}`;
}

/** The DockerName of a customs Reference (already canonical: customs references are always fully qualified). */
export function dockerNameOf(ref: Reference): DockerName {
  return {
    name: `${ref.registry}/${ref.repository}`,
    ...(ref.tag === undefined ? {} : { tag: ref.tag }),
    ...(ref.digest === undefined ? {} : { digest: ref.digest }),
  };
}

function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (isCustomsError(err)) return undefined;
    throw err;
  }
}

/** Parse `host[:port]/path` (no tag/digest) with docker normalization; undefined if invalid. */
function normalizeName(untrusted: string): string | undefined {
  if (ANCHORED_IDENTIFIER.test(untrusted)) return undefined;
  const slash = untrusted.indexOf('/');
  const first = slash === -1 ? untrusted : untrusted.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash === -1 || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = 'docker.io';
    path = untrusted;
  } else {
    domain = first;
    path = untrusted.slice(slash + 1);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const host = quietly(() => parseRegistryHost(domain, 'docker reference'));
  if (host !== domain) return undefined;
  if (quietly(() => parseRepositoryPath(path, 'docker reference')) === undefined) return undefined;
  const name = `${domain}/${path}`;
  return name.length > MAX_NAME_LENGTH_CHARS ? undefined : name;
}

/**
 * distribution `ParseNormalizedNamed`: parse `[registry/]path[:tag][@digest]`, normalizing as described in the
 * file comment. A name with neither tag nor digest is allowed ("name only"). Returns undefined for anything
 * invalid, including digests other than exact sha256/sha512.
 */
export function parseNormalizedDockerName(untrusted: string): DockerName | undefined {
  if (typeof untrusted !== 'string' || untrusted === '') return undefined;
  let rest = untrusted;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = quietly(() => parseDigest(rest.slice(at + 1)));
    if (digest === undefined) return undefined;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) return undefined;
    rest = rest.slice(0, colon);
  }
  const name = normalizeName(rest);
  if (name === undefined) return undefined;
  return { name, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** distribution `ParseNamed`: like `parseNormalizedDockerName` but the input must already be canonical. */
export function parseCanonicalDockerName(untrusted: string): DockerName | undefined {
  const n = parseNormalizedDockerName(untrusted);
  return n !== undefined && dockerNameString(n) === untrusted ? n : undefined;
}

/** True for `registry/repository` names without tag or digest that are in canonical form. */
export function isCanonicalRepositoryName(untrusted: string): boolean {
  const n = parseCanonicalDockerName(untrusted);
  return n !== undefined && n.tag === undefined && n.digest === undefined;
}
