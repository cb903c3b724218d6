/** Validating parser for descriptors inside untrusted manifests (image-spec descriptor.md). */
import { CustomsError } from '../errors.js';
import { isJsonObject } from '../internal/json.js';
import { parseDigest } from '../ref/index.js';
import type { Descriptor, Platform } from './descriptor.js';

// RFC 6838 section 4.2 restricted-name, with an optional +suffix; parameters are not allowed in descriptors.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function invalid(subject: string, what: string): never {
  throw new CustomsError('MANIFEST_INVALID', `${subject}: ${what}`);
}

/** A media type string by RFC 6838 grammar. */
export function parseMediaType(untrusted: unknown, subject: string): string {
  if (typeof untrusted !== 'string' || !MEDIA_TYPE.test(untrusted)) {
    invalid(
      subject,
      `invalid mediaType: expected type/subtype, got ${JSON.stringify(untrusted)?.slice(0, 200) ?? 'nothing'}`,
    );
  }
  return untrusted;
}

function parseStringMap(untrusted: unknown, subject: string): Record<string, string> {
  if (!isJsonObject(untrusted)) invalid(subject, 'expected an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(untrusted)) {
    if (typeof v !== 'string') invalid(subject, `value of ${JSON.stringify(k)}: expected a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

function parseStringArray(untrusted: unknown, subject: string): string[] {
  if (!Array.isArray(untrusted) || !untrusted.every((x) => typeof x === 'string')) {
    invalid(subject, 'expected an array of strings');
  }
  return untrusted;
}

/** Platform object of an index entry or a config (image-spec image-index.md). */
export function parsePlatformObject(untrusted: unknown, subject: string): Platform {
  if (!isJsonObject(untrusted)) invalid(subject, 'platform: expected an object');
  const { architecture, os, variant } = untrusted;
  if (typeof architecture !== 'string' || architecture === '')
    invalid(subject, 'platform.architecture: expected a string');
  if (typeof os !== 'string' || os === '') invalid(subject, 'platform.os: expected a string');
  if (variant !== undefined && typeof variant !== 'string') invalid(subject, 'platform.variant: expected a string');
  const osVersion = untrusted['os.version'];
  if (osVersion !== undefined && typeof osVersion !== 'string')
    invalid(subject, 'platform.os.version: expected a string');
  const features = untrusted['os.features'];
  return {
    architecture,
    os,
    ...(variant === undefined ? {} : { variant }),
    ...(osVersion === undefined ? {} : { 'os.version': osVersion }),
    ...(features === undefined
      ? {}
      : { 'os.features': parseStringArray(features, `${subject}: platform.os.features`) }),
  };
}

/** Validate one descriptor: digest grammar, size a safe non-negative integer, known field types. */
export function parseDescriptor(untrusted: unknown, subject: string): Descriptor {
  if (!isJsonObject(untrusted)) invalid(subject, 'expected a descriptor object');
  const mediaType = parseMediaType(untrusted.mediaType, subject);
  const digest = parseDigest(untrusted.digest, subject, true);
  const size = untrusted.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    invalid(subject, `invalid size: expected a non-negative integer, got ${JSON.stringify(size)}`);
  }
  const d: {
    mediaType: string;
    digest: typeof digest;
    size: number;
    urls?: string[];
    annotations?: Record<string, string>;
    platform?: Platform;
    artifactType?: string;
  } = { mediaType, digest, size };
  if (untrusted.urls !== undefined) d.urls = parseStringArray(untrusted.urls, `${subject}: urls`);
  if (untrusted.annotations !== undefined)
    d.annotations = parseStringMap(untrusted.annotations, `${subject}: annotations`);
  if (untrusted.platform !== undefined) d.platform = parsePlatformObject(untrusted.platform, subject);
  if (untrusted.artifactType !== undefined)
    d.artifactType = parseMediaType(untrusted.artifactType, `${subject}: artifactType`);
  return d;
}

export { parseStringMap };
