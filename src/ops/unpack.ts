/**
 * `customs unpack`: a stored image (or any OCI image layout, untrusted like a registry) → a root filesystem.
 *
 * Order of operations (docs/security.md "Unpacking layers"):
 * 1. Re-verify from the store before writing anything to DEST: every descriptor's digest grammar, size and hash,
 *    index → manifest → config → every layer. Foreign-layer `urls` are never fetched.
 * 2. Decoders are chosen from the media type only (unknown types refused), and decompression, tar parsing and
 *    applying run in the unprivileged, resource-limited worker of src/unpack; each layer's diff_id is checked
 *    after decompression. On any failure DEST is left absent (or empty as given).
 */
import { CustomsError } from '../errors.js';
import type { Descriptor, Platform } from '../oci/index.js';
import {
  hostPlatform,
  layerCompression,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parseImageConfig,
  parseManifest,
} from '../oci/index.js';
import type { ContentStore } from '../store/index.js';
import { openStore } from '../store/index.js';
import { unpackLayers, type SandboxMode, type UnpackReport } from '../unpack/index.js';
import type { Context } from './context.js';
import { openExistingStore, resolveLocal } from './local.js';
import { selectPlatform } from './pull.js';

export interface UnpackImageOptions {
  /** Read from this OCI image layout (e.g. written by skopeo) instead of the customs store. */
  readonly layout?: string | undefined;
  readonly platform?: Platform | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly sandbox?: SandboxMode | undefined;
}

export interface UnpackResult {
  readonly name: string;
  readonly manifest: string;
  readonly dest: string;
  readonly report: UnpackReport;
}

/** Resolve, re-verify and unpack `untrustedName` into `dest`. All-or-nothing. */
export async function unpackImage(
  ctx: Context,
  untrustedName: string,
  dest: string,
  options: UnpackImageOptions = {},
): Promise<UnpackResult> {
  const { signal } = options;
  const store =
    options.layout === undefined ? await openExistingStore(ctx) : await openStore(options.layout, { create: false });
  const { name, descriptor } = await resolveLocal(store, untrustedName);
  const manifestDesc = await selectManifest(store, name, descriptor, options.platform ?? hostPlatform(), signal);
  const manifestBytes = await store.readBlob(manifestDesc.digest, MAX_MANIFEST_BYTES);
  const manifest = parseManifest(manifestBytes, { descriptorMediaType: manifestDesc.mediaType, subject: name });
  if (manifest.kind !== 'manifest')
    throw new CustomsError('MANIFEST_INVALID', `${name}: expected an image manifest, got an index`);
  await store.verifyBlob(manifest.config, signal);
  const config = parseImageConfig(
    await store.readBlob(manifest.config.digest, MAX_CONFIG_BYTES),
    `${name}: config`,
    manifest.layers.length,
  );
  for (const [i, layer] of manifest.layers.entries()) {
    if (layerCompression(layer.mediaType) === undefined) {
      throw new CustomsError(
        'MEDIA_TYPE_UNSUPPORTED',
        `${name}: layers[${i}]: unsupported layer media type: ${layer.mediaType}`,
        {
          hint: 'customs decodes gzip, zstd and uncompressed tar layers, chosen by media type only.',
        },
      );
    }
    // Re-hash before anything is written to DEST: the store (or a foreign layout) is checked, not trusted.
    await store.verifyBlob(layer, signal);
  }
  const report = await unpackLayers({
    layers: manifest.layers.map((l, i) => ({
      path: store.blobPath(l.digest),
      mediaType: l.mediaType,
      diffId: config.diffIds[i] ?? l.digest,
      size: l.size,
    })),
    dest,
    ...(signal === undefined ? {} : { signal }),
    ...(options.sandbox === undefined ? {} : { sandbox: options.sandbox }),
  });
  return { name, manifest: manifestDesc.digest, dest, report };
}

/** The image manifest to unpack: the descriptor itself, or the platform's entry of an index (verified). */
async function selectManifest(
  store: ContentStore,
  name: string,
  descriptor: Descriptor,
  platform: Platform,
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  let current = descriptor;
  for (let depth = 0; depth < 3; depth++) {
    await store.verifyBlob(current, signal);
    const doc = parseManifest(await store.readBlob(current.digest, MAX_MANIFEST_BYTES), {
      descriptorMediaType: current.mediaType,
      subject: name,
    });
    if (doc.kind === 'manifest') return current;
    current = selectPlatform(doc.manifests, platform, name);
  }
  throw new CustomsError('MANIFEST_INVALID', `${name}: indexes nested too deep`);
}
