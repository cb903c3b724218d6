/**
 * Validating parsers for manifests and indexes (image-spec manifest.md, image-index.md; Docker image manifest
 * v2 schema 2 and manifest list). Input is untrusted bytes whose digest has already been checked; the checks
 * here decide whether the document means exactly one thing.
 */
import { CustomsError, mismatch } from '../errors.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { MiB } from '../internal/units.js';
import type { Descriptor } from './descriptor.js';
import { MANIFEST_MEDIA_TYPES, MediaTypes, SCHEMA1_MEDIA_TYPES, INDEX_MEDIA_TYPES } from './media-types.js';
import { parseDescriptor, parseMediaType, parseStringMap } from './parse-descriptor.js';

/** Manifests and indexes larger than this are refused (distribution-spec suggests registries accept ≥ 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * MiB;

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type AnyManifest = ImageManifest | ImageIndex;

/** Strip parameters (`; charset=utf-8`) and lowercase a Content-Type header value. */
export function baseContentType(untrustedContentType: string | undefined): string | undefined {
  if (untrustedContentType === undefined) return undefined;
  const t = untrustedContentType.split(';')[0]?.trim().toLowerCase();
  return t === '' ? undefined : t;
}

export interface ManifestContext {
  /** Content-Type header the registry sent, if any. */
  readonly contentType?: string | undefined;
  /** mediaType of the descriptor that pointed at this manifest (index entry or store entry), if any. */
  readonly descriptorMediaType?: string | undefined;
  /** Name used in messages, e.g. the reference or digest. */
  readonly subject: string;
}

/**
 * Parse and validate a manifest or index. Refuses: schema 1 (cannot be verified by digest), unknown schema
 * versions, a body mediaType that disagrees with the Content-Type or with the pointing descriptor, a document
 * carrying both `layers` and `manifests` (CVE-2021-41190), duplicate JSON keys, invalid descriptors.
 */
export function parseManifest(untrustedBytes: Uint8Array, ctx: ManifestContext): AnyManifest {
  const { subject } = ctx;
  if (untrustedBytes.length > MAX_MANIFEST_BYTES) {
    throw mismatch(
      'TOO_LARGE',
      subject,
      'manifest too large',
      `at most ${MAX_MANIFEST_BYTES} bytes`,
      `${untrustedBytes.length} bytes`,
    );
  }
  const contentType = baseContentType(ctx.contentType);
  if (contentType !== undefined && SCHEMA1_MEDIA_TYPES.includes(contentType)) throw schema1(subject);
  const doc = parseStrictJsonBytes(untrustedBytes, subject);
  if (!isJsonObject(doc)) throw new CustomsError('MANIFEST_INVALID', `${subject}: expected a JSON object`);
  if (doc.schemaVersion === 1) throw schema1(subject);
  if (doc.schemaVersion !== 2) {
    throw mismatch(
      'MANIFEST_INVALID',
      subject,
      'unsupported schemaVersion',
      2,
      JSON.stringify(doc.schemaVersion) ?? 'none',
    );
  }
  const hasLayers = 'layers' in doc;
  const hasManifests = 'manifests' in doc;
  const hasConfig = 'config' in doc;
  if (hasManifests && (hasLayers || hasConfig)) {
    // CVE-2021-41190 / GHSA-77vh-xpmg-72qh: a document that is both an index and a manifest is ambiguous.
    throw new CustomsError(
      'MANIFEST_INVALID',
      `${subject}: ambiguous document: has both "manifests" and "layers"/"config"`,
      {
        hint: 'This is the OCI manifest-confusion attack (CVE-2021-41190); the registry or image is not trustworthy.',
      },
    );
  }

  const bodyType = doc.mediaType === undefined ? undefined : parseMediaType(doc.mediaType, `${subject}: mediaType`);
  if (bodyType !== undefined && SCHEMA1_MEDIA_TYPES.includes(bodyType)) throw schema1(subject);
  // Every media type that was asserted about this document must be the same one.
  const claimed: [string, string | undefined][] = [
    ['body mediaType', bodyType],
    ['Content-Type', contentType !== undefined && MANIFEST_MEDIA_TYPES.includes(contentType) ? contentType : undefined],
    ['descriptor mediaType', ctx.descriptorMediaType],
  ];
  let mediaType: string | undefined;
  let mediaTypeSource = '';
  for (const [source, t] of claimed) {
    if (t === undefined) continue;
    if (mediaType === undefined) {
      mediaType = t;
      mediaTypeSource = source;
    } else if (mediaType !== t) {
      throw new CustomsError(
        'MEDIA_TYPE_MISMATCH',
        `${subject}: media type mismatch: ${mediaTypeSource} says ${mediaType}, ${source} says ${t}`,
        {
          details: { [mediaTypeSource]: mediaType, [source]: t },
        },
      );
    }
  }
  if (
    contentType !== undefined &&
    !MANIFEST_MEDIA_TYPES.includes(contentType) &&
    contentType !== 'application/json' &&
    contentType !== 'application/octet-stream'
  ) {
    throw mismatch(
      'MEDIA_TYPE_UNSUPPORTED',
      subject,
      'unsupported Content-Type',
      MANIFEST_MEDIA_TYPES.join(' or '),
      contentType,
    );
  }
  if (mediaType === undefined) {
    // OCI manifests may omit mediaType (image-spec manifest.md: SHOULD be used); infer from structure, as
    // umoci-written manifests rely on. Docker types always carry it.
    mediaType = hasManifests ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  }
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw mismatch(
      'MEDIA_TYPE_UNSUPPORTED',
      subject,
      'unsupported manifest media type',
      MANIFEST_MEDIA_TYPES.join(' or '),
      mediaType,
    );
  }

  const annotations =
    doc.annotations === undefined ? undefined : parseStringMap(doc.annotations, `${subject}: annotations`);
  const subjectDesc = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, `${subject}: subject`);
  const artifactType =
    doc.artifactType === undefined ? undefined : parseMediaType(doc.artifactType, `${subject}: artifactType`);
  const common = {
    mediaType,
    ...(annotations === undefined ? {} : { annotations }),
    ...(subjectDesc === undefined ? {} : { subject: subjectDesc }),
    ...(artifactType === undefined ? {} : { artifactType }),
  };

  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests))
      throw new CustomsError('MANIFEST_INVALID', `${subject}: index without a "manifests" array`);
    const manifests = doc.manifests.map((m, i) => parseDescriptor(m, `${subject}: manifests[${i}]`));
    if (mediaType === MediaTypes.dockerManifestList) {
      for (const [i, m] of manifests.entries()) {
        if (m.mediaType !== MediaTypes.dockerManifest) {
          throw mismatch(
            'MEDIA_TYPE_MISMATCH',
            `${subject}: manifests[${i}]`,
            'manifest list entry media type',
            MediaTypes.dockerManifest,
            m.mediaType,
          );
        }
      }
    }
    return { kind: 'index', manifests, ...common };
  }
  if (hasManifests) {
    throw mismatch('MEDIA_TYPE_MISMATCH', subject, 'document shape', `an image manifest for ${mediaType}`, 'an index');
  }
  const config = parseDescriptor(doc.config, `${subject}: config`);
  if (!Array.isArray(doc.layers))
    throw new CustomsError('MANIFEST_INVALID', `${subject}: manifest without a "layers" array`);
  const layers = doc.layers.map((l, i) => parseDescriptor(l, `${subject}: layers[${i}]`));
  if (mediaType === MediaTypes.dockerManifest && config.mediaType !== MediaTypes.dockerConfig) {
    throw mismatch(
      'MEDIA_TYPE_MISMATCH',
      `${subject}: config`,
      'Docker schema 2 config media type',
      MediaTypes.dockerConfig,
      config.mediaType,
    );
  }
  return { kind: 'manifest', config, layers, ...common };
}

function schema1(subject: string): CustomsError {
  return new CustomsError(
    'SCHEMA1_REFUSED',
    `${subject}: Docker schema 1 manifest refused: expected schema 2 or OCI, got schema 1`,
    {
      hint: 'Schema 1 manifests cannot be verified by content digest. Ask the publisher for an OCI or Docker schema 2 image.',
    },
  );
}
