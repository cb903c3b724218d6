/**
 * Look-alike name detection (typosquatting and homographs; Red Hat's "refuse look-alike names"). A reference
 * whose registry, or whose `registry/repository`, is close to a name the trust store or the aliases know —
 * but not equal to it — is refused with LOOKALIKE_NAME (exit 3), naming the near match. A name that is
 * itself known (or lies under a known repository prefix) passes.
 *
 * "Close" means any of:
 * - the same confusable skeleton (Unicode TR39 idea, with a small table: Cyrillic/Greek look-alikes, `0/o`,
 *   `1/l/i`, `rn/m`, `vv/w`, `cl/d`; punycode `xn--` labels are decoded first, so IDN homographs count);
 * - Damerau-Levenshtein distance ≤ 2 when both names are at least 4 characters (shorter names are too close
 *   to everything to say anything);
 * - the same host labels under a different top-level domain (`docker.io` vs `docker.com`).
 *
 * Two spellings of one host differing only in the port are not look-alikes (same owner), and IP literals are
 * compared only for equality. This is a heuristic that refuses; it never allows anything policy refuses.
 */
import { domainToUnicode } from 'node:url';
import { CustomsError } from '../errors.js';
import { formatReference, repositoryName, type RegistriesConf, type Reference } from '../ref/index.js';
import type { Policy } from './types.js';

/** Names closer than this (and not equal) are look-alikes. */
export const MAX_LOOKALIKE_DISTANCE = 2;
/** Edit distance says nothing useful about names shorter than this. */
export const MIN_LOOKALIKE_LENGTH = 4;

/** Names the trust store and aliases know. */
export interface KnownNames {
  /** Registry hosts, `host[:port]`. */
  readonly registries: readonly string[];
  /** Repositories or repository prefixes, `host[:port]/path`. */
  readonly repositories: readonly string[];
}

// Confusables folded to ASCII (subset of Unicode confusables.txt relevant to DNS and repository names).
const CONFUSABLE_CHARS: Readonly<Record<string, string>> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  ı: 'i',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  '0': 'o',
  '1': 'l',
  i: 'l',
  '|': 'l',
  '5': 's',
  _: '-',
};

/** The confusable skeleton of a name: two names with equal skeletons look alike. */
export function skeleton(name: string): string {
  const decoded = name
    .split('/')
    .map((part, i) => (i === 0 && part.includes('xn--') ? domainToUnicode(part) || part : part))
    .join('/');
  let out = '';
  for (const ch of decoded.normalize('NFKC').toLowerCase()) out += CONFUSABLE_CHARS[ch] ?? ch;
  return out.replace(/rn/g, 'm').replace(/vv/g, 'w').replace(/cl/g, 'd');
}

/** Optimal string alignment (restricted Damerau-Levenshtein) distance, stopping early past `max`. */
export function editDistance(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push(new Array<number>(b.length + 1).fill(0));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? 0;
  for (let i = 0; i <= a.length; i++) (rows[i] as number[])[0] = i;
  for (let j = 0; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let rowMin = Number.POSITIVE_INFINITY;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
  }
  return at(a.length, b.length);
}

function hostOf(nameOrRegistry: string): string {
  const registry = nameOrRegistry.split('/')[0] ?? '';
  if (registry.startsWith('[')) return registry.slice(0, registry.indexOf(']') + 1);
  const colon = registry.indexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

function withoutPort(name: string): string {
  const slash = name.indexOf('/');
  const host = hostOf(name);
  return slash === -1 ? host : `${host}${name.slice(slash)}`;
}

function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || /^[0-9.]+$/.test(host);
}

/** Why `candidate` looks like `known`, or undefined. Both are hosts or `host/path` names. */
export function lookalikeReason(candidate: string, known: string): string | undefined {
  const a = withoutPort(candidate);
  const b = withoutPort(known);
  if (a === b) return undefined; // equal, or differing only in the port
  const hostA = hostOf(a);
  const hostB = hostOf(b);
  if ((isIpLiteral(hostA) || isIpLiteral(hostB)) && a.slice(hostA.length) === b.slice(hostB.length)) return undefined;
  if (skeleton(a) === skeleton(b)) return 'confusable characters';
  if (Math.min(a.length, b.length) >= MIN_LOOKALIKE_LENGTH && !isIpLiteral(hostA) && !isIpLiteral(hostB)) {
    const d = editDistance(a, b, MAX_LOOKALIKE_DISTANCE);
    if (d <= MAX_LOOKALIKE_DISTANCE) return `edit distance ${d}`;
  }
  const labelsA = hostA.split('.');
  const labelsB = hostB.split('.');
  if (
    labelsA.length >= 2 &&
    labelsB.length >= 2 &&
    labelsA.slice(0, -1).join('.') === labelsB.slice(0, -1).join('.') &&
    a.slice(hostA.length) === b.slice(hostB.length)
  ) {
    return 'same name under another top-level domain';
  }
  return undefined;
}

function isUnder(name: string, prefix: string): boolean {
  return name === prefix || name.startsWith(`${prefix}/`);
}

function lookalikeError(ref: Reference, got: string, near: string, why: string): CustomsError {
  return new CustomsError(
    'LOOKALIKE_NAME',
    `reference ${JSON.stringify(formatReference(ref))}: look-alike name refused: expected ${JSON.stringify(near)} or a name the trust store knows, got ${JSON.stringify(got)} (${why})`,
    {
      hint: `If ${got} is really the name you mean, trust it explicitly (customs trust add ${got} …) or add it as an alias.`,
      details: { got, near, why },
    },
  );
}

/**
 * Refuse `ref` if its registry or `registry/repository` looks like a known name without being one. Pure.
 * Throws LOOKALIKE_NAME naming the near match; returns normally otherwise. Does not decide trust: a name that
 * passes here still needs the policy to allow it.
 */
export function checkLookalike(ref: Reference, known: KnownNames): void {
  const registry = ref.registry;
  const name = repositoryName(ref);
  if (known.repositories.some((k) => isUnder(name, k))) return;
  const knownRegistries = new Set([...known.registries, ...known.repositories.map((r) => r.split('/')[0] ?? '')]);
  const registryKnown = [...knownRegistries].some((k) => withoutPort(k) === withoutPort(registry));
  if (!registryKnown) {
    for (const k of knownRegistries) {
      const why = lookalikeReason(registry, k);
      if (why !== undefined) throw lookalikeError(ref, registry, k, why);
    }
  }
  const parts = name.split('/');
  for (const k of known.repositories) {
    const depth = k.split('/').length;
    const candidates = new Set([name, parts.slice(0, depth).join('/')]);
    for (const c of candidates) {
      if (c === k) continue;
      const why = lookalikeReason(c, k);
      if (why !== undefined) throw lookalikeError(ref, c, k, why);
    }
  }
}

/**
 * Known names from the trust store (every `transports.docker` scope: hosts as registries, paths as
 * repositories, tags/digests stripped, wildcards skipped) and registries.conf aliases (their targets). Pure.
 */
export function knownNamesFrom(policy: Policy, registriesConf?: RegistriesConf): KnownNames {
  const registries = new Set<string>();
  const repositories = new Set<string>();
  for (const scope of policy.transports.get('docker')?.keys() ?? []) {
    if (scope === '' || scope.startsWith('*.')) continue;
    let name = scope;
    const at = name.indexOf('@');
    if (at !== -1) name = name.slice(0, at);
    const colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/') && name.includes('/')) name = name.slice(0, colon);
    if (name.includes('/')) {
      repositories.add(name);
      registries.add(name.slice(0, name.indexOf('/')));
    } else {
      registries.add(name);
    }
  }
  for (const target of registriesConf?.aliases.values() ?? []) {
    registries.add(target.registry);
    repositories.add(`${target.registry}/${target.repository}`);
  }
  return { registries: [...registries], repositories: [...repositories] };
}
