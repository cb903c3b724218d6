/**
 * Signature collection and the policy gate: the I/O edge around the pure `evaluate` (src/policy) and the pure
 * verification cores (src/trust). Used by `pull` (before the tag is written) and `customs verify REF`.
 *
 * Order, and why (docs/security.md "Signatures and policy"):
 * 1. `preflight` runs before any connection: no policy file → POLICY_INVALID (7); a look-alike name →
 *    LOOKALIKE_NAME (3); a scope whose requirements reject without looking at signatures → POLICY_REJECTED (7).
 * 2. `checkSignatures` runs once every blob of the image is verified and stored, before `store.tag`: key files
 *    are read, signatures are fetched (cosign `sha256-<hex>.sig` tag, OCI 1.1 referrers with the tag-schema
 *    fallback, registries.d lookaside stores, the X-Registry-Supports-Signatures extension), each is verified
 *    against the keys of each requirement, and the verified facts go to `evaluate`.
 *
 * Everything fetched here is untrusted until a key vouches for it: manifests go through the same capped,
 * digest-checked client path as image manifests; payload blobs are capped and re-hashed; a malformed or
 * oversized signature source becomes a failure fact (exit 6), never an allowance. Network failures propagate
 * (exit 4): "could not look" is not "nothing there".
 *
 * Cache: allowed decisions are kept in memory for the life of the process, keyed by manifest digest, the
 * image name, the requirement set (JSON) and the bytes of every key file it names, plus the lookaside base.
 * A denial is never cached (a signature may be added later); a changed key file or policy is a different key.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile } from '../internal/fsp.js';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CustomsError, isCustomsError } from '../errors.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { mapLimit } from '../internal/concurrency.js';
import { readCapped } from '../internal/limit.js';
import { KiB } from '../internal/units.js';
import { parseManifest, type Descriptor } from '../oci/index.js';
import {
  digestAlgorithm,
  digestHex,
  formatReference,
  resolveName,
  rewriteToLocation,
  type Digest,
  type Reference,
} from '../ref/index.js';
import type { RegistriesConf } from '../ref/index.js';
import {
  EMPTY_REGISTRIES_D,
  checkLookalike,
  decisionError,
  evaluate,
  knownNamesFrom,
  lookasideFor,
  requirementsFor,
  signatureChecks,
  type Decision,
  type KeySource,
  type NotarySignedRequirement,
  type Policy,
  type RegistriesD,
  type RequirementSet,
  type SignatureCheck,
  type SignatureFacts,
  type SignatureFailure,
  type SigstoreSignedRequirement,
  type VerifiedSignature,
} from '../policy/index.js';
import type { RegistryClient } from '../registry/index.js';
import { policyFor, registriesDFor, type Context } from './context.js';
import { openExistingStore, resolveLocal } from './local.js';
import { notarySignatureFact } from './notary.js';
import { registryClientFor } from './pull.js';
import {
  MAX_BUNDLE_BYTES,
  MAX_COSIGN_PAYLOAD_BYTES,
  cosignSignatureTag,
  sha256File,
  verifyBlob,
  verifyChecksumFile,
  parseCosignSignatureManifest,
  parsePublicKeyPem,
  verifyCosignSignatureWithKey,
  verifyCosignTlogSignature,
  verifyGpgSimpleSignature,
  verifyImageBundle,
  verifyNotaryTag,
  fetchNotaryMetadata,
  trustedRootFromPolicy,
  type TlogTrust,
} from '../trust/index.js';

/** cosign's OCI 1.1 referrer artifact type for key-based signatures (`--registry-referrers-mode=oci-1-1`). */
export const COSIGN_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
/** Sigstore bundle referrers (cosign v3 `--new-bundle-format`). */
export const SIGSTORE_BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** Lookaside `signature-N` files read per image: containers/image has no cap; 16 bounds the work. */
export const MAX_LOOKASIDE_SIGNATURES = 16;
/** A GPG simple signature is < 1 KiB; a lookaside file larger than this is not one. */
export const MAX_LOOKASIDE_SIGNATURE_BYTES = 64 * KiB;
/** Referrers of one image examined for signatures; the rest are ignored (bounded work per pull). */
export const MAX_REFERRERS = 32;
/** A public key file or keyring named by the policy. */
export const MAX_KEY_FILE_BYTES = 1024 * KiB;
/** Allowed decisions remembered per process. */
export const MAX_CACHED_DECISIONS = 1024;

const NO_DIGEST = `sha256:${'0'.repeat(64)}` as Digest;

/** A policy with no scopes, for look-alike checks under `--insecure-policy` (registries.conf aliases only). */
const EMPTY_POLICY: Policy = { sourcePath: '', default: [{ type: 'reject' }], transports: new Map() };

/**
 * Checks that need no network, for the image `ref` (the name the user gave, before registries.conf
 * rewriting): the look-alike check against the names the policy and aliases know (LOOKALIKE_NAME, exit 3),
 * then the requirement set; a set that denies without signatures (reject, signedBaseLayer, unimplemented
 * keyType) throws POLICY_REJECTED (exit 7) here, before anything is fetched. Returns the set, or undefined
 * when `policy` is undefined (`--insecure-policy`).
 */
export function preflight(
  policy: Policy | undefined,
  ref: Reference,
  registriesConf: RegistriesConf | undefined,
): RequirementSet | undefined {
  checkLookalike(ref, knownNamesFrom(policy ?? EMPTY_POLICY, registriesConf));
  if (policy === undefined) return undefined;
  const set = requirementsFor(policy, ref);
  const early = evaluate(set, ref, { manifestDigest: ref.digest ?? NO_DIGEST, verified: [], failures: [] });
  if (!early.allowed && early.code === 'POLICY_REJECTED') throw decisionError(early);
  return set;
}

export interface SignatureSources {
  /** Registry client for the image's repository (signatures are fetched where the image came from). */
  readonly client: RegistryClient | undefined;
  /** Where to fetch from: the image's location after registries.conf rewriting. */
  readonly fetchRef: Reference;
  readonly registriesD: RegistriesD;
  /** Replaces the registries.d lookaside (`customs verify --signatures-from DIR|URL`). */
  readonly lookasideOverride?: string | undefined;
  /** Do not contact the registry for signatures (only the lookaside store is read). */
  readonly offline?: boolean | undefined;
  /**
   * GPG signatures: when a lookaside is configured for the name, read only it and do not ask the registry's
   * signature extension (containers/image consults one source or the other). `load` sets it so that a
   * `file://` lookaside is all a GPG policy needs, with no connection to the registry the name points at.
   */
  readonly lookasideFirst?: boolean | undefined;
}

export interface CheckInput extends SignatureSources {
  readonly set: RequirementSet;
  /** The image's name as policy sees it. */
  readonly ref: Reference;
  /** Digest of the manifest the name resolved to, computed locally. */
  readonly manifestDigest: Digest;
  readonly signal?: AbortSignal | undefined;
}

const decisionCache = new Map<string, Decision>();

/**
 * Collect and verify the signatures `input.set` asks for and evaluate the policy. Returns the Decision (the
 * caller throws `decisionError` on denial, after undoing whatever it must). Throws POLICY_INVALID when a key
 * file the policy names cannot be read, registry errors when signatures cannot be fetched.
 */
export async function checkSignatures(input: CheckInput): Promise<Decision> {
  const { set, ref, manifestDigest } = input;
  const checks = signatureChecks(set);
  if (checks.length === 0) return evaluate(set, ref, { manifestDigest, verified: [], failures: [] });
  const keys = await loadCheckKeys(checks, input.signal);
  const cacheKey = decisionCacheKey(input, keys);
  const cached = decisionCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const facts = await collectFacts(input, checks, keys);
  const decision = evaluate(set, ref, facts);
  if (decision.allowed) {
    if (decisionCache.size >= MAX_CACHED_DECISIONS) decisionCache.clear();
    decisionCache.set(cacheKey, decision);
  }
  return decision;
}

/** Forget cached decisions (tests; a long-running process after a policy edit does not need it: keys differ). */
export function clearDecisionCache(): void {
  decisionCache.clear();
}

function decisionCacheKey(input: CheckInput, keys: readonly LoadedKeys[]): string {
  const h = createHash('sha256');
  h.update(input.manifestDigest).update('\0').update(formatReference(input.ref)).update('\0');
  h.update(
    JSON.stringify(input.set, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)),
  );
  for (const k of keys) for (const b of k.raw) h.update('\0').update(b);
  h.update('\0')
    .update(input.lookasideOverride ?? '')
    .update(String(input.offline === true))
    .update(String(input.lookasideFirst === true));
  return h.digest('hex');
}

// ---- keys ----

interface LoadedKeys {
  /** The bytes of every key source, in order (for the cache key and GPG keyrings). */
  readonly raw: readonly Buffer[];
  /** Unusable key material: the requirement can only fail. */
  readonly problem?: string;
  /**
   * sigstoreSigned with Rekor keys (keyless `fulcio`, or keys + `rekorPublicKey*`): one trust per signing
   * identity (the Fulcio identity, or each key) and the trusted root built from the policy's files.
   */
  readonly tlog?: { readonly trusts: readonly TlogTrust[]; readonly root: Record<string, unknown> };
  /** customsNotarySigned: the pinned root.json and the server CA. */
  readonly notary?: { readonly root: Buffer; readonly ca?: Buffer };
}

async function readKeyFile(path: string, signal?: AbortSignal): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new CustomsError(
      'POLICY_INVALID',
      `policy: key file ${JSON.stringify(path)}: cannot open: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: err, hint: 'The policy names a key file that cannot be read; fix the path or run customs trust add.' },
    );
  }
  try {
    if (!(await fh.stat()).isFile()) {
      throw new CustomsError('POLICY_INVALID', `policy: key file ${JSON.stringify(path)}: expected a regular file`);
    }
    return await readCapped(fh.createReadStream({ autoClose: false }), MAX_KEY_FILE_BYTES, `key file ${path}`, signal);
  } finally {
    await fh.close();
  }
}

async function keySourceBytes(keys: KeySource, signal?: AbortSignal): Promise<Buffer[]> {
  switch (keys.kind) {
    case 'path':
      return [await readKeyFile(keys.path, signal)];
    case 'paths':
      return Promise.all(keys.paths.map((p) => readKeyFile(p, signal)));
    case 'data':
      return [Buffer.from(keys.data)];
    case 'datas':
      return keys.datas.map((d) => Buffer.from(d));
  }
}

async function sourceBytes(
  src: { readonly kind: 'path'; readonly path: string } | { readonly kind: 'data'; readonly data: Uint8Array },
  signal?: AbortSignal,
): Promise<Buffer> {
  return src.kind === 'path' ? readKeyFile(src.path, signal) : Buffer.from(src.data);
}

async function loadTlogKeys(r: SigstoreSignedRequirement, signal?: AbortSignal): Promise<LoadedKeys> {
  const rekor = r.rekorPublicKeys === undefined ? [] : await keySourceBytes(r.rekorPublicKeys, signal);
  const rekorPublicKeyPems = rekor.map((b) => b.toString('utf8'));
  let raw: Buffer[];
  let trusts: TlogTrust[];
  if (r.keys.kind === 'fulcio') {
    const ca = await sourceBytes(r.keys.fulcio.ca, signal);
    raw = [ca, ...rekor];
    trusts = [
      {
        fulcioCaPem: ca.toString('utf8'),
        rekorPublicKeyPems,
        subjectEmail: r.keys.fulcio.subjectEmail,
        oidcIssuer: r.keys.fulcio.oidcIssuer,
      },
    ];
  } else {
    const keys = await keySourceBytes(r.keys, signal);
    raw = [...keys, ...rekor];
    trusts = keys.map((k) => ({ publicKeyPem: k.toString('utf8'), rekorPublicKeyPems }));
  }
  try {
    const first = trusts[0];
    if (first === undefined) return { raw, problem: 'sigstoreSigned: no keys' };
    return { raw, tlog: { trusts, root: trustedRootFromPolicy(first) } };
  } catch (err) {
    return { raw, problem: messageOf(err) };
  }
}

async function loadCheckKeys(checks: readonly SignatureCheck[], signal?: AbortSignal): Promise<LoadedKeys[]> {
  const out: LoadedKeys[] = [];
  for (const c of checks) {
    const r = c.requirement;
    if (r.type === 'sigstoreSigned') {
      if (r.keys.kind === 'fulcio' || r.rekorPublicKeys !== undefined) out.push(await loadTlogKeys(r, signal));
      else out.push({ raw: await keySourceBytes(r.keys, signal) });
    } else if (r.type === 'signedBy') {
      out.push({ raw: await keySourceBytes(r.keys, signal) });
    } else {
      const root = await sourceBytes(r.root, signal);
      const ca = r.caPath === undefined ? undefined : await readKeyFile(r.caPath, signal);
      out.push({
        raw: ca === undefined ? [root] : [root, ca],
        notary: ca === undefined ? { root } : { root, ca },
      });
    }
  }
  return out;
}

// ---- fetching signatures ----

interface CosignEntry {
  readonly payload: Buffer;
  readonly signatureB64: string;
  readonly source: string;
  /** Keyless signatures: the Fulcio leaf (PEM) from the layer annotation. */
  readonly certificatePem?: string | undefined;
  /** The Rekor SET annotation (strict JSON), when present. */
  readonly rekorBundle?: unknown;
}

/** A sigstore bundle found as an OCI 1.1 referrer: bytes capped and digest-checked, not yet verified. */
interface BundleEntry {
  readonly bytes: Buffer;
  readonly source: string;
}

/** What the registry holds for one image: cosign `.sig` layers and sigstore bundle referrers. */
interface CosignFindings extends Collected<CosignEntry> {
  readonly bundles: BundleEntry[];
}

interface Collected<T> {
  readonly items: T[];
  readonly problems: string[];
}

/** Errors that mean "this signature source is bad" (a signature failure) rather than "could not look". */
function isSignatureSourceError(err: unknown): err is CustomsError {
  return (
    isCustomsError(err) &&
    (err.family === 'integrity' || err.family === 'signature' || err.code === 'MEDIA_TYPE_UNSUPPORTED')
  );
}

function tagRef(ref: Reference, tag: string): Reference {
  return { registry: ref.registry, repository: ref.repository, tag };
}

/** Payload blobs fetched in parallel per signature manifest (a handful of sub-KiB GETs). */
const PAYLOAD_FETCH_JOBS = 4;

async function addCosignManifest(
  client: RegistryClient,
  fetchRef: Reference,
  untrustedManifest: Buffer,
  source: string,
  out: Collected<CosignEntry>,
  signal?: AbortSignal,
): Promise<void> {
  let layers;
  try {
    layers = parseCosignSignatureManifest(untrustedManifest);
  } catch (err) {
    if (!isSignatureSourceError(err)) throw err;
    out.problems.push(`${source}: ${err.message}`);
    return;
  }
  // Several signers of one image sign the same payload (cosign's simple-signing JSON has no per-signer field),
  // so the layers of a `.sig` manifest usually share one payload blob: fetch each distinct blob once, in
  // parallel, rather than one round trip per layer in turn.
  const distinct = new Map<Digest, Descriptor>();
  for (const layer of layers) {
    const d = layer.layerDescriptor;
    const seen = distinct.get(d.digest);
    if (seen === undefined) distinct.set(d.digest, d);
    else if (seen.size !== d.size) {
      out.problems.push(`${source}: payload ${d.digest} is declared with two sizes: ${seen.size} and ${d.size}`);
      return;
    }
  }
  const fetched = new Map<Digest, { payload: Buffer } | { problem: string }>();
  await mapLimit(
    [...distinct.values()],
    PAYLOAD_FETCH_JOBS,
    async (d, jobSignal) => {
      try {
        const body = await client.fetch(fetchRef, d, jobSignal);
        const payload = await readCapped(body, MAX_COSIGN_PAYLOAD_BYTES, `${source}: payload ${d.digest}`, jobSignal);
        const algorithm = digestAlgorithm(d.digest);
        const computed = `${algorithm}:${createHash(algorithm).update(payload).digest('hex')}`;
        fetched.set(
          d.digest,
          computed !== d.digest || payload.length !== d.size
            ? { problem: `${source}: payload digest mismatch: expected ${d.digest}, got ${computed}` }
            : { payload },
        );
      } catch (err) {
        if (!isSignatureSourceError(err)) throw err;
        fetched.set(d.digest, { problem: `${source}: ${err.message}` });
      }
    },
    signal,
  );
  const reported = new Set<Digest>();
  for (const layer of layers) {
    const d = layer.layerDescriptor;
    const got = fetched.get(d.digest);
    if (got === undefined) continue; // impossible: every distinct digest was fetched or threw
    if ('problem' in got) {
      if (!reported.has(d.digest)) out.problems.push(got.problem);
      reported.add(d.digest);
      continue;
    }
    out.items.push({
      payload: got.payload,
      signatureB64: layer.signatureB64,
      source,
      certificatePem: layer.certificatePem,
      rekorBundle: layer.bundle,
    });
  }
}

/** The image's referrers: the OCI 1.1 API, else the `sha256-<hex>` tag-schema fallback index. */
async function referrerDescriptors(
  client: RegistryClient,
  fetchRef: Reference,
  digest: Digest,
  out: Collected<unknown>,
  signal?: AbortSignal,
): Promise<readonly Descriptor[]> {
  try {
    const api = await client.referrers(fetchRef, digest, signal);
    if (api !== undefined) return api;
    const fallbackTag = `${digestAlgorithm(digest)}-${digestHex(digest)}`;
    const fallback = await client.manifestIfPresent(tagRef(fetchRef, fallbackTag), undefined, signal);
    if (fallback === undefined) return [];
    const doc = parseManifest(fallback.bytes, {
      contentType: fallback.contentType,
      descriptorMediaType: fallback.descriptor.mediaType,
      subject: `referrers tag ${fallbackTag}`,
    });
    if (doc.kind !== 'index') {
      out.problems.push(`referrers tag ${fallbackTag}: expected an image index, got an image manifest`);
      return [];
    }
    return doc.manifests;
  } catch (err) {
    if (!isSignatureSourceError(err)) throw err;
    out.problems.push(`referrers: ${err.message}`);
    return [];
  }
}

/** The sigstore bundle layer of a bundle referrer manifest: fetched capped, digest-checked. */
async function addBundleManifest(
  client: RegistryClient,
  fetchRef: Reference,
  layers: readonly Descriptor[],
  source: string,
  out: CosignFindings,
  signal?: AbortSignal,
): Promise<void> {
  const d = layers.find((l) => l.mediaType === SIGSTORE_BUNDLE_ARTIFACT_TYPE);
  if (d === undefined) {
    out.problems.push(`${source}: expected a ${SIGSTORE_BUNDLE_ARTIFACT_TYPE} layer, got none`);
    return;
  }
  if (d.size > MAX_BUNDLE_BYTES) {
    out.problems.push(`${source}: bundle too large: expected at most ${MAX_BUNDLE_BYTES} bytes, got ${d.size}`);
    return;
  }
  const body = await client.fetch(fetchRef, d, signal);
  const bytes = await readCapped(body, MAX_BUNDLE_BYTES, `${source}: bundle ${d.digest}`, signal);
  const algorithm = digestAlgorithm(d.digest);
  const computed = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
  if (computed !== d.digest || bytes.length !== d.size) {
    out.problems.push(`${source}: bundle digest mismatch: expected ${d.digest}, got ${computed}`);
    return;
  }
  out.bundles.push({ bytes, source });
}

async function fetchCosignSignatures(
  client: RegistryClient,
  fetchRef: Reference,
  digest: Digest,
  signal?: AbortSignal,
): Promise<CosignFindings> {
  const out: CosignFindings = { items: [], problems: [], bundles: [] };
  const sigTag = cosignSignatureTag(digest);
  const fromTag: CosignFindings = { items: [], problems: [], bundles: [] };
  // The `.sig` tag and the referrers lookup are independent round trips: run them together. Findings are merged
  // in a fixed order (tag first) so reasons read the same whichever answers first.
  const tagTask = (async (): Promise<void> => {
    try {
      const m = await client.manifestIfPresent(tagRef(fetchRef, sigTag), undefined, signal);
      if (m !== undefined) await addCosignManifest(client, fetchRef, m.bytes, `tag ${sigTag}`, fromTag, signal);
    } catch (err) {
      if (!isSignatureSourceError(err)) throw err;
      fromTag.problems.push(`tag ${sigTag}: ${err.message}`);
    }
  })();
  const fromReferrers: Collected<unknown> = { items: [], problems: [] };
  const [, referrers] = await Promise.all([
    tagTask,
    referrerDescriptors(client, fetchRef, digest, fromReferrers, signal),
  ]);
  out.items.push(...fromTag.items);
  out.problems.push(...fromTag.problems, ...fromReferrers.problems);
  for (const d of referrers.slice(0, MAX_REFERRERS)) {
    if (d.artifactType !== COSIGN_SIGNATURE_ARTIFACT_TYPE && d.artifactType !== SIGSTORE_BUNDLE_ARTIFACT_TYPE) {
      continue;
    }
    const source = `referrer ${d.digest}`;
    try {
      const m = await client.manifest(
        { registry: fetchRef.registry, repository: fetchRef.repository, digest: d.digest },
        d,
        signal,
      );
      const doc = parseManifest(m.bytes, {
        contentType: m.contentType,
        descriptorMediaType: d.mediaType,
        subject: source,
      });
      // The fallback index is an ordinary tag anyone with push access can rewrite: the referrer must say itself
      // which manifest it refers to.
      if (doc.subject?.digest !== digest) {
        out.problems.push(`${source}: subject: expected ${digest}, got ${doc.subject?.digest ?? 'none'}`);
        continue;
      }
      if (d.artifactType === SIGSTORE_BUNDLE_ARTIFACT_TYPE) {
        if (doc.kind === 'manifest') await addBundleManifest(client, fetchRef, doc.layers, source, out, signal);
        else out.problems.push(`${source}: expected an image manifest, got an index`);
      } else {
        await addCosignManifest(client, fetchRef, m.bytes, source, out, signal);
      }
    } catch (err) {
      if (!isSignatureSourceError(err)) throw err;
      out.problems.push(`${source}: ${err.message}`);
    }
  }
  return out;
}

/**
 * `<base>/<repository>@<algo>=<hex>/signature-N` (containers/image docker/registries_d.go lookasideStorageURL):
 * `base` as configured, `repository` the image's path without the registry.
 */
export function lookasideSignatureUrl(base: string, ref: Reference, digest: Digest, n: number): URL {
  const root = base.endsWith('/') ? base.slice(0, -1) : base;
  return new URL(`${root}/${ref.repository}@${digestAlgorithm(digest)}=${digestHex(digest)}/signature-${n}`);
}

async function readLookasideFile(url: URL, signal?: AbortSignal): Promise<Buffer | undefined> {
  const path = fileURLToPath(url);
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CustomsError('SIGNATURE_INVALID', `lookaside ${path}: cannot open: ${code ?? 'error'}`, { cause: err });
  }
  try {
    if (!(await fh.stat()).isFile()) {
      throw new CustomsError('SIGNATURE_INVALID', `lookaside ${path}: expected a regular file`);
    }
    return await readCapped(
      fh.createReadStream({ autoClose: false }),
      MAX_LOOKASIDE_SIGNATURE_BYTES,
      `lookaside ${path}`,
      signal,
    );
  } finally {
    await fh.close();
  }
}

async function fetchGpgSignatures(
  input: CheckInput,
  digest: Digest,
): Promise<Collected<{ bytes: Buffer; source: string }>> {
  const out: Collected<{ bytes: Buffer; source: string }> = { items: [], problems: [] };
  const base = input.lookasideOverride ?? lookasideFor(input.registriesD, input.ref).read;
  if (base !== undefined) {
    for (let n = 1; n <= MAX_LOOKASIDE_SIGNATURES; n++) {
      const url = lookasideSignatureUrl(base, input.ref, digest, n);
      let bytes: Buffer | undefined;
      try {
        if (url.protocol === 'file:') bytes = await readLookasideFile(url, input.signal);
        else if (input.client !== undefined)
          bytes = await input.client.fetchUrl(url, MAX_LOOKASIDE_SIGNATURE_BYTES, input.signal);
      } catch (err) {
        if (!isSignatureSourceError(err)) throw err;
        out.problems.push(`lookaside signature-${n}: ${err.message}`);
        break;
      }
      if (bytes === undefined) break;
      out.items.push({ bytes, source: `lookaside signature-${n}` });
    }
  }
  if (input.client !== undefined && input.offline !== true && !(input.lookasideFirst === true && base !== undefined)) {
    try {
      const ext = await input.client.extensionSignatures(input.fetchRef, digest, input.signal);
      ext.forEach((bytes, i) => out.items.push({ bytes, source: `registry signature extension #${i + 1}` }));
    } catch (err) {
      if (!isSignatureSourceError(err)) throw err;
      out.problems.push(`registry signature extension: ${err.message}`);
    }
  }
  return out;
}

/**
 * Notary v1 facts for one `customsNotarySigned` requirement: fetch the repository's metadata from the server
 * the requirement names (never one the registry or image name suggests), verify the tag → digest binding
 * against the pinned root (verifyNotaryTag: TUF signatures, thresholds, versions, expiry) and report it as a
 * `notary` VerifiedSignature; the evaluator compares the bound digest with the image's. The GUN is the image's
 * name as policy sees it (`registry/repository`, as docker trust names it). A bad or missing binding is a
 * failure fact (exit 6); a network failure propagates (exit 4).
 */
async function collectNotaryFacts(
  input: CheckInput,
  check: SignatureCheck,
  req: NotarySignedRequirement,
  loaded: NonNullable<LoadedKeys['notary']>,
): Promise<VerifiedSignature | SignatureFailure> {
  const at = indexesOf(check);
  if (req.server === undefined) {
    return {
      ...at,
      reason:
        'customsNotarySigned: no "server" in the requirement: expected the Notary server to fetch metadata from; refused',
    };
  }
  if (input.offline === true) {
    return { ...at, reason: 'customsNotarySigned: signatures are read offline; Notary metadata is not fetched' };
  }
  const tag = input.ref.tag;
  if (tag === undefined) {
    return {
      ...at,
      reason: 'customsNotarySigned: Notary v1 signs tags: expected a reference with a tag, got a digest only',
    };
  }
  const gun = `${input.ref.registry}/${input.ref.repository}`;
  try {
    const version = untrustedNotaryRootVersion(loaded.root);
    const metadata = await fetchNotaryMetadata(req.server, gun, input.signal, {
      ...(loaded.ca === undefined ? {} : { ca: loaded.ca }),
      ...(version === undefined ? {} : { pinnedRootVersion: version }),
    });
    const result = verifyNotaryTag({ gun, tag, metadata, now: new Date(), pinnedRoot: loaded.root });
    return notarySignatureFact(result, check.requirementIndex, check.subIndex);
  } catch (err) {
    if (!isSignatureSourceError(err) && !(isCustomsError(err) && err.code === 'USAGE')) throw err;
    return { ...at, reason: `notary ${gun}:${tag}: ${err.message}` };
  }
}

function untrustedNotaryRootVersion(bytes: Uint8Array): number | undefined {
  try {
    const doc = parseStrictJsonBytes(bytes, 'notary root');
    const signed = isJsonObject(doc) ? doc['signed'] : undefined;
    const v = isJsonObject(signed) ? signed['version'] : undefined;
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
  } catch {
    return undefined; // verifyNotaryTag reports it
  }
}

/** Verify cosign `.sig` layers and bundle referrers against a tlog-backed sigstoreSigned requirement. */
function tlogFacts(
  at: { requirementIndex: number; subIndex?: number },
  tlog: NonNullable<LoadedKeys['tlog']>,
  found: CosignFindings,
  manifestDigest: Digest,
  verified: VerifiedSignature[],
  failures: SignatureFailure[],
): void {
  const tryAll = <T>(f: (trust: TlogTrust) => T): T => {
    let last: unknown;
    for (const trust of tlog.trusts) {
      try {
        return f(trust);
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
  for (const e of found.items) {
    try {
      const v = tryAll((trust) =>
        verifyCosignTlogSignature({
          payload: e.payload,
          signatureB64: e.signatureB64,
          certificatePem: e.certificatePem,
          rekorBundle: e.rekorBundle,
          trust,
          trustedRoot: tlog.root,
        }),
      );
      verified.push({
        ...at,
        format: 'cosign',
        keyId: v.keyId,
        manifestDigest: v.payload.manifestDigest,
        dockerReference: v.payload.dockerReference,
      });
    } catch (err) {
      failures.push({ ...at, reason: `${e.source}: ${messageOf(err)}` });
    }
  }
  for (const b of found.bundles) {
    try {
      const v = tryAll((trust) =>
        verifyImageBundle({ bundle: b.bytes, manifestDigest, trust, trustedRoot: tlog.root }),
      );
      verified.push({ ...at, format: 'sigstore-bundle', ...v });
    } catch (err) {
      failures.push({ ...at, reason: `${b.source}: ${messageOf(err)}` });
    }
  }
}

function indexesOf(check: SignatureCheck): { requirementIndex: number; subIndex?: number } {
  return check.subIndex === undefined
    ? { requirementIndex: check.requirementIndex }
    : { requirementIndex: check.requirementIndex, subIndex: check.subIndex };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function collectFacts(
  input: CheckInput,
  checks: readonly SignatureCheck[],
  keys: readonly LoadedKeys[],
): Promise<SignatureFacts> {
  const { manifestDigest, signal } = input;
  const verified: VerifiedSignature[] = [];
  const failures: SignatureFailure[] = [];
  let cosign: Promise<CosignFindings> | undefined;
  let gpg: Promise<Collected<{ bytes: Buffer; source: string }>> | undefined;
  const cosignOnce = (): Promise<CosignFindings> => {
    if (input.client === undefined || input.offline === true) {
      return Promise.resolve({ items: [], problems: [], bundles: [] });
    }
    cosign ??= fetchCosignSignatures(input.client, input.fetchRef, manifestDigest, signal);
    return cosign;
  };
  const gpgOnce = (): Promise<Collected<{ bytes: Buffer; source: string }>> => {
    gpg ??= fetchGpgSignatures(input, manifestDigest);
    return gpg;
  };

  for (const [i, check] of checks.entries()) {
    const at = indexesOf(check);
    const loaded = keys[i] ?? { raw: [] };
    const req = check.requirement;
    if (loaded.problem !== undefined) {
      failures.push({ ...at, reason: loaded.problem });
      continue;
    }
    if (req.type === 'customsNotarySigned') {
      if (loaded.notary === undefined) {
        failures.push({ ...at, reason: 'customsNotarySigned: pinned root not loaded' });
        continue;
      }
      const fact = await collectNotaryFacts(input, check, req, loaded.notary);
      if ('format' in fact) verified.push(fact);
      else failures.push(fact);
      continue;
    }
    if (req.type === 'sigstoreSigned' && loaded.tlog !== undefined) {
      const found = await cosignOnce();
      for (const p of found.problems) failures.push({ ...at, reason: p });
      tlogFacts(at, loaded.tlog, found, manifestDigest, verified, failures);
      continue;
    }
    if (req.type === 'sigstoreSigned') {
      let pems;
      try {
        pems = loaded.raw.map((b, k) => parsePublicKeyPem(b.toString('utf8'), `policy key ${k + 1}`));
      } catch (err) {
        failures.push({ ...at, reason: messageOf(err) });
        continue;
      }
      const found = await cosignOnce();
      for (const p of found.problems) failures.push({ ...at, reason: p });
      for (const e of found.items) {
        let last: unknown;
        let ok = false;
        for (const key of pems) {
          try {
            const v = verifyCosignSignatureWithKey(e.payload, e.signatureB64, key);
            verified.push({
              ...at,
              format: 'cosign',
              keyId: v.keyId,
              manifestDigest: v.payload.manifestDigest,
              dockerReference: v.payload.dockerReference,
            });
            ok = true;
            break;
          } catch (err) {
            last = err;
          }
        }
        if (!ok) failures.push({ ...at, reason: `${e.source}: ${messageOf(last)}` });
      }
      continue;
    }
    // signedBy GPGKeys
    const found = await gpgOnce();
    for (const p of found.problems) failures.push({ ...at, reason: p });
    for (const s of found.items) {
      let last: unknown;
      let ok = false;
      for (const keyring of loaded.raw) {
        try {
          const v = await verifyGpgSimpleSignature({ signature: s.bytes, publicKeys: keyring });
          verified.push({
            ...at,
            format: 'gpg',
            keyId: v.keyId,
            manifestDigest: v.payload.manifestDigest,
            dockerReference: v.payload.dockerReference,
          });
          ok = true;
          break;
        } catch (err) {
          last = err;
        }
      }
      if (!ok) failures.push({ ...at, reason: `${s.source}: ${messageOf(last)}` });
    }
  }
  return { manifestDigest, verified, failures };
}

// ---- verbs: customs verify ----

export interface VerifyImageOptions {
  /** Read GPG signatures from this lookaside (file:// or http(s):// URL, or a directory) and nothing else. */
  readonly signaturesFrom?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface VerifyImageResult {
  readonly name: string;
  readonly digest: Digest;
  readonly allowed: true;
  readonly scope: string;
  readonly reasons: readonly string[];
}

/**
 * `customs verify REF`: re-evaluate the policy for an image already in the store, over the digest the store
 * holds (never one a registry reports). Signatures are fetched again from the registry the name points at, or
 * read only from `signaturesFrom`. Throws the decision's error when denied (6 or 7), LOOKALIKE_NAME (3),
 * IMAGE_NOT_IN_STORE (9). With `--insecure-policy` nothing is checked and the result says so.
 */
export async function verifyImage(
  ctx: Context,
  untrustedName: string,
  options: VerifyImageOptions = {},
): Promise<VerifyImageResult> {
  const { signal } = options;
  const store = await openExistingStore(ctx);
  const { name, descriptor } = await resolveLocal(store, untrustedName);
  const ref = resolveName(name, ctx.registriesConf);
  const policy = await policyFor(ctx, signal);
  const set = preflight(policy, ref, ctx.registriesConf);
  if (set === undefined) {
    return {
      name,
      digest: descriptor.digest,
      allowed: true,
      scope: '',
      reasons: ['--insecure-policy: nothing was checked'],
    };
  }
  const location = rewriteToLocation(ctx.registriesConf, ref);
  const fetchRef: Reference = { registry: location.registry, repository: location.repository };
  const offline = options.signaturesFrom !== undefined;
  const registriesD = offline ? EMPTY_REGISTRIES_D : await registriesDFor(ctx, signal);
  const client = offline ? undefined : registryClientFor(ctx);
  try {
    const decision = await checkSignatures({
      client,
      set,
      ref,
      fetchRef,
      manifestDigest: descriptor.digest,
      registriesD,
      lookasideOverride: options.signaturesFrom === undefined ? undefined : lookasideBase(options.signaturesFrom),
      offline,
      signal,
    });
    if (!decision.allowed) throw decisionError(decision);
    return { name, digest: descriptor.digest, allowed: true, scope: decision.scope, reasons: decision.reasons };
  } finally {
    await client?.close();
  }
}

/** A `--signatures-from` value as a lookaside base URL: URLs as given, paths as file:// URLs. */
function lookasideBase(value: string): string {
  if (/^(?:file|https?):\/\//.test(value)) return value;
  return pathToFileURL(resolve(value)).href;
}

export interface VerifiedChecksumFile {
  readonly file: string;
  readonly sha256: string;
  readonly keyFingerprint: string;
}

/**
 * `customs verify --checksums SUMS [--signature SIG] --key KEY FILE`: SUMS must be clearsigned (or SIG a
 * detached signature over it) by a key in KEY, and list FILE's base name exactly once with FILE's sha256.
 * Throws SIGNATURE_INVALID / SIGNATURE_MISSING (exit 6); fs errors become USAGE.
 */
export async function verifyChecksums(input: {
  file: string;
  sums: string;
  signature?: string | undefined;
  key: string;
  signal?: AbortSignal | undefined;
}): Promise<VerifiedChecksumFile> {
  const readArg = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new CustomsError(
        'USAGE',
        `${what} ${JSON.stringify(path)}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause: err },
      );
    }
  };
  const sums = await readArg(input.sums, '--checksums');
  const signature = input.signature === undefined ? undefined : await readArg(input.signature, '--signature');
  const publicKeys = await readArg(input.key, '--key');
  let digestHexOfFile: string;
  try {
    digestHexOfFile = await sha256File(input.file, input.signal);
  } catch (err) {
    throw new CustomsError(
      'USAGE',
      `${JSON.stringify(input.file)}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: err },
    );
  }
  const v = await verifyChecksumFile({
    sums,
    ...(signature === undefined ? {} : { signature }),
    publicKeys,
    fileName: basename(input.file),
    fileDigestHex: digestHexOfFile,
  });
  return { file: input.file, sha256: v.expectedHex, keyFingerprint: v.keyFingerprint };
}

/**
 * `customs verify-blob FILE --bundle B --trusted-root R (--key K | --certificate-identity I
 * --certificate-oidc-issuer O)`, as `cosign verify-blob`: verifyBlob offline against the given root.
 */
export async function verifyBlobFile(input: {
  file: string;
  bundle: string;
  trustedRoot: string;
  key?: string | undefined;
  certificateIdentity?: string | undefined;
  certificateIssuer?: string | undefined;
  signal?: AbortSignal | undefined;
}): Promise<{
  file: string;
  keyId: string;
  artifactDigest: string;
  identity?: { subjectAlternativeName: string; issuer: string };
}> {
  const readJson = async (path: string, what: string): Promise<unknown> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new CustomsError(
        'USAGE',
        `${what} ${JSON.stringify(path)}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause: err },
      );
    }
    if (bytes.length > MAX_BUNDLE_BYTES * 4) throw new CustomsError('SIGNATURE_INVALID', `${what}: too large`);
    try {
      return parseStrictJsonBytes(bytes, what);
    } catch (err) {
      throw new CustomsError('SIGNATURE_INVALID', `${what}: expected JSON: ${messageOf(err)}`, { cause: err });
    }
  };
  const bundle = await readJson(input.bundle, '--bundle');
  const trustedRoot = await readJson(input.trustedRoot, '--trusted-root');
  let policy: { publicKeyPem?: string; certificateIdentity?: string; certificateIssuer?: string };
  if (input.key !== undefined) {
    if (input.certificateIdentity !== undefined || input.certificateIssuer !== undefined) {
      throw new CustomsError(
        'USAGE',
        'verify-blob: expected --key or --certificate-identity/--certificate-oidc-issuer, got both',
      );
    }
    policy = { publicKeyPem: (await readFile(input.key)).toString('utf8') };
  } else {
    if (input.certificateIdentity === undefined || input.certificateIssuer === undefined) {
      throw new CustomsError(
        'USAGE',
        'verify-blob: expected --key, or both --certificate-identity and --certificate-oidc-issuer',
      );
    }
    policy = { certificateIdentity: input.certificateIdentity, certificateIssuer: input.certificateIssuer };
  }
  let v;
  try {
    v = await verifyBlob({
      path: input.file,
      bundle,
      trustedRoot,
      policy,
      ...(input.signal === undefined ? {} : { signal: input.signal }),
    });
  } catch (err) {
    if (isCustomsError(err)) throw err;
    throw new CustomsError(
      'USAGE',
      `${JSON.stringify(input.file)}: cannot read: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`,
      { cause: err },
    );
  }
  return {
    file: input.file,
    keyId: v.keyId,
    artifactDigest: v.artifactDigest,
    ...(v.identity === undefined ? {} : { identity: v.identity }),
  };
}
