/**
 * registries.conf, version 2 (containers-registries.conf(5), TOML), as far as customs uses it:
 * `unqualified-search-registries`, `short-name-mode`, `[aliases]`, and `[[registry]]` tables with `prefix`,
 * `location`, `insecure`, `blocked`, `mirror-by-digest-only` and `[[registry.mirror]]`.
 *
 * Fail closed: a key customs does not know is refused rather than ignored, because an ignored `blocked` or a
 * misspelled one would silently allow what the author meant to forbid. The version 1 format
 * (`[registries.search]`, `[registries.block]`) is refused with a hint to convert it. Drop-in directories
 * (`registries.conf.d`) and the system files under /etc/containers are not read: customs reads one file.
 *
 * Parsing is pure and synchronous (`parseRegistriesConf`); only `loadRegistriesConf` touches the filesystem.
 */
import { parse as parseToml, type TomlTable, type TomlValue } from 'smol-toml';
import { CustomsError, isCustomsError } from '../errors.js';
import { readConfigFileText } from '../internal/config-file.js';
import { MiB } from '../internal/units.js';
import { registriesConfPath, type Env } from './config-paths.js';
import {
  MAX_NAME_LENGTH_CHARS,
  parseRegistryHost,
  parseRepositoryName,
  parseRepositoryPath,
  quoteUntrusted,
  referenceSubject,
} from './parse.js';
import { formatReference, type Reference } from './reference.js';

/** A registries.conf is a few kilobytes; a megabyte is generous and keeps a hostile file from filling memory. */
export const MAX_REGISTRIES_CONF_BYTES = 1 * MiB;

/**
 * containers-registries.conf(5) `short-name-mode`. Kept for fidelity only: customs never prompts and never
 * searches, so it refuses every unaliased short name in every mode (see short-names.ts).
 */
export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

/** A `[[registry.mirror]]` entry. Parsed and validated, but customs does not pull from mirrors yet. */
export interface RegistryMirror {
  /** `host[:port][/path]`, host lowercased. */
  readonly location: string;
  readonly insecure: boolean;
  readonly pullFromMirror: 'all' | 'digest-only' | 'tag-only';
}

/** One `[[registry]]` table after validation. */
export interface RegistryEntry {
  /** `host[:port][/path]` or `*.domain`, host lowercased. Defaults to `location` when the file omits it. */
  readonly prefix: string;
  /**
   * Where references under `prefix` are fetched from: `host[:port][/path]`. Undefined only for a wildcard
   * prefix without a location, which means "each registry is its own location". A non-wildcard prefix without
   * location is its own location (containers/image refuses that table; customs accepts it because
   * `prefix = "x"` + `blocked = true` has one obvious meaning).
   */
  readonly location: string | undefined;
  /** Allow plain HTTP and unverified TLS. customs' transport decides whether it honours this. */
  readonly insecure: boolean;
  /** Refuse every reference under `prefix` before any connection (`assertNotBlocked`). */
  readonly blocked: boolean;
  /** Parsed and kept; customs does not use mirrors yet. */
  readonly mirrors: readonly RegistryMirror[];
  /** Parsed and kept; customs does not use mirrors yet. */
  readonly mirrorByDigestOnly: boolean;
}

/** A short-name alias target: a fully qualified repository without tag or digest. */
export interface AliasTarget {
  readonly registry: string;
  readonly repository: string;
}

/** A validated registries.conf. Build one with `parseRegistriesConf` or `EMPTY_REGISTRIES_CONF`. */
export interface RegistriesConf {
  /** The file it came from, for messages; undefined for the empty configuration. */
  readonly sourcePath: string | undefined;
  /** `host[:port]`, lowercased, in file order. customs lists them in messages and never searches them. */
  readonly unqualifiedSearchRegistries: readonly string[];
  readonly shortNameMode: ShortNameMode;
  /** Short name (no tag, no registry) → fully qualified repository. */
  readonly aliases: ReadonlyMap<string, AliasTarget>;
  readonly registries: readonly RegistryEntry[];
}

/** The configuration used when no registries.conf exists: no aliases, no search registries, nothing blocked. */
export const EMPTY_REGISTRIES_CONF: RegistriesConf = Object.freeze({
  sourcePath: undefined,
  unqualifiedSearchRegistries: Object.freeze([]),
  shortNameMode: 'enforcing',
  aliases: new Map(),
  registries: Object.freeze([]),
});

const TOP_LEVEL_KEYS = ['unqualified-search-registries', 'short-name-mode', 'aliases', 'registry'] as const;
const REGISTRY_KEYS = ['prefix', 'location', 'insecure', 'blocked', 'mirror', 'mirror-by-digest-only'] as const;
const MIRROR_KEYS = ['location', 'insecure', 'pull-from-mirror'] as const;
const SHORT_NAME_MODES: readonly ShortNameMode[] = ['enforcing', 'permissive', 'disabled'];
const PULL_FROM_MIRROR = ['all', 'digest-only', 'tag-only'] as const;
const WILDCARD_PREFIX = '*.';

/** Keys containers/image knows but customs does not implement: refused by name so nobody relies on them. */
const UNSUPPORTED_KEYS: Readonly<Record<string, string>> = {
  'credential-helpers': 'customs reads credentials from its own configuration, not from registries.conf',
  'additional-layer-store-auth-helper': 'customs has no additional layer store',
};

function configError(subject: string, what: string, expected: string, got: string, hint?: string): CustomsError {
  return new CustomsError('CONFIG_INVALID', `${subject}: ${what}: expected ${expected}, got ${got}`, {
    ...(hint === undefined ? {} : { hint }),
    details: { expected, got },
  });
}

function describe(value: TomlValue): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a table';
  return `a ${typeof value}`;
}

function isTable(value: TomlValue): value is TomlTable {
  return typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function expectString(value: TomlValue, subject: string): string {
  if (typeof value !== 'string') throw configError(subject, 'wrong type', 'a string', describe(value));
  return value;
}

function expectBoolean(value: TomlValue | undefined, subject: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw configError(subject, 'wrong type', 'true or false', describe(value));
  return value;
}

function expectTable(value: TomlValue, subject: string): TomlTable {
  if (!isTable(value)) throw configError(subject, 'wrong type', 'a table', describe(value));
  return value;
}

function expectArray(value: TomlValue, subject: string): TomlValue[] {
  if (!Array.isArray(value)) throw configError(subject, 'wrong type', 'an array', describe(value));
  return value;
}

function refuseUnknownKeys(table: TomlTable, known: readonly string[], subject: string): void {
  for (const key of Object.keys(table)) {
    if (!known.includes(key)) {
      throw configError(
        subject,
        'unknown key',
        `one of ${known.join(', ')}`,
        quoteUntrusted(key),
        'Remove or correct the key; customs refuses keys it does not understand.',
      );
    }
  }
}

/** Run a ref/ parser on configuration text, reporting its failure as CONFIG_INVALID (cause kept). */
function asConfig<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isCustomsError(err)) throw err;
    throw new CustomsError('CONFIG_INVALID', err.message, {
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      details: err.details,
      cause: err,
    });
  }
}

/** `host[:port][/path]` with the host validated and lowercased and the path validated. No tag, no digest. */
function parseLocation(untrusted: string, subject: string): string {
  return asConfig(() => {
    if (untrusted.length > MAX_NAME_LENGTH_CHARS) {
      throw configError(subject, 'too long', `at most ${MAX_NAME_LENGTH_CHARS} characters`, `${untrusted.length}`);
    }
    if (untrusted.includes('@')) {
      throw configError(subject, 'digest not supported', 'host[:port][/path]', quoteUntrusted(untrusted));
    }
    const slash = untrusted.indexOf('/');
    const host = parseRegistryHost(slash === -1 ? untrusted : untrusted.slice(0, slash), subject);
    if (slash === -1) return host;
    const path = untrusted.slice(slash + 1);
    if (path.includes(':')) {
      throw configError(
        subject,
        'tag not supported',
        'host[:port][/path]',
        quoteUntrusted(untrusted),
        'customs does not support tag-scoped prefixes; use a repository prefix.',
      );
    }
    return `${host}/${parseRepositoryPath(path, subject)}`;
  });
}

/** `*.domain` (containers-registries.conf(5): the wildcard only at the start, host only, any number of labels). */
function parseWildcardPrefix(untrusted: string, subject: string): string {
  const domain = untrusted.slice(WILDCARD_PREFIX.length);
  if (domain.includes('/') || domain.includes(':') || domain.includes('*') || domain.startsWith('[')) {
    throw configError(subject, 'invalid wildcard prefix', '*.domain without port or path', quoteUntrusted(untrusted));
  }
  return `${WILDCARD_PREFIX}${asConfig(() => parseRegistryHost(domain, subject))}`;
}

function parseMirror(value: TomlValue, subject: string): RegistryMirror {
  const table = expectTable(value, subject);
  refuseUnknownKeys(table, MIRROR_KEYS, subject);
  const rawLocation = table['location'];
  if (rawLocation === undefined) throw configError(subject, 'missing key', 'location', 'none');
  const location = parseLocation(expectString(rawLocation, `${subject}.location`), `${subject}.location`);
  const rawPull = table['pull-from-mirror'];
  let pullFromMirror: RegistryMirror['pullFromMirror'] = 'all';
  if (rawPull !== undefined) {
    const s = expectString(rawPull, `${subject}.pull-from-mirror`);
    const found = PULL_FROM_MIRROR.find((p) => p === s);
    if (found === undefined) {
      throw configError(`${subject}.pull-from-mirror`, 'invalid value', PULL_FROM_MIRROR.join(', '), quoteUntrusted(s));
    }
    pullFromMirror = found;
  }
  return { location, insecure: expectBoolean(table['insecure'], `${subject}.insecure`), pullFromMirror };
}

function parseRegistryEntry(value: TomlValue, subject: string): RegistryEntry {
  const table = expectTable(value, subject);
  refuseUnknownKeys(table, REGISTRY_KEYS, subject);
  const rawPrefix = table['prefix'];
  const rawLocation = table['location'];
  let location =
    rawLocation === undefined
      ? undefined
      : parseLocation(expectString(rawLocation, `${subject}.location`), `${subject}.location`);
  let prefix: string;
  if (rawPrefix === undefined) {
    if (location === undefined) throw configError(subject, 'missing key', 'prefix or location', 'neither');
    prefix = location;
  } else {
    const s = expectString(rawPrefix, `${subject}.prefix`);
    prefix = s.startsWith(WILDCARD_PREFIX)
      ? parseWildcardPrefix(s, `${subject}.prefix`)
      : parseLocation(s, `${subject}.prefix`);
  }
  // containers/image postProcessRegistries refuses a non-wildcard prefix without location; see RegistryEntry.
  if (location === undefined && !prefix.startsWith(WILDCARD_PREFIX)) location = prefix;
  const rawMirrors = table['mirror'];
  const mirrors =
    rawMirrors === undefined
      ? []
      : expectArray(rawMirrors, `${subject}.mirror`).map((m, i) => parseMirror(m, `${subject}.mirror[${i}]`));
  return {
    prefix,
    location,
    insecure: expectBoolean(table['insecure'], `${subject}.insecure`),
    blocked: expectBoolean(table['blocked'], `${subject}.blocked`),
    mirrors,
    mirrorByDigestOnly: expectBoolean(table['mirror-by-digest-only'], `${subject}.mirror-by-digest-only`),
  };
}

function parseAliases(value: TomlValue, subject: string): Map<string, AliasTarget> {
  const table = expectTable(value, subject);
  const aliases = new Map<string, AliasTarget>();
  for (const [key, rawTarget] of Object.entries(table)) {
    const keySubject = `${subject}.${quoteUntrusted(key)}`;
    const parsedKey = asConfig(() => parseRepositoryName(key, keySubject));
    if (parsedKey.kind !== 'short') {
      throw configError(
        keySubject,
        'alias key is qualified',
        'a short name without registry, tag or digest',
        quoteUntrusted(key),
      );
    }
    const target = expectString(rawTarget, keySubject);
    const parsedTarget = asConfig(() => parseRepositoryName(target, keySubject));
    if (parsedTarget.kind !== 'qualified') {
      throw configError(
        keySubject,
        'alias value is not fully qualified',
        'registry/repository without tag or digest',
        quoteUntrusted(target),
        'Alias values must name their registry, e.g. "docker.io/library/alpine".',
      );
    }
    aliases.set(key, { registry: parsedTarget.registry, repository: parsedTarget.repository });
  }
  return aliases;
}

/**
 * Parse and validate registries.conf text (version 2). `sourcePath` is used in messages only.
 *
 * Verifies: TOML syntax; that every key is one customs knows (unknown keys, version 1 `[registries.*]`
 * tables and unsupported containers keys are refused by name); value types; every prefix, location,
 * search registry and alias against the reference grammar; that alias values are fully qualified; that no
 * prefix appears twice. Does not: read drop-in files, contact registries, or check that hosts resolve.
 * Throws CONFIG_INVALID.
 */
export function parseRegistriesConf(text: string, sourcePath: string): RegistriesConf {
  const subject = `registries.conf ${quoteUntrusted(sourcePath)}`;
  let doc: TomlTable;
  try {
    doc = parseToml(text);
  } catch (err) {
    const what = err instanceof Error ? (err.message.split('\n')[0] ?? 'syntax error') : 'syntax error';
    throw new CustomsError('CONFIG_INVALID', `${subject}: invalid TOML: ${what}`, { cause: err });
  }
  if ('registries' in doc) {
    throw configError(
      subject,
      'version 1 format not supported',
      'version 2 keys (unqualified-search-registries, [[registry]])',
      '[registries.*] tables',
      'Convert to version 2: [registries.search] becomes unqualified-search-registries, [registries.block] becomes [[registry]] tables with blocked = true (containers-registries.conf(5)).',
    );
  }
  for (const key of Object.keys(doc)) {
    const why = UNSUPPORTED_KEYS[key];
    if (why !== undefined) {
      throw configError(
        subject,
        `unsupported key ${quoteUntrusted(key)}`,
        `one of ${TOP_LEVEL_KEYS.join(', ')}`,
        quoteUntrusted(key),
        `Remove it: ${why}.`,
      );
    }
  }
  refuseUnknownKeys(doc, TOP_LEVEL_KEYS, subject);

  const rawSearch = doc['unqualified-search-registries'];
  const unqualifiedSearchRegistries =
    rawSearch === undefined
      ? []
      : expectArray(rawSearch, `${subject}: unqualified-search-registries`).map((v, i) => {
          const s = `${subject}: unqualified-search-registries[${i}]`;
          return asConfig(() => parseRegistryHost(expectString(v, s), s));
        });

  let shortNameMode: ShortNameMode = 'enforcing';
  const rawMode = doc['short-name-mode'];
  if (rawMode !== undefined) {
    const s = expectString(rawMode, `${subject}: short-name-mode`);
    const found = SHORT_NAME_MODES.find((m) => m === s);
    if (found === undefined) {
      throw configError(`${subject}: short-name-mode`, 'invalid value', SHORT_NAME_MODES.join(', '), quoteUntrusted(s));
    }
    shortNameMode = found;
  }

  const rawAliases = doc['aliases'];
  const aliases =
    rawAliases === undefined ? new Map<string, AliasTarget>() : parseAliases(rawAliases, `${subject}: aliases`);

  const rawRegistries = doc['registry'];
  const registries =
    rawRegistries === undefined
      ? []
      : expectArray(rawRegistries, `${subject}: registry`).map((r, i) =>
          parseRegistryEntry(r, `${subject}: registry[${i}]`),
        );
  const seen = new Set<string>();
  for (const r of registries) {
    // containers/image refuses duplicate prefixes too: which table wins would otherwise depend on file order.
    if (seen.has(r.prefix)) {
      throw configError(subject, 'duplicate [[registry]] prefix', 'each prefix once', quoteUntrusted(r.prefix));
    }
    seen.add(r.prefix);
  }
  return { sourcePath, unqualifiedSearchRegistries, shortNameMode, aliases, registries };
}

/** Where `loadRegistriesConf` reads from. */
export interface RegistriesConfPaths {
  /** An explicit file (e.g. a flag). When given, a missing file is an error. */
  readonly path?: string;
  /** Used for the default path `configDir(env)/registries.conf`, which may be missing. */
  readonly env: Env;
}

/**
 * Read and parse registries.conf: `paths.path` if given (must exist), else `configDir(env)/registries.conf`
 * (missing = `EMPTY_REGISTRIES_CONF`). Refuses anything but a regular file (a FIFO or device could block or
 * never end) and files over MAX_REGISTRIES_CONF_BYTES; the text must be UTF-8. Throws CONFIG_INVALID.
 */
export async function loadRegistriesConf(paths: RegistriesConfPaths, signal?: AbortSignal): Promise<RegistriesConf> {
  const path = paths.path ?? registriesConfPath(paths.env);
  const text = await readConfigFileText(path, {
    subject: `registries.conf ${quoteUntrusted(path)}`,
    maxBytes: MAX_REGISTRIES_CONF_BYTES,
    code: 'CONFIG_INVALID',
    missingOk: paths.path === undefined,
    missingHint: 'Check the path given for registries.conf.',
    signal,
  });
  if (text === undefined) return EMPTY_REGISTRIES_CONF;
  return parseRegistriesConf(text, path);
}

/** Host part of `host[:port]` (IPv6 literals keep their brackets). */
function hostWithoutPort(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(0, registry.indexOf(']') + 1);
  const colon = registry.indexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

/**
 * Whether `prefix` covers `registry/repository`. Stricter than containers/image refMatchesPrefix: a host
 * prefix matches that exact `host[:port]` only (containers lets `example.com` match `example.com:5000` and
 * says not to rely on it), and a path prefix matches whole path components. A wildcard `*.example.com`
 * matches any subdomain (any number of labels) on any port, so a blocked wildcard cannot be sidestepped
 * with an explicit port; it never matches `example.com` itself.
 */
function prefixMatches(prefix: string, registry: string, repository: string): boolean {
  if (prefix.startsWith(WILDCARD_PREFIX)) return hostWithoutPort(registry).endsWith(prefix.slice(1));
  const slash = prefix.indexOf('/');
  if (slash === -1) return registry === prefix;
  if (registry !== prefix.slice(0, slash)) return false;
  const path = prefix.slice(slash + 1);
  return repository === path || repository.startsWith(`${path}/`);
}

/**
 * The `[[registry]]` table governing `ref`: the one with the longest matching prefix (containers-registries
 * .conf(5), "only the TOML table with the longest match is used"); on equal length a non-wildcard prefix wins,
 * then file order. Returns undefined when no table matches (the registry is used as written, not blocked,
 * not insecure). Looks only at registry and repository, never at tag or digest.
 */
export function findRegistryConfig(
  conf: RegistriesConf,
  ref: Pick<Reference, 'registry' | 'repository'>,
): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const entry of conf.registries) {
    if (!prefixMatches(entry.prefix, ref.registry, ref.repository)) continue;
    if (
      best === undefined ||
      entry.prefix.length > best.prefix.length ||
      (entry.prefix.length === best.prefix.length &&
        best.prefix.startsWith(WILDCARD_PREFIX) &&
        !entry.prefix.startsWith(WILDCARD_PREFIX))
    ) {
      best = entry;
    }
  }
  return best;
}

/**
 * Where `ref` is actually fetched from: if its `[[registry]]` table has prefix P and location L, the part
 * of `registry/repository` after P is appended to L (containers/image Endpoint.rewriteReference). Without a
 * matching table, or for a wildcard table without location, returns the reference's own registry and
 * repository. Tag and digest are unchanged and not returned. Mirrors are not consulted (customs does not
 * use them yet). Throws CONFIG_INVALID if the rewrite yields an empty or over-long name.
 */
export function rewriteToLocation(
  conf: RegistriesConf,
  ref: Pick<Reference, 'registry' | 'repository'>,
): { registry: string; repository: string } {
  const entry = findRegistryConfig(conf, ref);
  if (entry?.location === undefined) return { registry: ref.registry, repository: ref.repository };
  let rest: string;
  if (entry.prefix.startsWith(WILDCARD_PREFIX)) {
    rest = `/${ref.repository}`;
  } else {
    const slash = entry.prefix.indexOf('/');
    rest = slash === -1 ? `/${ref.repository}` : ref.repository.slice(entry.prefix.length - slash - 1);
  }
  const rewritten = `${entry.location}${rest}`;
  const slash = rewritten.indexOf('/');
  const subject = `${referenceSubject(`${ref.registry}/${ref.repository}`)}: location ${quoteUntrusted(entry.location)}`;
  if (slash === -1) {
    throw configError(
      subject,
      'rewrite leaves no repository',
      'registry/repository',
      quoteUntrusted(rewritten),
      `Give [[registry]] prefix ${quoteUntrusted(entry.prefix)} a location with a repository path.`,
    );
  }
  if (rewritten.length > MAX_NAME_LENGTH_CHARS) {
    throw configError(
      subject,
      'rewritten name too long',
      `at most ${MAX_NAME_LENGTH_CHARS} characters`,
      `${rewritten.length}`,
    );
  }
  return { registry: rewritten.slice(0, slash), repository: rewritten.slice(slash + 1) };
}

function blockedError(ref: Reference, entry: RegistryEntry, conf: RegistriesConf, via?: string): CustomsError {
  const where =
    conf.sourcePath === undefined ? 'registries.conf' : `registries.conf ${quoteUntrusted(conf.sourcePath)}`;
  return new CustomsError(
    'REGISTRY_BLOCKED',
    `${referenceSubject(formatReference(ref))}: registry blocked: expected a registry not blocked in ${where}, got [[registry]] prefix ${quoteUntrusted(entry.prefix)} with blocked = true${via === undefined ? '' : ` (location ${via})`}`,
    {
      hint: `Use an image from another registry, or remove blocked = true for ${entry.prefix} in ${where}.`,
      details: { prefix: entry.prefix, ...(conf.sourcePath === undefined ? {} : { sourcePath: conf.sourcePath }) },
    },
  );
}

/**
 * Refuse `ref` if registries.conf blocks it, before any connection is made. Checks the `[[registry]]` table
 * governing the reference as written and, when `location` rewrites it elsewhere, the table governing the
 * rewritten location too (a rewrite must not lead into a blocked registry). Throws REGISTRY_BLOCKED (name
 * family, exit 3). Does not check policy, signatures or credentials.
 */
export function assertNotBlocked(conf: RegistriesConf, ref: Reference): void {
  const entry = findRegistryConfig(conf, ref);
  if (entry?.blocked === true) throw blockedError(ref, entry, conf);
  const location = rewriteToLocation(conf, ref);
  if (location.registry === ref.registry && location.repository === ref.repository) return;
  const target = findRegistryConfig(conf, location);
  if (target?.blocked === true) throw blockedError(ref, target, conf, `${location.registry}/${location.repository}`);
}
