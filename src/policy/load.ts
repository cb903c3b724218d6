/**
 * Where the policy comes from, following the containers conventions so an existing skopeo/podman setup works:
 * `--policy FILE`, else `$CUSTOMS_CONFIG/policy.json` (configDir), else `/etc/containers/policy.json`. No file
 * means no pull: customs refuses (like skopeo) rather than assume an open policy.
 */
import { join } from 'node:path';
import { CustomsError, isCustomsError } from '../errors.js';
import { configDir, type Env } from '../ref/index.js';
import { readConfigText } from './config-file.js';
import { parsePolicy } from './parse-policy.js';
import type { Policy } from './types.js';

/** File name of the policy inside `configDir(env)`. */
export const POLICY_FILE = 'policy.json';

/** The system-wide policy containers tools use. */
export const SYSTEM_POLICY_PATH = '/etc/containers/policy.json';

export interface PolicyLocation {
  /** `--policy FILE`: when given, it must exist. */
  readonly flag?: string | undefined;
  readonly env: Env;
  /** Replaces SYSTEM_POLICY_PATH (tests). */
  readonly systemPath?: string;
}

/** The candidate paths in order: the flag alone if given, else configDir/policy.json and the system file. */
export function policyPaths(loc: PolicyLocation): string[] {
  if (loc.flag !== undefined && loc.flag !== '') return [loc.flag];
  const out: string[] = [];
  try {
    out.push(join(configDir(loc.env), POLICY_FILE));
  } catch (err) {
    // No usable HOME: the user config directory does not exist, the system file still may.
    if (!isCustomsError(err)) throw err;
  }
  out.push(loc.systemPath ?? SYSTEM_POLICY_PATH);
  return out;
}

/**
 * Find, read and parse the policy in force. Returns the parsed Policy (whose `sourcePath` says which file).
 * Throws POLICY_INVALID when no file exists (with a hint to run `customs policy init` or pass
 * `--insecure-policy`), when the file given by the flag is missing, or when the file is unreadable or invalid.
 * Does not read key files.
 */
export async function loadPolicy(loc: PolicyLocation, signal?: AbortSignal): Promise<Policy> {
  const paths = policyPaths(loc);
  const explicit = loc.flag !== undefined && loc.flag !== '';
  for (const path of paths) {
    const text = await readConfigText(path, `policy ${JSON.stringify(path)}`, !explicit, signal);
    if (text !== undefined) return parsePolicy(text, path);
  }
  throw new CustomsError(
    'POLICY_INVALID',
    `policy: no policy file: expected one of ${paths.map((p) => JSON.stringify(p)).join(', ')}, got none`,
    {
      hint: 'Run `customs policy init` to write a policy that rejects by default, pass --policy FILE, or pass --insecure-policy to accept any image.',
      details: { searched: paths },
    },
  );
}

/**
 * The JSON text of a starter policy: reject everything by default, with an empty `docker` transport for
 * `customs trust add` to fill. skopeo accepts it unchanged.
 */
export function starterPolicy(): string {
  return `${JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: {} } }, null, 4)}\n`;
}
