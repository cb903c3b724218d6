/**
 * Limits of the unpack engine (issue 4, "Order of operations" item 4). Each is a named constant with its unit and
 * the reason beside it; callers may tighten them (tests do) through `UnpackLimits`.
 */
import { GiB, MiB } from '../internal/units.js';

/** PAX extended headers and GNU long name/link bodies are held in memory: cap them (Go archive/tar uses 1 MiB). */
export const MAX_META_HEADER_BYTES = 1 * MiB;
/** Deeper paths only serve to exhaust the resolver; no real image comes close. */
export const MAX_PATH_DEPTH = 1024;
/** Largest uncompressed layer accepted. */
export const MAX_LAYER_BYTES = 8 * GiB;
/** Decompression bombs: refuse once uncompressed/compressed exceeds this after the grace window. */
export const MAX_EXPANSION_RATIO = 100;
/** Uncompressed bytes allowed before the expansion ratio is enforced (small layers of zeros are legitimate). */
export const RATIO_GRACE_BYTES = 64 * MiB;
/** Symlinks followed while resolving one parent path inside the root (Linux uses 40; securejoin 255). */
export const MAX_SYMLINK_HOPS = 255;
/** Worker address-space limit (RLIMIT_AS). V8 reserves virtual ranges beyond its heap, so this is not the RSS. */
export const WORKER_ADDRESS_SPACE_BYTES = 4 * GiB;
/** Worker CPU-time limit (RLIMIT_CPU), seconds. */
export const WORKER_CPU_SECONDS = 3600;
/** Worker open-file limit (RLIMIT_NOFILE). Node itself needs a few dozen; extraction holds one file at a time. */
export const WORKER_OPEN_FILES = 128;
/** Worker max file size (RLIMIT_FSIZE): no single file can exceed the layer cap. */
export const WORKER_FILE_SIZE_BYTES = MAX_LAYER_BYTES;
/** Items kept in each report list; the rest are counted in `omitted`. Keeps the worker→parent channel bounded. */
export const MAX_REPORT_ITEMS = 1000;

/** Tunable limits. All fields optional in the API; defaults above. */
export interface UnpackLimits {
  readonly maxMetaHeaderBytes: number;
  readonly maxPathDepth: number;
  readonly maxLayerBytes: number;
  readonly maxExpansionRatio: number;
  readonly ratioGraceBytes: number;
  readonly maxSymlinkHops: number;
  readonly workerAddressSpaceBytes: number;
  readonly workerCpuSeconds: number;
  readonly workerOpenFiles: number;
  readonly workerFileSizeBytes: number;
}

export const DEFAULT_LIMITS: UnpackLimits = {
  maxMetaHeaderBytes: MAX_META_HEADER_BYTES,
  maxPathDepth: MAX_PATH_DEPTH,
  maxLayerBytes: MAX_LAYER_BYTES,
  maxExpansionRatio: MAX_EXPANSION_RATIO,
  ratioGraceBytes: RATIO_GRACE_BYTES,
  maxSymlinkHops: MAX_SYMLINK_HOPS,
  workerAddressSpaceBytes: WORKER_ADDRESS_SPACE_BYTES,
  workerCpuSeconds: WORKER_CPU_SECONDS,
  workerOpenFiles: WORKER_OPEN_FILES,
  workerFileSizeBytes: WORKER_FILE_SIZE_BYTES,
};

/** Merge caller overrides onto the defaults; every value must be a positive safe integer. */
export function resolveLimits(overrides: Partial<UnpackLimits> | undefined): UnpackLimits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(overrides ?? {})) {
    if (!(k in DEFAULT_LIMITS)) throw new TypeError(`unpack limits: unknown limit ${k}`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new TypeError(`unpack limits: ${k}: expected a positive integer, got ${String(v)}`);
    }
    out[k] = v;
  }
  return out as unknown as UnpackLimits;
}
