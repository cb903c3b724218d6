/** OCI content descriptors (image-spec descriptor.md) and platforms (image-index.md). */
import type { Digest } from '../ref/index.js';

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
  readonly variant?: string;
}

/** A validated descriptor: digest parsed, size a safe non-negative integer, mediaType a string. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly artifactType?: string;
}
