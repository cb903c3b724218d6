/**
 * `pull`: registry → quarantine → OCI image layout store.
 *
 * Order matters for the invariants (docs/security.md "Verified pull"):
 * 1. The name is resolved strictly (no implicit docker.io, library/ or :latest) and blocked registries are
 *    refused before any connection.
 * 2. Every manifest's digest is computed locally from capped bytes before it is parsed.
 * 3. Layers and configs stream into quarantine and enter `blobs/` only on an exact digest and size match; the
 *    config is parsed only after that, and its diff_id count must equal the layer count.
 * 4. Blobs enter the store bottom-up (layers, config, manifest, index) and the reference is tagged last, under
 *    the store lock: a crash at any point leaves unreferenced blobs at worst, never a tag that points at
 *    missing or unverified content. Nothing is decompressed during pull.
 */
import type { Readable } from 'node:stream';
import type { Descriptor, ImageManifest, Platform, ProgressSink, Source } from '../oci/index.js';
import {
  formatPlatform,
  hostPlatform,
  INDEX_MEDIA_TYPES,
  MAX_CONFIG_BYTES,
  parseImageConfig,
  parseManifest,
  platformMatches,
} from '../oci/index.js';
import { CustomsError } from '../errors.js';
import { mapLimit } from '../internal/concurrency.js';
import type { Digest, Reference } from '../ref/index.js';
import { assertNotBlocked, findRegistryConfig, formatReference, resolveName, rewriteToLocation } from '../ref/index.js';
import { RegistryClient } from '../registry/index.js';
import type { ContentStore } from '../store/index.js';
import { EMPTY_REGISTRIES_D, decisionError, signatureChecks, type Decision } from '../policy/index.js';
import { openWritableStore, policyFor, registriesDFor, type Context } from './context.js';
import { checkSignatures, preflight } from './verify.js';

/** Default number of blobs fetched in parallel (`--jobs`). */
export const DEFAULT_JOBS = 3;
/** An index may point at indexes; deeper nesting than this is refused rather than walked. */
export const MAX_INDEX_DEPTH = 2;

export interface PullOptions {
  /** Platform to select from an index; the host platform when absent. */
  readonly platform?: Platform | undefined;
  /** Keep the whole index and every platform's image. */
  readonly allPlatforms?: boolean | undefined;
  readonly jobs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: ProgressSink | undefined;
  /** Name to tag in the store; defaults to `ref` (differs when registries.conf rewrites the location). */
  readonly tagName?: string | undefined;
  /**
   * Called once every blob and document is verified and in the store, before the tag is written, with the
   * descriptor the reference resolved to (the document signatures are over). Throwing refuses the image: the
   * blobs this pull added are discarded and nothing is tagged. `pull` uses it for the policy decision.
   */
  readonly gate?: ((resolved: Descriptor, signal?: AbortSignal) => Promise<void>) | undefined;
}

export interface PulledImage {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly platform?: string;
  readonly layers: number;
  readonly size: number;
}

export interface PullResult {
  /** The fully qualified reference as tagged in the store. */
  readonly name: string;
  /** The descriptor the name points at (a manifest, or an index with --all-platforms). */
  readonly descriptor: Descriptor;
  readonly images: readonly PulledImage[];
  readonly blobsFetched: number;
  readonly blobsPresent: number;
  readonly bytesFetched: number;
  /** The policy decision that let the image in (absent with --insecure-policy). */
  readonly policy?: { readonly scope: string; readonly reasons: readonly string[] };
}

interface Plan {
  /** Manifests and indexes to write, children before parents, with their verified bytes. */
  readonly documents: { descriptor: Descriptor; bytes: Buffer }[];
  readonly images: PulledImage[];
  /** Image manifests whose config and layers must be fetched. */
  readonly manifests: { descriptor: Descriptor; manifest: ImageManifest }[];
}

/**
 * Pull `ref` from `source` into `store` and tag it with its fully qualified name. All-or-nothing: on any
 * failure nothing is tagged (blobs already verified may remain, unreferenced, for `gc`).
 */
export async function pullImage(
  source: Source,
  storeOrOpening: ContentStore | PromiseLike<ContentStore>,
  ref: Reference,
  options: PullOptions = {},
): Promise<PullResult> {
  const { signal, onEvent } = options;
  const name = options.tagName ?? formatReference(ref);
  // The store may still be opening (pull() creates it while the manifest is fetched); nothing is written to it
  // before it is ready. Observed at once, so a manifest failure first never leaves its rejection unhandled.
  let storeOpen = false;
  const storeReady = Promise.resolve(storeOrOpening).then((s) => {
    storeOpen = true;
    return s;
  });
  storeReady.catch(() => undefined);
  const top = await source.manifest(ref, undefined, signal);
  const plan: Plan = { documents: [], images: [], manifests: [] };
  await planDocument(source, ref, top.descriptor, top.bytes, top.contentType, plan, options, 0);

  // Configs and layers: fetch each distinct blob once, in parallel, straight into quarantine.
  const blobs = new Map<Digest, Descriptor>();
  for (const { manifest } of plan.manifests) {
    for (const d of [manifest.config, ...manifest.layers]) {
      const seen = blobs.get(d.digest);
      if (seen !== undefined && seen.size !== d.size) {
        throw new CustomsError(
          'MANIFEST_INVALID',
          `${name}: blob ${d.digest} is declared with two sizes: ${seen.size} and ${d.size}`,
        );
      }
      blobs.set(d.digest, d);
    }
  }
  // Largest first: the longest transfers start first (the pull ends with its longest blob), and a registry
  // answering several requests at once sends the first head of the big one sooner when it is asked for it first.
  const queue = [...blobs.values()].sort((a, b) => b.size - a.size);
  const descriptor = taggedDescriptor(top.descriptor, plan);
  const jobs = options.jobs ?? DEFAULT_JOBS;
  // While the store is still opening (creating a store waits on several fsyncs), the first blob requests go out
  // at once instead of after it: only their heads are read (the bulk reader holds at most 64 KiB of a body no
  // one reads yet). A blob that turns out to be present is dropped unread.
  const early = new Map<Digest, Promise<Readable>>();
  if (!storeOpen) {
    for (const d of queue.slice(0, jobs)) {
      const body = source.fetch(ref, d, signal);
      body.catch(() => undefined); // awaited by the blob's job, or dropped by dropEarly
      early.set(d.digest, body);
    }
  }
  const dropEarly = (digest?: Digest): void => {
    for (const [d, body] of early) {
      if (digest !== undefined && d !== digest) continue;
      early.delete(d);
      body.then(
        (b) => b.destroy(),
        () => undefined,
      );
    }
  };
  let store: ContentStore;
  try {
    store = await storeReady;
  } catch (err) {
    dropEarly();
    throw err;
  }
  let blobsFetched = 0;
  let blobsPresent = 0;
  let bytesFetched = 0;
  // Blobs this pull added: removed again if the pull fails, so a refused image leaves the store as it was.
  const added: Digest[] = [];
  /** Write a blob unless the store has it; true when this pull added it (and must discard it on failure). */
  const addIfAbsent = async (desc: Descriptor, write: () => Promise<void>): Promise<boolean> => {
    if (await store.has(desc)) {
      dropEarly(desc.digest);
      return false;
    }
    await write();
    added.push(desc.digest);
    return true;
  };
  const writeDocuments = async (): Promise<void> => {
    for (const doc of plan.documents) {
      await addIfAbsent(doc.descriptor, () => store.ingestBytes(doc.descriptor, doc.bytes));
    }
  };
  let documentsWritten: Promise<void> = Promise.resolve();
  try {
    const blobsFetchedAll = mapLimit(
      queue,
      jobs,
      async (desc, jobSignal) => {
        // Foreign layers' `urls` are never followed (image-spec descriptor.md makes them optional): the blob comes
        // from the registry named by the reference or not at all.
        const fetched = await addIfAbsent(desc, async () => {
          onEvent?.({ type: 'blob-start', digest: desc.digest, size: desc.size, mediaType: desc.mediaType });
          const prefetched = early.get(desc.digest);
          early.delete(desc.digest);
          const body = await (prefetched ?? source.fetch(ref, desc, jobSignal));
          await store.ingest(desc, body, {
            signal: jobSignal,
            onProgress: (bytes) => onEvent?.({ type: 'blob-progress', digest: desc.digest, bytes, size: desc.size }),
          });
        });
        if (!fetched) {
          blobsPresent++;
          onEvent?.({ type: 'blob-done', digest: desc.digest, size: desc.size, skipped: true });
          return;
        }
        blobsFetched++;
        bytesFetched += desc.size;
        onEvent?.({ type: 'blob-done', digest: desc.digest, size: desc.size, skipped: false });
      },
      signal,
    );
    // The documents (manifests, indexes: verified when fetched) go in while the blobs download, not after them:
    // small writes and their fsyncs, off the end of the pull. Unreferenced until the tag; discarded on failure.
    documentsWritten = writeDocuments();
    documentsWritten.catch(() => undefined); // awaited below, once the blobs are in
    await blobsFetchedAll;

    // Configs are parsed only now, from verified store content.
    for (const { descriptor, manifest } of plan.manifests) {
      if (!isImageConfig(manifest.config.mediaType)) continue;
      const configBytes = await store.readBlob(manifest.config.digest, MAX_CONFIG_BYTES);
      parseImageConfig(
        configBytes,
        `${name}: config ${manifest.config.digest} of ${descriptor.digest}`,
        manifest.layers.length,
      );
    }

    await documentsWritten;
    // Policy last, on verified content: the decision is over the digest the reference resolved to.
    if (options.gate !== undefined) await options.gate(top.descriptor, signal);
    await store.tag(name, descriptor);
  } catch (err) {
    dropEarly();
    await documentsWritten.catch(() => undefined); // settled before discarding what it added
    await store.discard(added).catch(() => undefined); // best effort: gc removes anything left
    throw err;
  }
  return { name, descriptor, images: plan.images, blobsFetched, blobsPresent, bytesFetched };
}

function isImageConfig(mediaType: string): boolean {
  return (
    mediaType === 'application/vnd.oci.image.config.v1+json' ||
    mediaType === 'application/vnd.docker.container.image.v1+json'
  );
}

/** The descriptor to tag: the top document, or the selected platform's manifest when an index was narrowed. */
function taggedDescriptor(top: Descriptor, plan: Plan): Descriptor {
  const last = plan.documents[plan.documents.length - 1];
  if (last === undefined) return top;
  return { mediaType: last.descriptor.mediaType, digest: last.descriptor.digest, size: last.descriptor.size };
}

async function planDocument(
  source: Source,
  ref: Reference,
  descriptor: Descriptor,
  bytes: Buffer,
  contentType: string | undefined,
  plan: Plan,
  options: PullOptions,
  depth: number,
): Promise<void> {
  const subject = `${formatReference(ref)} (${descriptor.digest})`;
  const doc = parseManifest(bytes, { contentType, descriptorMediaType: descriptor.mediaType, subject });
  if (doc.kind === 'manifest') {
    plan.manifests.push({ descriptor, manifest: doc });
    plan.images.push({
      digest: descriptor.digest,
      mediaType: doc.mediaType,
      ...(descriptor.platform === undefined ? {} : { platform: formatPlatform(descriptor.platform) }),
      layers: doc.layers.length,
      size: doc.layers.reduce((n, l) => n + l.size, doc.config.size + descriptor.size),
    });
    plan.documents.push({
      descriptor: { mediaType: doc.mediaType, digest: descriptor.digest, size: descriptor.size },
      bytes,
    });
    return;
  }
  if (depth >= MAX_INDEX_DEPTH) {
    throw new CustomsError(
      'MANIFEST_INVALID',
      `${subject}: indexes nested deeper than ${MAX_INDEX_DEPTH} levels are refused`,
    );
  }
  const children =
    options.allPlatforms === true
      ? [...doc.manifests]
      : [selectPlatform(doc.manifests, options.platform ?? hostPlatform(), subject)];
  for (const child of children) {
    const fetched = await source.manifest({ ...ref, digest: child.digest }, child, options.signal);
    await planDocument(source, ref, child, fetched.bytes, fetched.contentType, plan, options, depth + 1);
  }
  if (options.allPlatforms === true) {
    plan.documents.push({
      descriptor: { mediaType: doc.mediaType, digest: descriptor.digest, size: descriptor.size },
      bytes,
    });
  }
}

/** Pick the index entry for `wanted`; an exact variant match wins over a variant-less entry. */
export function selectPlatform(manifests: readonly Descriptor[], wanted: Platform, subject: string): Descriptor {
  const candidates = manifests.filter(
    (m) => m.platform !== undefined && !INDEX_MEDIA_TYPES.includes(m.mediaType) && platformMatches(wanted, m.platform),
  );
  const exact = candidates.find((m) => m.platform?.variant === wanted.variant);
  const chosen = exact ?? candidates[0];
  if (chosen === undefined) {
    const available = manifests.flatMap((m) => (m.platform === undefined ? [] : [formatPlatform(m.platform)]));
    throw new CustomsError(
      'PLATFORM_NOT_FOUND',
      `${subject}: no image for platform: expected ${formatPlatform(wanted)}, got ${available.length === 0 ? 'no platforms' : available.join(', ')}`,
      {
        hint: `Choose one with --platform (e.g. --platform ${available[0] ?? 'linux/amd64'}) or keep them all with --all-platforms.`,
        details: { wanted: formatPlatform(wanted), available },
      },
    );
  }
  return chosen;
}

/**
 * The `customs pull` verb: resolve `untrustedName` strictly (short names refused, blocked registries refused
 * before any connection), apply registries.conf location rewriting for the connection only, pull into the
 * context's store, and tag the name the user gave in its fully qualified form.
 */
export async function pull(ctx: Context, untrustedName: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = resolveName(untrustedName, ctx.registriesConf);
  assertNotBlocked(ctx.registriesConf, ref);
  // Policy before any connection: no policy file (7), a look-alike name (3), a rejecting scope (7).
  const policy = await policyFor(ctx, options.signal);
  const set = preflight(policy, ref, ctx.registriesConf);
  const registriesD =
    set === undefined || signatureChecks(set).length === 0
      ? EMPTY_REGISTRIES_D
      : await registriesDFor(ctx, options.signal);
  const location = rewriteToLocation(ctx.registriesConf, ref);
  const fetchRef: Reference = { ...ref, registry: location.registry, repository: location.repository };
  // The store opens (and is created when new, with its fsyncs) while the manifest is fetched.
  const opening = openWritableStore(ctx);
  const client = registryClientFor(ctx);
  let decision: Decision | undefined;
  try {
    const result = await pullImage(
      client,
      opening.then((o) => o.store),
      fetchRef,
      {
        ...options,
        onEvent: options.onEvent ?? ctx.onEvent,
        tagName: formatReference(ref),
        gate:
          set === undefined
            ? undefined
            : async (resolved, signal) => {
                decision = await checkSignatures({
                  client,
                  set,
                  ref,
                  fetchRef,
                  manifestDigest: resolved.digest,
                  registriesD,
                  signal,
                });
                if (!decision.allowed) throw decisionError(decision);
              },
      },
    );
    return decision === undefined
      ? result
      : { ...result, policy: { scope: decision.scope, reasons: decision.reasons } };
  } catch (err) {
    await opening.then(
      (o) => o.undoCreate(),
      () => undefined,
    );
    throw err;
  } finally {
    await client.close();
  }
}

/** A registry client configured from the context (credentials, certs.d, insecure registries, timeouts). */
export function registryClientFor(ctx: Context): RegistryClient {
  return new RegistryClient({
    credentials: [...ctx.credentials],
    certsDirs: [...ctx.certsDirs],
    insecureRegistries: (host: string) =>
      findRegistryConfig(ctx.registriesConf, { registry: host, repository: '' })?.insecure === true,
    idleTimeoutMs: ctx.idleTimeoutMs,
    ...(ctx.onEvent === undefined ? {} : { onEvent: ctx.onEvent }),
  });
}
