/**
 * signedIdentity rules: does the reference a signature claims match the image being evaluated? Each rule
 * follows containers/image signature/policy_reference_match.go; anything that fails to parse does not match.
 */
import {
  parseCanonicalDockerName,
  parseNormalizedDockerName,
  dockerNameString,
  type DockerName,
} from './docker-name.js';
import type { SignedIdentity } from './types.js';

function isNameOnly(n: DockerName): boolean {
  return n.tag === undefined && n.digest === undefined;
}

/** Exact: same name, tag and digest; name-only references never match. */
function exactMatch(intended: DockerName, signature: DockerName): boolean {
  if (isNameOnly(intended) || isNameOnly(signature)) return false;
  return dockerNameString(signature) === dockerNameString(intended);
}

/**
 * matchRepoDigestOrExact on parsed values (matchRepoDigestOrExactReferenceValues): a tagged image (with or
 * without a digest) needs an exact match; an image by digest only needs the same repository, because the
 * manifest digest itself is checked against the signature separately.
 */
function repoDigestOrExact(intended: DockerName, signature: DockerName): boolean {
  if (isNameOnly(signature)) return false;
  if (intended.tag !== undefined) return dockerNameString(signature) === dockerNameString(intended);
  if (intended.digest !== undefined) return signature.name === intended.name;
  return false;
}

/** refMatchesPrefix: the name equals the prefix or continues it with `/`. */
export function nameMatchesPrefix(name: string, prefix: string): boolean {
  if (name.length < prefix.length) return false;
  if (name.length === prefix.length) return name === prefix;
  return name.startsWith(prefix) && name[prefix.length] === '/';
}

/** remapIdentity: rewrite a matching prefix, then require the result to be a canonical reference. */
export function remapReference(image: DockerName, prefix: string, signedPrefix: string): DockerName | undefined {
  if (!nameMatchesPrefix(image.name, prefix)) return image;
  const rewritten = `${signedPrefix}${dockerNameString(image).slice(prefix.length)}`;
  return parseCanonicalDockerName(rewritten);
}

/**
 * Whether a signature claiming `untrustedSignatureReference` satisfies `identity` for `image`. Pure.
 * Verifies only the reference relation; the manifest digest is checked by the evaluator.
 */
export function identityMatches(
  identity: SignedIdentity,
  image: DockerName,
  untrustedSignatureReference: string,
): boolean {
  const signature = parseNormalizedDockerName(untrustedSignatureReference);
  if (signature === undefined) return false;
  switch (identity.type) {
    case 'matchExact':
      return exactMatch(image, signature);
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(image, signature);
    case 'matchRepository':
      return signature.name === image.name;
    case 'exactReference': {
      const intended = parseNormalizedDockerName(identity.dockerReference);
      return intended !== undefined && exactMatch(intended, signature);
    }
    case 'exactRepository': {
      const intended = parseNormalizedDockerName(identity.dockerRepository);
      return intended !== undefined && signature.name === intended.name;
    }
    case 'remapIdentity': {
      const intended = remapReference(image, identity.prefix, identity.signedPrefix);
      return intended !== undefined && repoDigestOrExact(intended, signature);
    }
  }
}

/** One-line description of an identity rule for reasons and listings. */
export function describeIdentity(identity: SignedIdentity): string {
  switch (identity.type) {
    case 'exactReference':
      return `exactReference ${identity.dockerReference}`;
    case 'exactRepository':
      return `exactRepository ${identity.dockerRepository}`;
    case 'remapIdentity':
      return `remapIdentity ${identity.prefix} → ${identity.signedPrefix}`;
    default:
      return identity.type;
  }
}
