/**
 * Everything an operation needs from the environment, resolved once: config dir, store dir, registries.conf,
 * credential sources and certificate dirs. Operations take a Context instead of reading process.env, so they
 * are testable in-process.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { ProgressSink } from '../oci/index.js';
import { openStore, removeStoreIfUnused, type ContentStore } from '../store/index.js';
import { configDir, storeDir, loadRegistriesConf, type Env, type RegistriesConf } from '../ref/index.js';
import { defaultCredentialSources, type CredentialSource } from '../registry/index.js';
import { loadPolicy, loadRegistriesD, type Policy, type RegistriesD } from '../policy/index.js';

export interface Context {
  readonly env: Env;
  readonly configDir: string;
  readonly storeDir: string;
  readonly registriesConf: RegistriesConf;
  readonly credentials: readonly CredentialSource[];
  /** certs.d directories, most specific first (customs, containers, docker). */
  readonly certsDirs: readonly string[];
  readonly onEvent?: ProgressSink;
  /** Idle timeout for registry connections. */
  readonly idleTimeoutMs: number;
  /** `--policy FILE`; when absent the containers search order applies (policy/load.ts). */
  readonly policyFile?: string;
  /** `--registries.d DIR`; when absent the containers search order applies (policy/registries-d.ts). */
  readonly registriesDDir?: string;
  /** `--insecure-policy`: accept any image without reading a policy file (skopeo's flag of the same name). */
  readonly insecurePolicy: boolean;
}

export interface ContextOptions {
  readonly env: Env;
  readonly store?: string | undefined;
  readonly onEvent?: ProgressSink | undefined;
  readonly idleTimeoutMs?: number | undefined;
  readonly policy?: string | undefined;
  readonly registriesD?: string | undefined;
  readonly insecurePolicy?: boolean | undefined;
}

/** Default idle timeout: a registry that sends nothing for this long is treated as stalled. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Resolve the context from the environment (`$CUSTOMS_CONFIG`, `$CUSTOMS_STORE`, XDG dirs). */
export async function createContext(options: ContextOptions): Promise<Context> {
  const { env } = options;
  const cfg = configDir(env);
  const registriesConf = await loadRegistriesConf({ env });
  return {
    env,
    configDir: cfg,
    storeDir: storeDir(options.store, env),
    registriesConf,
    credentials: defaultCredentialSources(env, cfg),
    certsDirs: [join(cfg, 'certs.d'), '/etc/containers/certs.d', '/etc/docker/certs.d'],
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    ...(options.policy === undefined || options.policy === '' ? {} : { policyFile: options.policy }),
    ...(options.registriesD === undefined || options.registriesD === '' ? {} : { registriesDDir: options.registriesD }),
    insecurePolicy: options.insecurePolicy === true,
  };
}

/**
 * The policy in force for `ctx`, read when an operation needs it (commands that never consult policy do not
 * fail for its absence). `undefined` only with `--insecure-policy`, which means "accept anything, do not even
 * read the file" (as skopeo). Without a file: POLICY_INVALID (exit 7) with a hint to run `customs policy init`.
 */
export async function policyFor(ctx: Context, signal?: AbortSignal): Promise<Policy | undefined> {
  if (ctx.insecurePolicy) return undefined;
  return loadPolicy({ flag: ctx.policyFile, env: ctx.env }, signal);
}

/** registries.d in force for `ctx` (lookaside signature stores). Missing default directories mean none. */
export async function registriesDFor(ctx: Context, signal?: AbortSignal): Promise<RegistriesD> {
  return loadRegistriesD({ flag: ctx.registriesDDir, env: ctx.env }, signal);
}

/** Where `customs trust` and `customs policy init` write the policy: `--policy FILE`, else configDir/policy.json. */
export function writablePolicyPath(ctx: Context): string {
  return ctx.policyFile ?? join(ctx.configDir, 'policy.json');
}

/** Directory `customs trust add` copies keys into. */
export function keysDir(ctx: Context): string {
  return join(ctx.configDir, 'keys');
}

/** The context's store, opened for writing, and how to undo its creation if the command then fails. */
export interface WritableStore {
  readonly store: ContentStore;
  /**
   * Remove the store again if this open created it and it still holds nothing (removeStoreIfUnused): a refused
   * command leaves the store as it was, and for a store that was not there, as it was means absent.
   */
  readonly undoCreate: () => Promise<void>;
}

/** Open the context's store, creating it when absent (pull, load). */
export async function openWritableStore(ctx: Context): Promise<WritableStore> {
  // lstat, so a dangling symlink at the path counts as something that was there.
  let existed = true;
  try {
    lstatSync(ctx.storeDir);
  } catch (err) {
    existed = (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  const store = await openStore(ctx.storeDir, { create: true });
  return {
    store,
    undoCreate: async () => {
      if (!existed) await removeStoreIfUnused(store.root);
    },
  };
}
