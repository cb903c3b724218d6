/** Image configuration (image-spec config.md; Docker image JSON v1.2). Only the fields customs relies on are validated. */
import { CustomsError, mismatch } from '../errors.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { MiB } from '../internal/units.js';
import { parseDigest, type Digest } from '../ref/index.js';

/** Configs larger than this are refused. */
export const MAX_CONFIG_BYTES = 8 * MiB;

export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly diffIds: readonly Digest[];
  /** The full parsed document, for inspect. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * Parse an image config. Verifies rootfs.type is "layers" and each diff_id is a digest; when `layerCount` is
 * given, the diff_id count must equal it (a mismatch means the config describes a different image).
 */
export function parseImageConfig(untrustedBytes: Uint8Array, subject: string, layerCount?: number): ImageConfig {
  if (untrustedBytes.length > MAX_CONFIG_BYTES) {
    throw mismatch(
      'TOO_LARGE',
      subject,
      'config too large',
      `at most ${MAX_CONFIG_BYTES} bytes`,
      `${untrustedBytes.length} bytes`,
    );
  }
  const doc = parseStrictJsonBytes(untrustedBytes, subject);
  if (!isJsonObject(doc)) throw new CustomsError('CONFIG_INVALID_IMAGE', `${subject}: expected a JSON object`);
  const { architecture, os, variant, rootfs } = doc;
  if (typeof architecture !== 'string')
    throw new CustomsError('CONFIG_INVALID_IMAGE', `${subject}: architecture: expected a string`);
  if (typeof os !== 'string') throw new CustomsError('CONFIG_INVALID_IMAGE', `${subject}: os: expected a string`);
  if (variant !== undefined && typeof variant !== 'string')
    throw new CustomsError('CONFIG_INVALID_IMAGE', `${subject}: variant: expected a string`);
  if (!isJsonObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new CustomsError('CONFIG_INVALID_IMAGE', `${subject}: rootfs: expected {"type":"layers","diff_ids":[...]}`);
  }
  const diffIds = rootfs.diff_ids.map((d, i) => {
    try {
      return parseDigest(d, `${subject}: rootfs.diff_ids[${i}]`, true);
    } catch (err) {
      throw new CustomsError('CONFIG_INVALID_IMAGE', (err as Error).message, { cause: err });
    }
  });
  if (layerCount !== undefined && diffIds.length !== layerCount) {
    throw mismatch(
      'CONFIG_INVALID_IMAGE',
      subject,
      'rootfs.diff_ids count',
      `${layerCount} (the manifest's layer count)`,
      diffIds.length,
    );
  }
  return { architecture, os, ...(variant === undefined ? {} : { variant }), diffIds, raw: doc };
}
