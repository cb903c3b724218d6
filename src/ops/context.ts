/**
 * Everything an operation needs from the environment, resolved once: config dir, store dir, registries.conf,
 * credential sources and certificate dirs. Operations take a Context instead of reading process.env, so they
 * are testable in-process.
 */
import { join } from 'node:path';
import type { ProgressSink } from '../oci/index.js';
import { configDir, storeDir, loadRegistriesConf, type Env, type RegistriesConf } from '../ref/index.js';
import { defaultCredentialSources, type CredentialSource } from '../registry/index.js';

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
}

export interface ContextOptions {
  readonly env: Env;
  readonly store?: string | undefined;
  readonly onEvent?: ProgressSink | undefined;
  readonly idleTimeoutMs?: number | undefined;
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
  };
}
