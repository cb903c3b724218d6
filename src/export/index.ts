/**
 * src/export: write verified store content as archives other tools read (docker-archive for `docker load` /
 * `podman load`, oci-archive for skopeo and umoci). The only import surface of src/export. Writers only: the
 * untrusted direction (`customs load`) lives in ops/load.ts and enters the store through ContentStore.ingest.
 */
export { planExport, readVerifiedBlob, verifiedBlobStream, isIndexMediaType, MAX_EXPORT_INDEX_DEPTH } from './plan.js';
export type { ExportImage, ExportPlan } from './plan.js';
export {
  ARCHIVE_FORMATS,
  CONTAINERD_NAME_ANNOTATION,
  OCI_LAYOUT_VERSION,
  REF_NAME_ANNOTATION,
  blobPath,
  dockerManifestJson,
  dockerRepositoriesJson,
  ociIndexJson,
  ociLayoutJson,
  repoTagsFor,
  type ArchiveFormat,
} from './formats.js';
export { archiveEntries, writeArchive, type WriteArchiveOptions, type WrittenArchive } from './write-archive.js';
export { tarStream, ustarHeader, TAR_BLOCK_BYTES, type TarEntrySpec } from './tar-writer.js';
