/**
 * containers-registries.d(5): where GPG simple signatures live (lookaside stores) and whether to use sigstore
 * attachments, per docker scope. Files are `*.yaml` in one directory, merged; a scope (or `default-docker`)
 * defined in two files is refused, as containers/image does. Scope lookup follows containers/image
 * docker/registries_d.go: the full identity, then each namespace (same order as policy scopes), then
 * `default-docker`, field by field — a scope without `lookaside` falls through to the next one that has it.
 *
 * Stricter than containers/image (which ignores unknown YAML keys): unknown keys, wrong types and values that
 * are not file/http/https URLs are refused (POLICY_INVALID), since a misspelled key would silently disable
 * signature lookup. Directory: `--registries.d DIR`, else `$CUSTOMS_CONFIG/registries.d`, else
 * `/etc/containers/registries.d`; a missing default directory means "no configuration".
 */
import { readdir } from '../internal/fsp.js';
import { join } from 'node:path';
import { CustomsError, isCustomsError } from '../errors.js';
import { configDir, type Env, type Reference } from '../ref/index.js';
import { readConfigText } from './config-file.js';
import { policyIdentities, policyNamespaces, validateDockerScope } from './scope.js';
import { parseYamlSubset, YamlSubsetError, type YamlMap, type YamlValue } from './yaml-subset.js';

/** The system-wide registries.d directory. */
export const SYSTEM_REGISTRIES_D = '/etc/containers/registries.d';

/** More files than this in registries.d is not configuration a person maintains. */
export const MAX_REGISTRIES_D_FILES = 1000;

/** One scope's settings. Absent fields fall through to less specific scopes. */
export interface LookasideNamespace {
  readonly lookaside?: string;
  readonly lookasideStaging?: string;
  /** Legacy synonym of `lookaside`. */
  readonly sigstore?: string;
  /** Legacy synonym of `lookaside-staging`. */
  readonly sigstoreStaging?: string;
  readonly useSigstoreAttachments?: boolean;
}

/** Merged registries.d configuration. */
export interface RegistriesD {
  /** The files read, in name order. */
  readonly sources: readonly string[];
  readonly defaultDocker: LookasideNamespace | undefined;
  readonly docker: ReadonlyMap<string, LookasideNamespace>;
}

export const EMPTY_REGISTRIES_D: RegistriesD = Object.freeze({
  sources: Object.freeze([]),
  defaultDocker: undefined,
  docker: new Map(),
});

const NAMESPACE_KEYS: Readonly<Record<string, keyof LookasideNamespace>> = {
  lookaside: 'lookaside',
  'lookaside-staging': 'lookasideStaging',
  sigstore: 'sigstore',
  'sigstore-staging': 'sigstoreStaging',
  'use-sigstore-attachments': 'useSigstoreAttachments',
};

function invalid(subject: string, what: string, expected: string, got: string): CustomsError {
  return new CustomsError('POLICY_INVALID', `${subject}: ${what}: expected ${expected}, got ${got}`, {
    hint: 'Fix the registries.d file; customs refuses settings it does not understand.',
    details: { expected, got },
  });
}

function describe(v: YamlValue): string {
  return typeof v === 'object' ? 'a mapping' : typeof v === 'boolean' ? 'a boolean' : 'a string';
}

function parseUrl(v: YamlValue, subject: string): string {
  if (typeof v !== 'string') throw invalid(subject, 'wrong type', 'a URL string', describe(v));
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw invalid(subject, 'invalid URL', 'file://, http:// or https:// URL', JSON.stringify(v.slice(0, 200)));
  }
  if (u.protocol !== 'file:' && u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw invalid(subject, 'unsupported URL scheme', 'file, http or https', JSON.stringify(u.protocol));
  }
  return v;
}

function parseNamespace(v: YamlValue, subject: string): LookasideNamespace {
  if (typeof v !== 'object') throw invalid(subject, 'wrong type', 'a mapping', describe(v));
  const out: Record<string, string | boolean> = {};
  for (const [k, val] of Object.entries(v)) {
    const field = NAMESPACE_KEYS[k];
    if (field === undefined) {
      throw invalid(subject, 'unknown key', Object.keys(NAMESPACE_KEYS).join(', '), JSON.stringify(k));
    }
    if (field === 'useSigstoreAttachments') {
      if (typeof val !== 'boolean') throw invalid(`${subject}.${k}`, 'wrong type', 'true or false', describe(val));
      out[field] = val;
    } else {
      out[field] = parseUrl(val, `${subject}.${k}`);
    }
  }
  return out;
}

/**
 * Parse and merge registries.d files given as `{name, text}` (name for messages). Pure. Throws POLICY_INVALID
 * for YAML outside the supported subset, unknown keys, invalid scopes or URLs, and duplicate scopes.
 */
export function parseRegistriesD(files: readonly { name: string; text: string }[]): RegistriesD {
  let defaultDocker: LookasideNamespace | undefined;
  let defaultFrom: string | undefined;
  const docker = new Map<string, LookasideNamespace>();
  const from = new Map<string, string>();
  for (const file of files) {
    const subject = `registries.d ${JSON.stringify(file.name)}`;
    let doc: YamlMap;
    try {
      doc = parseYamlSubset(file.text);
    } catch (err) {
      if (!(err instanceof YamlSubsetError)) throw err;
      throw new CustomsError('POLICY_INVALID', `${subject}: unsupported YAML: ${err.message}`, {
        hint: 'registries.d files may contain only nested "key: value" mappings.',
        cause: err,
      });
    }
    for (const [top, value] of Object.entries(doc)) {
      if (top === 'default-docker') {
        if (defaultFrom !== undefined) {
          throw invalid(
            subject,
            'duplicate default-docker',
            'one definition',
            `another in ${JSON.stringify(defaultFrom)}`,
          );
        }
        defaultDocker = parseNamespace(value, `${subject}: default-docker`);
        defaultFrom = file.name;
      } else if (top === 'docker') {
        if (typeof value !== 'object') throw invalid(`${subject}: docker`, 'wrong type', 'a mapping', describe(value));
        for (const [scope, ns] of Object.entries(value)) {
          const problem = validateDockerScope(scope);
          if (problem !== undefined) {
            throw invalid(`${subject}: docker`, 'invalid scope', problem.expected, JSON.stringify(scope.slice(0, 200)));
          }
          const prior = from.get(scope);
          if (prior !== undefined) {
            throw invalid(
              `${subject}: docker`,
              `duplicate scope ${JSON.stringify(scope)}`,
              'one definition',
              `another in ${JSON.stringify(prior)}`,
            );
          }
          docker.set(scope, parseNamespace(ns, `${subject}: docker[${JSON.stringify(scope)}]`));
          from.set(scope, file.name);
        }
      } else {
        throw invalid(subject, 'unknown key', 'default-docker or docker', JSON.stringify(top.slice(0, 200)));
      }
    }
  }
  return { sources: files.map((f) => f.name), defaultDocker, docker };
}

export interface RegistriesDLocation {
  /** `--registries.d DIR`: when given, it must exist. */
  readonly flag?: string | undefined;
  readonly env: Env;
  /** Replaces SYSTEM_REGISTRIES_D (tests). */
  readonly systemDir?: string;
}

async function listYaml(dir: string, explicit: boolean): Promise<string[] | undefined> {
  try {
    const names = await readdir(dir);
    return names.filter((n) => n.endsWith('.yaml')).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return undefined;
    throw new CustomsError('POLICY_INVALID', `registries.d ${JSON.stringify(dir)}: cannot list: ${code ?? 'error'}`, {
      cause: err,
    });
  }
}

/**
 * Read registries.d: the flag directory if given (must exist), else the first of `configDir/registries.d`
 * and SYSTEM_REGISTRIES_D that exists, else EMPTY_REGISTRIES_D. Reads `*.yaml` files in name order (regular
 * files only, capped). Throws POLICY_INVALID.
 */
export async function loadRegistriesD(loc: RegistriesDLocation, signal?: AbortSignal): Promise<RegistriesD> {
  const explicit = loc.flag !== undefined && loc.flag !== '';
  const dirs: string[] = [];
  if (explicit) dirs.push(loc.flag);
  else {
    try {
      dirs.push(join(configDir(loc.env), 'registries.d'));
    } catch (err) {
      if (!isCustomsError(err)) throw err;
    }
    dirs.push(loc.systemDir ?? SYSTEM_REGISTRIES_D);
  }
  for (const dir of dirs) {
    const names = await listYaml(dir, explicit);
    if (names === undefined) continue;
    if (names.length > MAX_REGISTRIES_D_FILES) {
      throw invalid(
        `registries.d ${JSON.stringify(dir)}`,
        'too many files',
        `at most ${MAX_REGISTRIES_D_FILES}`,
        `${names.length}`,
      );
    }
    const files: { name: string; text: string }[] = [];
    for (const name of names) {
      const path = join(dir, name);
      const text = await readConfigText(path, `registries.d ${JSON.stringify(path)}`, false, signal);
      files.push({ name: path, text: text ?? '' });
    }
    return parseRegistriesD(files);
  }
  return EMPTY_REGISTRIES_D;
}

/** Where to read and write GPG simple signatures for `ref`, and whether to use sigstore attachments. */
export interface LookasideLocation {
  readonly read?: string;
  readonly write?: string;
  readonly useSigstoreAttachments: boolean;
}

function readOf(ns: LookasideNamespace): string | undefined {
  return ns.lookaside ?? ns.sigstore;
}

function writeOf(ns: LookasideNamespace): string | undefined {
  return ns.lookasideStaging ?? ns.sigstoreStaging ?? readOf(ns);
}

/** The lookaside settings for `ref` (containers/image signatureTopLevel / useSigstoreAttachments). Pure. */
export function lookasideFor(conf: RegistriesD, ref: Reference): LookasideLocation {
  const chain: LookasideNamespace[] = [];
  for (const scope of [...policyIdentities(ref), ...policyNamespaces(ref)]) {
    const ns = conf.docker.get(scope);
    if (ns !== undefined) chain.push(ns);
  }
  if (conf.defaultDocker !== undefined) chain.push(conf.defaultDocker);
  let read: string | undefined;
  let write: string | undefined;
  let useSigstoreAttachments: boolean | undefined;
  for (const ns of chain) {
    read ??= readOf(ns);
    write ??= writeOf(ns);
    useSigstoreAttachments ??= ns.useSigstoreAttachments;
  }
  return {
    ...(read === undefined ? {} : { read }),
    ...(write === undefined ? {} : { write }),
    useSigstoreAttachments: useSigstoreAttachments ?? false,
  };
}
