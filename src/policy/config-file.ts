/**
 * Reading the small configuration files policy/ depends on (policy.json, registries.d/*.yaml) with the same
 * care as registries.conf: regular files only (a FIFO or device could block or never end), a size cap, UTF-8.
 * Failures are POLICY_INVALID: a policy that cannot be read forbids everything (exit 7).
 */
import { readConfigFileText } from '../internal/config-file.js';
import { MiB } from '../internal/units.js';

/** policy.json can inline base64 keys; a few megabytes is far more than any real one. */
export const MAX_POLICY_FILE_BYTES = 4 * MiB;

/** Read `path` as UTF-8 text, or return undefined when it does not exist and `missingOk`. */
export async function readConfigText(
  path: string,
  subject: string,
  missingOk: boolean,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return readConfigFileText(path, {
    subject,
    maxBytes: MAX_POLICY_FILE_BYTES,
    code: 'POLICY_INVALID',
    missingOk,
    signal,
  });
}
