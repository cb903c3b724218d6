/** Media types customs understands (image-spec media-types.md; Docker image manifest v2 schema 2). */

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Manifest media types customs pulls (in the Accept header, in preference order). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
];

export const INDEX_MEDIA_TYPES: readonly string[] = [MediaTypes.ociIndex, MediaTypes.dockerManifestList];
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = [MediaTypes.ociManifest, MediaTypes.dockerManifest];
export const SCHEMA1_MEDIA_TYPES: readonly string[] = [MediaTypes.dockerSchema1, MediaTypes.dockerSchema1Signed];

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/**
 * Compression of a layer, decided from its media type only (never by sniffing the bytes). Returns undefined
 * for media types customs does not unpack.
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case MediaTypes.ociLayer:
    case MediaTypes.ociLayerNondistributable:
      return 'none';
    case MediaTypes.ociLayerGzip:
    case MediaTypes.ociLayerNondistributableGzip:
    case MediaTypes.dockerLayerGzip:
    case MediaTypes.dockerLayerForeignGzip:
      return 'gzip';
    case MediaTypes.ociLayerZstd:
    case MediaTypes.ociLayerNondistributableZstd:
      return 'zstd';
    default:
      return undefined;
  }
}
