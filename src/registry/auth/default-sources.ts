/**
 * Where customs looks for credentials, in order. The environment is a parameter, never read from `process.env`
 * here, so tests and embedders decide what the lookup sees.
 */
import { join } from 'node:path';
import { AUTH_FILE_NAME, authFileSource } from './auth-file.js';
import type { Env } from './credential-helper.js';
import type { CredentialSource } from './credentials.js';

/**
 * The credential sources customs consults, first match wins:
 *
 * 1. `$configDir/auth.json` — written by `customs login` (configDir is customs's config directory, e.g.
 *    `$CUSTOMS_CONFIG`, resolved by the caller);
 * 2. `$REGISTRY_AUTH_FILE` — the containers tools' override (containers-auth.json(5));
 * 3. `$XDG_RUNTIME_DIR/containers/auth.json` — podman/skopeo login's default;
 * 4. `$HOME/.config/containers/auth.json`;
 * 5. `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json` — with docker's precedence inside the file
 *    (credHelpers, then credsStore, then auths).
 *
 * Paths whose variables are unset are left out; files that do not exist are skipped at lookup time. Relative
 * paths in variables are left out too: they would depend on the working directory.
 */
export function defaultCredentialSources(env: Env, configDir: string): CredentialSource[] {
  const paths: string[] = [join(configDir, AUTH_FILE_NAME)];
  const abs = (p: string | undefined): p is string => p !== undefined && p !== '' && p.startsWith('/');
  if (abs(env.REGISTRY_AUTH_FILE)) paths.push(env.REGISTRY_AUTH_FILE);
  if (abs(env.XDG_RUNTIME_DIR)) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  if (abs(env.HOME)) paths.push(join(env.HOME, '.config', 'containers', 'auth.json'));
  if (abs(env.DOCKER_CONFIG)) paths.push(join(env.DOCKER_CONFIG, 'config.json'));
  else if (abs(env.HOME)) paths.push(join(env.HOME, '.docker', 'config.json'));
  // The same file reached twice (REGISTRY_AUTH_FILE pointing at the default) is asked once.
  return [...new Set(paths)].map((p) => authFileSource(p, { env }));
}
