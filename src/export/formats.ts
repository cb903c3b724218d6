/**
 * The metadata files of the two archive formats, built from a verified ExportPlan. Pure: no I/O.
 *
 * docker-archive (moby image/tarexport, as `docker save` writes and `docker load` / `podman load` read):
 *   manifest.json  `[{"Config": "blobs/sha256/<hex>", "RepoTags": ["REG/REPO:TAG"], "Layers": ["blobs/sha256/<hex>", ...]}]`
 *   repositories   `{"REG/REPO": {"TAG": "<hex of the top layer>"}}` (legacy readers; docker ≥ 1.10 reads manifest.json)
 * customs lays the blobs out as Docker 25's `docker save` does: under `blobs/sha256/`, with `oci-layout` and an
 * `index.json`, so the same file is also an OCI image layout. Layers are written exactly as stored (usually
 * gzip): `docker load` and containers/image decompress them and check the result against the config's
 * diff_ids, and `customs load` verifies every blob by digest through index.json with no decompression.
 *
 * oci-archive (image-spec image-layout.md, as `skopeo copy oci-archive:` reads): `oci-layout`, `index.json` with
 * one entry annotated `org.opencontainers.image.ref.name`, and `blobs/<alg>/<hex>`.
 */
import { CustomsError } from '../errors.js';
import { MediaTypes, type Descriptor } from '../oci/index.js';
import {
  digestAlgorithm,
  digestHex,
  formatReference,
  parseReference,
  repositoryName,
  type Digest,
} from '../ref/index.js';
import type { ExportImage, ExportPlan } from './plan.js';

/** image-spec annotations.md */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** containerd (and Docker 25's save) record the full image name here; ref.name is often only a tag. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';
/** image-spec image-layout.md "oci-layout file". */
export const OCI_LAYOUT_VERSION = '1.0.0';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['docker-archive', 'oci-archive'];

/** Path of a blob inside an image layout: `blobs/<alg>/<hex>`. */
export function blobPath(digest: Digest): string {
  return `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`;
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
}

/**
 * The docker `RepoTags` entry for a store name: the fully qualified `REG/REPO:TAG` when the name has a tag and
 * no digest (docker load accepts only tagged names there), otherwise none.
 */
export function repoTagsFor(name: string): string[] {
  let parsed;
  try {
    parsed = parseReference(name);
  } catch {
    return [];
  }
  if (parsed.kind !== 'qualified') return [];
  const ref = parsed.reference;
  if (ref.tag === undefined || ref.digest !== undefined) return [];
  return [formatReference(ref)];
}

/** The single image a docker-archive can hold; an index must be narrowed to one platform first. */
export function dockerArchiveImage(plan: ExportPlan): ExportImage {
  const image = plan.images[0];
  if (plan.images.length !== 1 || image === undefined || image.descriptor.digest !== plan.top.digest) {
    throw new CustomsError(
      'USAGE',
      `${plan.name}: a docker-archive holds one image, got an index of ${plan.images.length}`,
      {
        hint: 'Pass --platform OS/ARCH to export one platform, or use --format oci-archive to keep the whole index.',
      },
    );
  }
  if (image.config === undefined) {
    throw new CustomsError(
      'MEDIA_TYPE_UNSUPPORTED',
      `${plan.name}: config media type ${image.manifest.config.mediaType} is not an image config`,
      {
        hint: 'Only container images can be exported as docker-archive; use --format oci-archive for artifacts.',
      },
    );
  }
  return image;
}

/** `manifest.json` of a docker-archive for the plan's one image. */
export function dockerManifestJson(plan: ExportPlan): Buffer {
  const image = dockerArchiveImage(plan);
  return jsonBytes([
    {
      Config: blobPath(image.manifest.config.digest),
      RepoTags: repoTagsFor(plan.name),
      Layers: image.manifest.layers.map((l) => blobPath(l.digest)),
    },
  ]);
}

/** The legacy `repositories` file, or undefined when the name carries no tag. */
export function dockerRepositoriesJson(plan: ExportPlan): Buffer | undefined {
  const image = dockerArchiveImage(plan);
  const tag = repoTagsFor(plan.name)[0];
  const top = image.manifest.layers[image.manifest.layers.length - 1];
  if (tag === undefined || top === undefined) return undefined;
  const parsed = parseReference(tag);
  if (parsed.kind !== 'qualified' || parsed.reference.tag === undefined) return undefined;
  return jsonBytes({ [repositoryName(parsed.reference)]: { [parsed.reference.tag]: digestHex(top.digest) } });
}

/** `oci-layout` */
export function ociLayoutJson(): Buffer {
  return jsonBytes({ imageLayoutVersion: OCI_LAYOUT_VERSION });
}

/** `index.json` with one entry: `top`, annotated with the store name (and, when qualified, the containerd name). */
export function ociIndexJson(name: string, top: Descriptor): Buffer {
  const qualified = repoTagsFor(name).length > 0 || isQualified(name);
  return jsonBytes({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      {
        mediaType: top.mediaType,
        digest: top.digest,
        size: top.size,
        ...(top.platform === undefined ? {} : { platform: top.platform }),
        annotations: {
          ...(qualified ? { [CONTAINERD_NAME_ANNOTATION]: name } : {}),
          [REF_NAME_ANNOTATION]: name,
        },
      },
    ],
  });
}

function isQualified(name: string): boolean {
  try {
    return parseReference(name).kind === 'qualified';
  } catch {
    return false;
  }
}
