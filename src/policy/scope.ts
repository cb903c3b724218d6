/**
 * Which `transports.docker` scope applies to a reference: containers/image policy_eval.go
 * requirementsForImageRef with the docker transport's PolicyConfigurationIdentity/Namespaces
 * (docker/policyconfiguration/naming.go): the full identity `repo:tag` (or `repo@digest`), then the repository,
 * then each parent namespace up to `host[:port]`, then `*.` wildcards of the host without port from the most to
 * the least specific (`*.sub.example.com`, `*.example.com`, `*.com`), then the docker default `""`, then the
 * top-level `default`. The first scope present wins; lists are never merged.
 */
import { isCustomsError } from '../errors.js';
import { parseReference, parseRegistryHost, repositoryName, type Reference } from '../ref/index.js';
import type { Policy, RequirementSet } from './types.js';

/** Identity scopes of `ref`, most specific first. With both tag and digest, `repo:tag` comes before `repo@digest`. */
export function policyIdentities(ref: Reference): string[] {
  const name = repositoryName(ref);
  const out: string[] = [];
  if (ref.tag !== undefined) out.push(`${name}:${ref.tag}`);
  if (ref.digest !== undefined) out.push(`${name}@${ref.digest}`);
  return out;
}

/** DockerReferenceNamespaces: the repository, its parents up to `host[:port]`, then `*.` host wildcards. */
export function policyNamespaces(ref: Pick<Reference, 'registry' | 'repository'>): string[] {
  const out: string[] = [];
  let name = repositoryName(ref);
  for (;;) {
    out.push(name);
    const slash = name.lastIndexOf('/');
    if (slash === -1) break;
    name = name.slice(0, slash);
  }
  // As containers/image: cut at the first ':' (a port; for an IPv6 literal this leaves "[", which has no dots).
  const colon = name.indexOf(':');
  if (colon !== -1) name = name.slice(0, colon);
  for (;;) {
    const dot = name.indexOf('.');
    if (dot === -1) break;
    name = name.slice(dot + 1);
    out.push(`*.${name}`);
  }
  return out;
}

/**
 * The requirements for `ref` under `policy`, and the scope they came from. Pure. Only the `docker` transport
 * is consulted; scopes of other transports never apply.
 */
export function requirementsFor(policy: Policy, ref: Reference): RequirementSet {
  const scopes = policy.transports.get('docker');
  if (scopes !== undefined) {
    for (const scope of [...policyIdentities(ref), ...policyNamespaces(ref)]) {
      const requirements = scopes.get(scope);
      if (requirements !== undefined) return { scope, isDefault: false, requirements };
    }
    const transportDefault = scopes.get('');
    if (transportDefault !== undefined) return { scope: '', isDefault: false, requirements: transportDefault };
  }
  return { scope: 'default', isDefault: true, requirements: policy.default };
}

/** Why a docker scope string is refused, or undefined when it is a canonical scope customs can match. */
export function validateDockerScope(scope: string): { expected: string; hint?: string } | undefined {
  const expected = 'host[:port], host[:port]/path, host[:port]/path:tag, host[:port]/path@digest or *.domain';
  if (scope.startsWith('*.')) {
    const host = scope.slice(2);
    let parsed: string | undefined;
    try {
      parsed = parseRegistryHost(host, 'scope');
    } catch (err) {
      if (!isCustomsError(err)) throw err;
    }
    if (parsed !== host || host.includes(':') || host.startsWith('[')) {
      return { expected: '*.domain with a lowercase domain name and no port' };
    }
    return undefined;
  }
  if (!scope.includes('/')) {
    let parsed: string | undefined;
    try {
      parsed = parseRegistryHost(scope, 'scope');
    } catch (err) {
      if (!isCustomsError(err)) throw err;
    }
    return parsed === scope ? undefined : { expected: `${expected}, lowercase` };
  }
  // A repository scope, optionally with a tag or digest: parse it as a reference (adding a dummy tag when bare).
  const hasPin = scope.includes('@') || scope.lastIndexOf(':') > scope.lastIndexOf('/');
  try {
    const parsed = parseReference(hasPin ? scope : `${scope}:x`);
    if (parsed.kind !== 'qualified') {
      return { expected, hint: 'A scope starts with a registry host (containing "." or ":", or localhost).' };
    }
    const r = parsed.reference;
    if (r.tag !== undefined && r.digest !== undefined) {
      return { expected: 'a tag or a digest, not both' };
    }
    const canonical = hasPin ? policyIdentities(r)[0] : repositoryName(r);
    if (canonical !== scope) return { expected: `${expected}, in canonical lowercase form` };
    return undefined;
  } catch (err) {
    if (!isCustomsError(err)) throw err;
    if (err.code === 'SHORT_NAME_REFUSED') {
      return {
        expected: 'docker.io/<namespace>/<name>',
        hint: 'containers/image matches Docker Hub names as docker.io/library/NAME; docker.io/NAME never matches.',
      };
    }
    return { expected };
  }
}
