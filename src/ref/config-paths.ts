/**
 * Where customs keeps its configuration and its store. Pure functions of an environment passed in by the
 * caller (the CLI passes `process.env`), so tests never depend on the machine they run on.
 *
 * Follows the XDG Base Directory Specification 0.8: `$XDG_CONFIG_HOME` / `$XDG_DATA_HOME` are used only when
 * set to an absolute path ("If an implementation encounters a relative path in any of these variables it
 * should consider the path invalid and ignore it"), otherwise `$HOME/.config` / `$HOME/.local/share`.
 */
import { isAbsolute, join } from 'node:path';
import { CustomsError } from '../errors.js';

/** The environment variables these functions read. `process.env` fits. */
export type Env = Readonly<Record<string, string | undefined>>;

/** File name of the registries configuration inside `configDir(env)`. */
export const REGISTRIES_CONF_FILE = 'registries.conf';

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function xdgBase(env: Env, variable: 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME', homeRelative: string): string {
  const xdg = nonEmpty(env[variable]);
  if (xdg !== undefined && isAbsolute(xdg)) return xdg;
  const home = nonEmpty(env['HOME']);
  if (home === undefined || !isAbsolute(home)) {
    throw new CustomsError(
      'USAGE',
      `environment: HOME: expected an absolute path, got ${home === undefined ? 'unset' : JSON.stringify(home)}`,
      { hint: 'Set HOME, or set CUSTOMS_CONFIG and CUSTOMS_STORE (or pass --store) to absolute paths.' },
    );
  }
  return join(home, homeRelative);
}

/**
 * customs' configuration directory: `$CUSTOMS_CONFIG` if set and non-empty (used as given), else
 * `$XDG_CONFIG_HOME/customs`, else `$HOME/.config/customs`. Does not check that the directory exists.
 * Throws USAGE when it has to fall back to HOME and HOME is unset or relative.
 */
export function configDir(env: Env): string {
  return nonEmpty(env['CUSTOMS_CONFIG']) ?? join(xdgBase(env, 'XDG_CONFIG_HOME', '.config'), 'customs');
}

/** Default registries.conf path: `configDir(env)/registries.conf`. Same contract as `configDir`. */
export function registriesConfPath(env: Env): string {
  return join(configDir(env), REGISTRIES_CONF_FILE);
}

/**
 * The image store directory: the `--store` flag if given and non-empty, else `$CUSTOMS_STORE`, else
 * `$XDG_DATA_HOME/customs/store`, else `$HOME/.local/share/customs/store`. Values from the flag or
 * `$CUSTOMS_STORE` are used as given (relative paths resolve against the working directory when used).
 * Does not check or create the directory. Throws USAGE when HOME is needed and unset or relative.
 */
export function storeDir(flag: string | undefined, env: Env): string {
  return (
    nonEmpty(flag) ??
    nonEmpty(env['CUSTOMS_STORE']) ??
    join(xdgBase(env, 'XDG_DATA_HOME', join('.local', 'share')), 'customs', 'store')
  );
}
