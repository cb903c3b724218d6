/**
 * Verbs over the local store only (no network): images, inspect, rm, gc, fsck. Everything read here entered
 * the store through ingest; inspect still parses strictly, because a layout written by another tool (skopeo)
 * is only as trustworthy as that tool.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CustomsError } from '../errors.js';
import type { Descriptor, ImageConfig } from '../oci/index.js';
import { formatPlatform, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseImageConfig, parseManifest } from '../oci/index.js';
import { formatReference, parseReference } from '../ref/index.js';
import type { ContentStore, FsckReport, GcReport, StoreEntry } from '../store/index.js';
import { openStore } from '../store/index.js';
import type { Context } from './context.js';

/** Open the context's store for reading; a store that does not exist yet is reported, not created. */
export async function openExistingStore(ctx: Context): Promise<ContentStore> {
  if (!existsSync(join(ctx.storeDir, 'oci-layout'))) {
    throw new CustomsError('IMAGE_NOT_IN_STORE', `store ${ctx.storeDir}: no image layout here yet`, {
      hint: 'Pull an image first (customs pull REGISTRY/REPO:TAG), or pass --store DIR.',
    });
  }
  return openStore(ctx.storeDir, { create: false });
}

/** Entries of the store's index.json (an absent store lists nothing). */
export async function listImages(ctx: Context): Promise<readonly StoreEntry[]> {
  if (!existsSync(join(ctx.storeDir, 'oci-layout'))) return [];
  const store = await openStore(ctx.storeDir, { create: false });
  return store.list();
}

/**
 * Find `untrustedName` in the store: the exact string first (layouts written by skopeo use bare tags such as
 * `latest`), then its canonical fully qualified form.
 */
export async function resolveLocal(
  store: ContentStore,
  untrustedName: string,
): Promise<{ name: string; descriptor: Descriptor }> {
  const exact = await store.resolve(untrustedName);
  if (exact !== undefined) return { name: untrustedName, descriptor: exact };
  let canonical: string | undefined;
  try {
    const parsed = parseReference(untrustedName);
    if (parsed.kind === 'qualified') canonical = formatReference(parsed.reference);
  } catch {
    canonical = undefined;
  }
  if (canonical !== undefined) {
    const d = await store.resolve(canonical);
    if (d !== undefined) return { name: canonical, descriptor: d };
  }
  throw new CustomsError('IMAGE_NOT_IN_STORE', `image ${JSON.stringify(untrustedName)}: not in store ${store.root}`, {
    hint: 'List what the store holds with customs images, or pull it first.',
  });
}

export interface InspectedImage {
  readonly name: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly platforms?: readonly { platform: string; digest: string }[];
  readonly config?: {
    readonly digest: string;
    readonly architecture: string;
    readonly os: string;
    readonly variant?: string;
    readonly created?: unknown;
    readonly entrypoint?: unknown;
    readonly cmd?: unknown;
    readonly env?: unknown;
    readonly workingDir?: unknown;
    readonly user?: unknown;
    readonly labels?: unknown;
  };
  readonly layers?: readonly { digest: string; mediaType: string; size: number; diffId?: string }[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface InspectRaw {
  readonly raw: Buffer;
}

/** Describe a stored image; with `raw` the manifest bytes, with `config` the config bytes. */
export async function inspectImage(
  ctx: Context,
  untrustedName: string,
  options: { raw?: boolean; config?: boolean } = {},
): Promise<InspectedImage | InspectRaw> {
  const store = await openExistingStore(ctx);
  const { name, descriptor } = await resolveLocal(store, untrustedName);
  const bytes = await store.readBlob(descriptor.digest, MAX_MANIFEST_BYTES);
  if (options.raw === true) return { raw: bytes };
  const doc = parseManifest(bytes, { descriptorMediaType: descriptor.mediaType, subject: name });
  if (doc.kind === 'index') {
    if (options.config === true) {
      throw new CustomsError('USAGE', `${name}: is an index; inspect one platform's manifest for its config`, {
        hint: 'Pull with --platform to store a single image, or inspect REF@sha256:<manifest digest>.',
      });
    }
    return {
      name,
      digest: descriptor.digest,
      mediaType: doc.mediaType,
      size: descriptor.size,
      platforms: doc.manifests.map((m) => ({
        platform: m.platform === undefined ? 'unknown' : formatPlatform(m.platform),
        digest: m.digest,
      })),
      ...(doc.annotations === undefined ? {} : { annotations: doc.annotations }),
    };
  }
  const configBytes = await store.readBlob(doc.config.digest, MAX_CONFIG_BYTES);
  if (options.config === true) return { raw: configBytes };
  let config: ImageConfig | undefined;
  try {
    config = parseImageConfig(configBytes, `${name}: config`, doc.layers.length);
  } catch {
    config = undefined; // artifacts (non-image configs) are shown without a config summary
  }
  const c = (config?.raw.config ?? {}) as Record<string, unknown>;
  return {
    name,
    digest: descriptor.digest,
    mediaType: doc.mediaType,
    size: doc.layers.reduce((n, l) => n + l.size, descriptor.size + doc.config.size),
    ...(config === undefined
      ? {}
      : {
          config: {
            digest: doc.config.digest,
            architecture: config.architecture,
            os: config.os,
            ...(config.variant === undefined ? {} : { variant: config.variant }),
            created: config.raw.created,
            entrypoint: c.Entrypoint,
            cmd: c.Cmd,
            env: c.Env,
            workingDir: c.WorkingDir,
            user: c.User,
            labels: c.Labels,
          },
        }),
    layers: doc.layers.map((l, i) => ({
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      ...(config?.diffIds[i] === undefined ? {} : { diffId: config.diffIds[i] }),
    })),
    ...(doc.annotations === undefined ? {} : { annotations: doc.annotations }),
  };
}

/** Remove a tag; blobs stay until `gc`. */
export async function removeImage(ctx: Context, untrustedName: string): Promise<string> {
  const store = await openExistingStore(ctx);
  const { name } = await resolveLocal(store, untrustedName);
  await store.untag(name);
  return name;
}

export async function collectGarbage(ctx: Context): Promise<GcReport> {
  const store = await openExistingStore(ctx);
  return store.gc();
}

export async function checkStore(ctx: Context, signal?: AbortSignal): Promise<FsckReport> {
  const store = await openExistingStore(ctx);
  return store.fsck(signal);
}
