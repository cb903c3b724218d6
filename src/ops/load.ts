/**
 * `load`: a docker-archive or oci-archive file → the store, with the all-or-nothing verification of pull
 * (docs/security.md "Export and load"). The archive is untrusted like a registry.
 *
 * 1. The outer tar is indexed strictly before anything is read from it (indexArchive below): regular files,
 *    directories, and links that resolve lexically to an earlier regular file member (aliases, as skopeo's and
 *    docker's legacy archives use; never followed on a filesystem); absolute names, `..`, escaping links,
 *    devices, duplicates, truncation and non-tar input refused;
 *    at most MAX_ARCHIVE_MEMBERS members with names ≤ MAX_MEMBER_NAME_BYTES. Nothing is ever extracted to disk:
 *    members are read by offset from the one open file descriptor.
 * 2. Format by structure: `oci-layout` + `index.json` → OCI image layout (also Docker 25's `docker save` and
 *    customs' own docker-archive); otherwise `manifest.json` → legacy docker-archive. Never by sniffing bytes.
 * 3. Paths named inside the archive (manifest.json `Config`/`Layers`) are untrusted (CVE-2014-9358: image IDs
 *    used as paths): they are looked up only as exact member names in the index, never joined to a filesystem
 *    path, and `..`/absolute names are refused outright.
 * 4. Every blob enters the store through ContentStore.ingest with the digest it must have: for OCI layouts the
 *    descriptor's digest (a blob's name `blobs/sha256/<hex>` must hash to itself); for docker-archive the config
 *    member's name is its sha256 and each layer must hash to its config's diff_id, i.e. be the uncompressed tar
 *    (what `docker save` ≤ 24 and `skopeo copy docker-archive:` write). A compressed layer in a legacy
 *    docker-archive cannot be checked without decompressing it, so it is refused rather than decompressed
 *    outside the unpack worker; archives with an OCI index (customs, Docker ≥ 25) carry media types and need
 *    no decompression.
 * 5. Blobs are ingested bottom-up and names are tagged last; on any failure blobs this load added are
 *    discarded and tags it changed are restored.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from '../internal/fsp.js';
import { resolve as resolvePath } from 'node:path';
import { CustomsError, mismatch } from '../errors.js';
import { CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION } from '../export/index.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { KiB, MiB } from '../internal/units.js';
import type { Descriptor, ImageManifest } from '../oci/index.js';
import {
  MANIFEST_MEDIA_TYPES,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  MediaTypes,
  parseImageConfig,
  parseManifest,
} from '../oci/index.js';
import {
  assertNotBlocked,
  digestAlgorithm,
  digestHex,
  formatReference,
  parseDigest,
  parseReference,
  resolveName,
  rewriteToLocation,
  type Digest,
  type Reference,
} from '../ref/index.js';
import {
  EMPTY_REGISTRIES_D,
  decisionError,
  signatureChecks,
  type RegistriesD,
  type RequirementSet,
} from '../policy/index.js';
import type { RegistryClient } from '../registry/index.js';
import {
  BLOCK,
  checkHeader,
  cstring,
  decodeName,
  isZeroBlock,
  parseNumeric,
  parsePax,
  type PaxOverrides,
} from '../unpack/index.js';
import type { ContentStore } from '../store/index.js';
import type { Policy } from '../policy/index.js';
import { openWritableStore, policyFor, registriesDFor, type Context } from './context.js';
import { registryClientFor } from './pull.js';
import { checkSignatures, preflight } from './verify.js';

/** Caps on the outer archive (the brief of issue 4): far above any real archive, low enough to bound work. */
export const MAX_ARCHIVE_MEMBERS = 10_000;
/** Member names longer than this are refused (PATH_MAX is 4096 on Linux). */
export const MAX_MEMBER_NAME_BYTES = 4 * KiB;
/** manifest.json / index.json / oci-layout are read into memory: capped as registry manifests are. */
export const MAX_ARCHIVE_METADATA_BYTES = MAX_MANIFEST_BYTES;
/** PAX extended headers are read into memory (Go archive/tar uses the same cap). */
export const MAX_PAX_HEADER_BYTES = 1 * MiB;
/** Images in one docker-archive manifest.json, and layers per image. */
export const MAX_ARCHIVE_IMAGES = 1000;
export const MAX_IMAGE_LAYERS = 1000;
/** Index nesting in an OCI archive (as pull). */
export const MAX_LOAD_INDEX_DEPTH = 2;
/** Read size for streaming members into quarantine. */
const READ_CHUNK_BYTES = 1 * MiB;

export type LoadFormat = 'docker-archive' | 'oci-archive';

export interface LoadOptions {
  /** Tag the (single) image under this fully qualified name instead of the names the archive carries. */
  readonly tag?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Called with every name the load would tag, once the plan is made and before any blob is read into the
   * store: throwing refuses the whole load with nothing added (the policy's look-alike and reject checks).
   */
  readonly preflight?: ((name: string) => void) | undefined;
  /**
   * Called for every name, once every blob and document is verified and in the store and before any name is
   * tagged, with the descriptor the name will point at. Throwing refuses the load: the blobs it added are
   * discarded and nothing is tagged (the policy's signature checks).
   */
  readonly gate?: ((name: string, descriptor: Descriptor, signal?: AbortSignal) => Promise<void>) | undefined;
}

export interface LoadedImage {
  /** Names tagged in the store. */
  readonly names: readonly string[];
  readonly descriptor: Descriptor;
}

export interface LoadResult {
  readonly format: LoadFormat;
  readonly images: readonly LoadedImage[];
  readonly blobsAdded: number;
  readonly blobsPresent: number;
}

// ---------------------------------------------------------------------------------------------------------------
// The outer tar, indexed strictly.

/** One member of the archive: a regular file's data lives at [offset, offset + size) of the archive file. */
export interface ArchiveMember {
  readonly name: string;
  /**
   * `link`: a symbolic or hard link member, kept only as an alias of another member's name (skopeo's and
   * docker's legacy docker-archive link `<id>/layer.tar` to the one copy of a layer). It is never followed on
   * a filesystem (nothing is extracted); `target` is the canonical member name it resolves to, lexically,
   * inside the archive.
   */
  readonly type: 'file' | 'dir' | 'link';
  readonly size: number;
  readonly offset: number;
  readonly target?: string;
}

function archiveInvalid(what: string, details: Record<string, unknown> = {}): CustomsError {
  return new CustomsError('ARCHIVE_INVALID', `archive: ${what}`, {
    details,
    hint: 'The file is not a well-formed docker-archive or oci-archive; customs refuses ambiguous archives rather than guess.',
  });
}

function unsafePath(what: string, untrustedName: string): CustomsError {
  return new CustomsError('UNSAFE_PATH', `archive: ${what}: ${JSON.stringify(untrustedName.slice(0, 200))}`, {
    details: { name: untrustedName.slice(0, 200) },
    hint: 'Archive member names must be relative paths inside the archive; this one tries to point elsewhere (CVE-2014-9358 style).',
  });
}

/**
 * Canonical form of an untrusted member name (from a tar header or from manifest.json): one leading `./` and a
 * trailing `/` are dropped; absolute names, `..`, `.` and empty components are refused (UNSAFE_PATH), as are
 * names over MAX_MEMBER_NAME_BYTES (LIMIT_EXCEEDED) and NUL or backslash characters.
 */
export function canonicalMemberName(untrustedName: string): string {
  if (Buffer.byteLength(untrustedName) > MAX_MEMBER_NAME_BYTES) {
    throw new CustomsError('LIMIT_EXCEEDED', `archive: member name longer than ${MAX_MEMBER_NAME_BYTES} bytes`);
  }
  if (untrustedName.startsWith('/')) throw unsafePath('absolute member name', untrustedName);
  let name = untrustedName.startsWith('./') ? untrustedName.slice(2) : untrustedName;
  if (name.endsWith('/')) name = name.slice(0, -1);
  if (name === '' || name.includes('\0') || name.includes('\\')) throw unsafePath('invalid member name', untrustedName);
  for (const part of name.split('/')) {
    if (part === '..') throw unsafePath('member name with ".."', untrustedName);
    if (part === '' || part === '.') throw unsafePath('non-canonical member name', untrustedName);
  }
  return name;
}

/**
 * The member a symbolic link member names: `untrustedTarget` taken relative to the link's directory, lexically.
 * Absolute targets and targets that climb out of the archive root are refused (UNSAFE_PATH).
 */
export function resolveSymlinkTarget(linkName: string, untrustedTarget: string): string {
  if (untrustedTarget.startsWith('/') || untrustedTarget === '')
    throw unsafePath('symbolic link to an absolute or empty target', untrustedTarget);
  if (Buffer.byteLength(untrustedTarget) > MAX_MEMBER_NAME_BYTES) {
    throw new CustomsError('LIMIT_EXCEEDED', `archive: link target longer than ${MAX_MEMBER_NAME_BYTES} bytes`);
  }
  const parts = linkName.split('/').slice(0, -1);
  for (const part of untrustedTarget.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) throw unsafePath('symbolic link target outside the archive', untrustedTarget);
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return canonicalMemberName(parts.join('/'));
}

/**
 * The members of an archive file, by canonical name. Reads only headers (bodies are skipped by offset), so
 * indexing a multi-GB archive is cheap. Refuses (ARCHIVE_INVALID unless noted): non-tar input, bad checksums,
 * truncated headers or data, a missing end-of-archive marker, data after it; devices and FIFOs, and links
 * whose target is absolute, outside the archive, or not an earlier regular file member (UNSAFE_PATH); unsafe names (UNSAFE_PATH); duplicates (two members with one name: which one would a reader
 * take?); more than MAX_ARCHIVE_MEMBERS members (LIMIT_EXCEEDED); GNU long names and global PAX headers.
 */
export async function indexArchive(
  fh: FileHandle,
  fileSize: number,
  signal?: AbortSignal,
): Promise<Map<string, ArchiveMember>> {
  const members = new Map<string, ArchiveMember>();
  const block = Buffer.alloc(BLOCK);
  const readAt = async (buf: Buffer, pos: number, what: string): Promise<void> => {
    if (pos + buf.length > fileSize) throw archiveInvalid(`truncated ${what} at offset ${pos}`);
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, pos + off);
      if (bytesRead === 0) throw archiveInvalid(`truncated ${what} at offset ${pos}`);
      off += bytesRead;
    }
  };
  if (fileSize === 0) throw archiveInvalid('empty file: not a tar archive');
  let pos = 0;
  let pax: PaxOverrides | undefined;
  for (;;) {
    signal?.throwIfAborted();
    if (pos + BLOCK > fileSize) {
      throw archiveInvalid(
        pos === fileSize ? 'missing end-of-archive marker: truncated archive' : `truncated header at offset ${pos}`,
      );
    }
    await readAt(block, pos, 'header');
    if (isZeroBlock(block)) {
      if (pax !== undefined) throw archiveInvalid('PAX header not followed by an entry');
      // End of archive: everything after must be zero padding (a second archive appended is a differential).
      const rest = Buffer.alloc(64 * KiB);
      for (let p = pos + BLOCK; p < fileSize; p += rest.length) {
        const n = Math.min(rest.length, fileSize - p);
        const view = rest.subarray(0, n);
        await readAt(view, p, 'trailer');
        if (!isZeroBlock(view)) throw archiveInvalid('data after the end-of-archive marker');
      }
      return members;
    }
    const flavour = checkHeader(block);
    const flag = String.fromCharCode(block[156] as number);
    const headerSize = parseNumeric(block, 124, 12, 'size');
    const dataOffset = pos + BLOCK;
    if (flag === 'x') {
      if (pax !== undefined) throw archiveInvalid('two PAX headers for one entry');
      if (headerSize > MAX_PAX_HEADER_BYTES) {
        throw new CustomsError(
          'LIMIT_EXCEEDED',
          `archive: PAX header too large: expected at most ${MAX_PAX_HEADER_BYTES} bytes, got ${headerSize}`,
        );
      }
      const buf = Buffer.alloc(headerSize);
      await readAt(buf, dataOffset, 'PAX header');
      pax = parsePax(buf);
      pos = dataOffset + Math.ceil(headerSize / BLOCK) * BLOCK;
      continue;
    }
    let rawName = decodeName(cstring(block, 0, 100), 'name');
    if (flavour === 'ustar') {
      const prefix = decodeName(cstring(block, 345, 155), 'prefix');
      if (prefix !== '') rawName = `${prefix}/${rawName}`;
    }
    const untrustedName = pax?.path ?? rawName;
    const untrustedLinkname = pax?.linkpath ?? decodeName(cstring(block, 157, 100), 'linkname');
    const size = pax?.size ?? headerSize;
    pax = undefined;
    let type: 'file' | 'dir' | 'link';
    let target: string | undefined;
    switch (flag) {
      case '0':
      case '\0':
        type = 'file';
        break;
      case '5':
        type = 'dir';
        break;
      case '1':
      case '2': {
        // Links are aliases of other members, resolved lexically inside the archive and never on a filesystem:
        // following a link out of the extraction root is how archive loads escaped (CVE-2014-9356).
        type = 'link';
        const linkName = canonicalMemberName(untrustedName);
        target =
          flag === '1' ? canonicalMemberName(untrustedLinkname) : resolveSymlinkTarget(linkName, untrustedLinkname);
        const resolved = members.get(target);
        if (resolved?.type !== 'file') {
          throw unsafePath(
            `link member ${JSON.stringify(linkName.slice(0, 200))} must point at an earlier regular file member, points at`,
            untrustedLinkname,
          );
        }
        break;
      }
      case '3':
      case '4':
      case '6':
        throw unsafePath('device or FIFO member refused', untrustedName);
      default:
        throw archiveInvalid(`unsupported typeflag ${JSON.stringify(flag)}`, { typeflag: flag });
    }
    if (type !== 'file' && size !== 0) throw archiveInvalid(`${type} member with a non-zero size`);
    if (untrustedName.endsWith('/') && type === 'file')
      throw unsafePath('file member named like a directory', untrustedName);
    const name = canonicalMemberName(untrustedName);
    if (members.has(name)) throw archiveInvalid(`duplicate member ${JSON.stringify(name.slice(0, 200))}`);
    if (members.size >= MAX_ARCHIVE_MEMBERS) {
      throw new CustomsError('LIMIT_EXCEEDED', `archive: more than ${MAX_ARCHIVE_MEMBERS} members`);
    }
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (dataOffset + padded > fileSize)
      throw archiveInvalid(`truncated data of member ${JSON.stringify(name.slice(0, 200))}`);
    members.set(name, { name, type, size, offset: dataOffset, ...(target === undefined ? {} : { target }) });
    pos = dataOffset + padded;
  }
}

/** A member's bytes as a stream of at most READ_CHUNK_BYTES chunks (for ingest, which re-hashes them). */
async function* memberBytes(fh: FileHandle, m: ArchiveMember, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  let done = 0;
  while (done < m.size) {
    signal?.throwIfAborted();
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, m.size - done));
    const { bytesRead } = await fh.read(buf, 0, buf.length, m.offset + done);
    if (bytesRead === 0) throw archiveInvalid(`truncated data of member ${JSON.stringify(m.name)}`);
    done += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

async function readMember(fh: FileHandle, m: ArchiveMember, maxBytes: number): Promise<Buffer> {
  if (m.size > maxBytes) {
    throw mismatch(
      'TOO_LARGE',
      `archive: ${m.name}`,
      'member too large',
      `at most ${maxBytes} bytes`,
      `${m.size} bytes`,
    );
  }
  const chunks: Uint8Array[] = [];
  for await (const c of memberBytes(fh, m)) chunks.push(c);
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------------------------
// What a load will write, verified before anything is ingested where possible.

interface BlobToIngest {
  readonly descriptor: Descriptor;
  readonly member: ArchiveMember;
  /** Verified bytes already in memory (configs), or undefined to stream from the archive (layers). */
  readonly bytes?: Buffer;
  /** Extra context for a digest mismatch. */
  readonly mismatchHint?: string;
}

interface LoadPlan {
  readonly format: LoadFormat;
  /** Configs and layers, in order. */
  readonly blobs: BlobToIngest[];
  /** Manifests and indexes with their bytes, children before parents. */
  readonly documents: { descriptor: Descriptor; bytes: Buffer }[];
  /** What to tag: names are validated fully qualified references. */
  readonly images: { names: string[]; descriptor: Descriptor }[];
}

function memberOrFail(members: ReadonlyMap<string, ArchiveMember>, untrustedName: string, what: string): ArchiveMember {
  const name = canonicalMemberName(untrustedName);
  let m = members.get(name);
  // One alias hop at most: indexArchive only admits links whose target is a regular file member.
  if (m?.type === 'link' && m.target !== undefined) m = members.get(m.target);
  if (m === undefined)
    throw archiveInvalid(`${what} ${JSON.stringify(name.slice(0, 200))} is not a member of the archive`);
  if (m.type !== 'file') throw archiveInvalid(`${what} ${JSON.stringify(name.slice(0, 200))} is not a regular file`);
  return m;
}

function sha(alg: string, bytes: Uint8Array): string {
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}

/** Throw DIGEST_MISMATCH / SIZE_MISMATCH unless `bytes` are exactly `desc`. */
function assertBytesMatch(desc: Pick<Descriptor, 'digest' | 'size'>, bytes: Uint8Array, subject: string): void {
  if (bytes.length !== desc.size) throw mismatch('SIZE_MISMATCH', subject, 'size', desc.size, bytes.length);
  const got = sha(digestAlgorithm(desc.digest), bytes);
  if (got !== desc.digest) throw mismatch('DIGEST_MISMATCH', subject, 'digest', desc.digest, got);
}

/** A name from the archive, accepted only when it is a fully qualified reference with a tag or digest. */
function qualifiedName(untrusted: string, where: string): string {
  let parsed;
  try {
    parsed = parseReference(untrusted);
  } catch (err) {
    if (err instanceof CustomsError) {
      throw new CustomsError(err.code, `${where}: ${err.message}`, {
        cause: err,
        hint: 'Pass --tag REGISTRY/REPO:TAG to name the image yourself.',
      });
    }
    throw err;
  }
  if (parsed.kind !== 'qualified') {
    throw new CustomsError(
      'SHORT_NAME_REFUSED',
      `${where}: short name refused: expected REGISTRY/REPO:TAG, got ${JSON.stringify(untrusted.slice(0, 200))}`,
      {
        hint: 'customs never guesses a registry (docker save writes short names such as busybox:latest). Pass --tag with the full name, e.g. --tag docker.io/library/busybox:latest.',
      },
    );
  }
  return formatReference(parsed.reference);
}

function userTag(untrusted: string): string {
  return qualifiedName(untrusted, '--tag');
}

// docker-archive ------------------------------------------------------------------------------------------------

interface DockerManifestEntry {
  readonly config: string;
  readonly repoTags: readonly string[];
  readonly layers: readonly string[];
}

function parseDockerManifestJson(bytes: Buffer): DockerManifestEntry[] {
  const subject = 'archive: manifest.json';
  const doc = parseStrictJsonBytes(bytes, subject);
  if (!Array.isArray(doc) || doc.length === 0) throw archiveInvalid('manifest.json: expected a non-empty array');
  if (doc.length > MAX_ARCHIVE_IMAGES) {
    throw new CustomsError('LIMIT_EXCEEDED', `${subject}: more than ${MAX_ARCHIVE_IMAGES} images`);
  }
  return doc.map((e: unknown, i) => {
    const at = `manifest.json[${i}]`;
    if (!isJsonObject(e)) throw archiveInvalid(`${at}: expected an object`);
    const { Config, RepoTags, Layers, LayerSources } = e;
    if (typeof Config !== 'string') throw archiveInvalid(`${at}.Config: expected a string`);
    if (!Array.isArray(Layers) || !Layers.every((l): l is string => typeof l === 'string')) {
      throw archiveInvalid(`${at}.Layers: expected an array of strings`);
    }
    if (Layers.length > MAX_IMAGE_LAYERS)
      throw new CustomsError('LIMIT_EXCEEDED', `${subject}: ${at}: more than ${MAX_IMAGE_LAYERS} layers`);
    if (
      RepoTags !== undefined &&
      RepoTags !== null &&
      (!Array.isArray(RepoTags) || !RepoTags.every((t): t is string => typeof t === 'string'))
    ) {
      throw archiveInvalid(`${at}.RepoTags: expected an array of strings`);
    }
    if (LayerSources !== undefined && LayerSources !== null) {
      // Foreign layers: their bytes are not in the archive and customs never fetches descriptor urls.
      throw new CustomsError(
        'MEDIA_TYPE_UNSUPPORTED',
        `${subject}: ${at}: LayerSources (foreign layers) are not supported`,
        {
          hint: 'customs never fetches foreign-layer urls; save an image without foreign layers.',
        },
      );
    }
    return { config: Config, repoTags: Array.isArray(RepoTags) ? RepoTags : [], layers: Layers };
  });
}

/** `<hex>.json` (docker save ≤ 24, skopeo) or `blobs/sha256/<hex>` (Docker 25): the config's own sha256. */
function configDigestFromName(name: string): Digest {
  const m = /^([0-9a-f]{64})\.json$/.exec(name) ?? /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
  if (m?.[1] === undefined) {
    throw archiveInvalid(
      `manifest.json: Config ${JSON.stringify(name.slice(0, 200))}: expected <sha256 hex>.json or blobs/sha256/<hex>, so that its name is its digest`,
    );
  }
  return parseDigest(`sha256:${m[1]}`, 'archive: config name', true);
}

async function planDockerArchive(
  fh: FileHandle,
  members: ReadonlyMap<string, ArchiveMember>,
  options: LoadOptions,
): Promise<LoadPlan> {
  const manifestMember = memberOrFail(members, 'manifest.json', 'manifest.json');
  if (manifestMember.size > MAX_ARCHIVE_METADATA_BYTES) {
    throw mismatch(
      'TOO_LARGE',
      'archive: manifest.json',
      'too large',
      `at most ${MAX_ARCHIVE_METADATA_BYTES} bytes`,
      `${manifestMember.size} bytes`,
    );
  }
  const entries = parseDockerManifestJson(await readMember(fh, manifestMember, MAX_ARCHIVE_METADATA_BYTES));
  if (options.tag !== undefined && entries.length !== 1) {
    throw new CustomsError('USAGE', `load: --tag names one image, but the archive holds ${entries.length}`);
  }
  // Names first: a load that would be refused for its names reads no layer.
  const names = entries.map((e, i) =>
    options.tag !== undefined
      ? [userTag(options.tag)]
      : e.repoTags.map((t, j) => qualifiedName(t, `archive: manifest.json[${i}].RepoTags[${j}]`)),
  );
  const plan: LoadPlan = { format: 'docker-archive', blobs: [], documents: [], images: [] };
  for (const [i, entry] of entries.entries()) {
    const imageNames = names[i] ?? [];
    if (imageNames.length === 0) {
      throw new CustomsError('USAGE', `archive: manifest.json[${i}]: image has no RepoTags`, {
        hint: 'Pass --tag REGISTRY/REPO:TAG to name it; customs does not keep untagged images.',
      });
    }
    const configMember = memberOrFail(members, entry.config, `manifest.json[${i}].Config`);
    const configDigest = configDigestFromName(configMember.name);
    const configBytes = await readMember(fh, configMember, MAX_CONFIG_BYTES);
    const configDesc: Descriptor = { mediaType: MediaTypes.ociConfig, digest: configDigest, size: configMember.size };
    assertBytesMatch(configDesc, configBytes, `archive: config ${configMember.name}`);
    const config = parseImageConfig(configBytes, `archive: config ${configMember.name}`, entry.layers.length);
    const layers: Descriptor[] = [];
    for (const [j, untrustedLayer] of entry.layers.entries()) {
      const member = memberOrFail(members, untrustedLayer, `manifest.json[${i}].Layers[${j}]`);
      const diffId = config.diffIds[j];
      if (diffId === undefined) throw archiveInvalid(`config ${configMember.name}: no diff_id for layer ${j}`); // parseImageConfig checked the count
      const desc: Descriptor = { mediaType: MediaTypes.ociLayer, digest: diffId, size: member.size };
      layers.push(desc);
      plan.blobs.push({
        descriptor: desc,
        member,
        mismatchHint:
          `Layer ${member.name} must be the uncompressed tar whose sha256 is rootfs.diff_ids[${j}]. ` +
          'A tampered layer fails this check; so does a compressed layer in a legacy docker-archive, which customs does not decompress outside the unpack worker (re-save it with docker save or skopeo, or export it as oci-archive).',
      });
    }
    plan.blobs.push({ descriptor: configDesc, member: configMember, bytes: configBytes });
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: configDesc.mediaType, digest: configDesc.digest, size: configDesc.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
    const descriptor: Descriptor = {
      mediaType: MediaTypes.ociManifest,
      digest: sha('sha256', bytes) as Digest,
      size: bytes.length,
    };
    plan.documents.push({ descriptor, bytes });
    plan.images.push({ names: imageNames, descriptor });
  }
  return plan;
}

// oci-archive ---------------------------------------------------------------------------------------------------

function blobMember(members: ReadonlyMap<string, ArchiveMember>, desc: Descriptor, subject: string): ArchiveMember {
  const name = `blobs/${digestAlgorithm(desc.digest)}/${digestHex(desc.digest)}`;
  const m = members.get(name);
  if (m?.type !== 'file') {
    throw archiveInvalid(`${subject}: blob ${desc.digest} is not in the archive`, { digest: desc.digest });
  }
  if (m.size !== desc.size) throw mismatch('SIZE_MISMATCH', `archive: ${name}`, 'size', desc.size, m.size);
  return m;
}

function imageNamesFromAnnotations(desc: Descriptor, i: number): string[] {
  const refName = desc.annotations?.[REF_NAME_ANNOTATION];
  const containerdName = desc.annotations?.[CONTAINERD_NAME_ANNOTATION];
  const where = `archive: index.json manifests[${i}]`;
  for (const candidate of [refName, containerdName]) {
    if (candidate === undefined) continue;
    let parsed;
    try {
      parsed = parseReference(candidate);
    } catch {
      continue;
    }
    if (parsed.kind === 'qualified') return [formatReference(parsed.reference)];
  }
  throw new CustomsError(
    'SHORT_NAME_REFUSED',
    `${where}: no fully qualified name: ref.name is ${JSON.stringify((refName ?? '(none)').slice(0, 200))}`,
    {
      hint: 'Pass --tag REGISTRY/REPO:TAG to name the image; customs never guesses a registry.',
    },
  );
}

async function planOciArchive(
  fh: FileHandle,
  members: ReadonlyMap<string, ArchiveMember>,
  options: LoadOptions,
): Promise<LoadPlan> {
  const layoutBytes = await readMember(
    fh,
    memberOrFail(members, 'oci-layout', 'oci-layout'),
    MAX_ARCHIVE_METADATA_BYTES,
  );
  const layout = parseStrictJsonBytes(layoutBytes, 'archive: oci-layout');
  if (
    !isJsonObject(layout) ||
    typeof layout.imageLayoutVersion !== 'string' ||
    !/^1\.[0-9]+\.[0-9]+$/.test(layout.imageLayoutVersion)
  ) {
    throw archiveInvalid('oci-layout: expected {"imageLayoutVersion": "1.x.y"}');
  }
  const indexMember = memberOrFail(members, 'index.json', 'index.json');
  if (indexMember.size > MAX_ARCHIVE_METADATA_BYTES) {
    throw mismatch(
      'TOO_LARGE',
      'archive: index.json',
      'too large',
      `at most ${MAX_ARCHIVE_METADATA_BYTES} bytes`,
      `${indexMember.size} bytes`,
    );
  }
  const index = parseManifest(await readMember(fh, indexMember, MAX_ARCHIVE_METADATA_BYTES), {
    subject: 'archive: index.json',
  });
  if (index.kind !== 'index') throw archiveInvalid('index.json: expected an image index');
  if (index.manifests.length === 0) throw archiveInvalid('index.json: no images');
  if (index.manifests.length > MAX_ARCHIVE_IMAGES)
    throw new CustomsError('LIMIT_EXCEEDED', `archive: index.json: more than ${MAX_ARCHIVE_IMAGES} images`);
  if (options.tag !== undefined && index.manifests.length !== 1) {
    throw new CustomsError('USAGE', `load: --tag names one image, but the archive holds ${index.manifests.length}`);
  }
  const names = index.manifests.map((d, i) =>
    options.tag !== undefined ? [userTag(options.tag)] : imageNamesFromAnnotations(d, i),
  );

  const plan: LoadPlan = { format: 'oci-archive', blobs: [], documents: [], images: [] };
  const planned = new Set<Digest>();
  const walk = async (desc: Descriptor, depth: number, subject: string): Promise<void> => {
    if (!MANIFEST_MEDIA_TYPES.includes(desc.mediaType)) {
      throw mismatch(
        'MEDIA_TYPE_UNSUPPORTED',
        subject,
        'media type',
        MANIFEST_MEDIA_TYPES.join(' or '),
        desc.mediaType,
      );
    }
    const member = blobMember(members, desc, subject);
    const bytes = await readMember(fh, member, MAX_MANIFEST_BYTES);
    // The blob's name is its digest: verify before parsing, as pull does for registry manifests.
    assertBytesMatch(desc, bytes, `archive: ${member.name}`);
    const doc = parseManifest(bytes, { descriptorMediaType: desc.mediaType, subject: `archive: ${member.name}` });
    if (doc.kind === 'index') {
      if (depth >= MAX_LOAD_INDEX_DEPTH)
        throw archiveInvalid(`${subject}: indexes nested deeper than ${MAX_LOAD_INDEX_DEPTH} levels`);
      for (const [i, child] of doc.manifests.entries()) await walk(child, depth + 1, `${member.name} manifests[${i}]`);
    } else {
      await planImage(doc, member.name);
    }
    if (!planned.has(desc.digest)) {
      planned.add(desc.digest);
      plan.documents.push({ descriptor: { mediaType: doc.mediaType, digest: desc.digest, size: desc.size }, bytes });
    }
  };
  const planImage = async (manifest: ImageManifest, subject: string): Promise<void> => {
    const configMember = blobMember(members, manifest.config, `${subject}: config`);
    let configBytes: Buffer | undefined;
    if (manifest.config.mediaType === MediaTypes.ociConfig || manifest.config.mediaType === MediaTypes.dockerConfig) {
      configBytes = await readMember(fh, configMember, MAX_CONFIG_BYTES);
      assertBytesMatch(manifest.config, configBytes, `archive: ${configMember.name}`);
      parseImageConfig(configBytes, `archive: config ${configMember.name}`, manifest.layers.length);
    }
    for (const [i, layer] of manifest.layers.entries()) {
      // Foreign layers with `urls` must be in the archive too: customs never fetches them.
      const member = blobMember(members, layer, `${subject}: layers[${i}]`);
      if (!planned.has(layer.digest)) {
        planned.add(layer.digest);
        plan.blobs.push({ descriptor: layer, member });
      }
    }
    if (!planned.has(manifest.config.digest)) {
      planned.add(manifest.config.digest);
      plan.blobs.push({
        descriptor: manifest.config,
        member: configMember,
        ...(configBytes === undefined ? {} : { bytes: configBytes }),
      });
    }
  };
  for (const [i, desc] of index.manifests.entries()) {
    await walk(desc, 0, `index.json manifests[${i}]`);
    plan.images.push({
      names: names[i] ?? [],
      descriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
    });
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Load the archive at `file` into `store`. All-or-nothing: every blob is verified by ingest before it is
 * referenced, names are tagged last, and on any failure the blobs this load added are discarded and names it
 * re-pointed are restored.
 */
export async function loadArchiveInto(
  store: ContentStore,
  file: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const { signal } = options;
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new CustomsError('USAGE', `load: cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new CustomsError('USAGE', `load: ${file}: expected a regular file`);
    const members = await indexArchive(fh, st.size, signal);
    // Structure decides the format, never the bytes: an OCI layout (possibly also carrying Docker's
    // manifest.json, as Docker 25 and customs write) is read through its index, which has media types.
    const isOci = members.has('oci-layout') && members.has('index.json');
    if (!isOci && !members.has('manifest.json')) {
      throw archiveInvalid('neither an OCI layout (oci-layout, index.json) nor a docker-archive (manifest.json)');
    }
    const plan = isOci ? await planOciArchive(fh, members, options) : await planDockerArchive(fh, members, options);
    if (options.preflight !== undefined) for (const image of plan.images) image.names.forEach(options.preflight);
    return await commit(store, fh, plan, signal, options.gate);
  } finally {
    await fh.close();
  }
}

async function commit(
  store: ContentStore,
  fh: FileHandle,
  plan: LoadPlan,
  signal?: AbortSignal,
  gate?: LoadOptions['gate'],
): Promise<LoadResult> {
  const added: Digest[] = [];
  let present = 0;
  const restore: { name: string; previous: Descriptor | undefined }[] = [];
  try {
    for (const blob of plan.blobs) {
      signal?.throwIfAborted();
      if (await store.has(blob.descriptor)) {
        present++;
        continue;
      }
      try {
        if (blob.bytes !== undefined) await store.ingestBytes(blob.descriptor, blob.bytes);
        else
          await store.ingest(
            blob.descriptor,
            memberBytes(fh, blob.member, signal),
            signal === undefined ? {} : { signal },
          );
      } catch (err) {
        if (err instanceof CustomsError && err.code === 'DIGEST_MISMATCH' && blob.mismatchHint !== undefined) {
          throw new CustomsError('DIGEST_MISMATCH', `archive: ${blob.member.name}: ${err.message}`, {
            cause: err,
            hint: blob.mismatchHint,
            details: err.details,
          });
        }
        throw err;
      }
      added.push(blob.descriptor.digest);
    }
    for (const doc of plan.documents) {
      if (await store.has(doc.descriptor)) {
        present++;
        continue;
      }
      await store.ingestBytes(doc.descriptor, doc.bytes);
      added.push(doc.descriptor.digest);
    }
    // Policy last, on verified content, for every name before the first tag: one refused name refuses the load.
    if (gate !== undefined) {
      for (const image of plan.images) for (const name of image.names) await gate(name, image.descriptor, signal);
    }
    for (const image of plan.images) {
      for (const name of image.names) {
        restore.push({ name, previous: await store.resolve(name) });
        await store.tag(name, image.descriptor);
      }
    }
  } catch (err) {
    // Best effort, newest first: put back what the names pointed at, then drop what this load added.
    for (const { name, previous } of restore.reverse()) {
      await (previous === undefined ? store.untag(name) : store.tag(name, previous)).catch(() => undefined);
    }
    await store.discard(added).catch(() => undefined);
    throw err;
  }
  return { format: plan.format, images: plan.images, blobsAdded: added.length, blobsPresent: present };
}

/**
 * The `customs load` verb: load `file` into the context's store (created if absent), under the policy.
 *
 * Every name the archive (or `--tag`) would tag is a policy subject, as for pull: before anything is read into
 * the store, no policy file (7), a look-alike name (3) or a rejecting scope (7) refuses the load; once the
 * blobs are verified and stored, the signatures the scope asks for are checked over the manifest digest the
 * archive's index names (computed by ingest, never taken from the archive's word), and a denial (6) discards
 * what the load added and tags nothing. `--insecure-policy` checks nothing.
 *
 * Where signatures come from (what works offline): GPG simple signatures from the registries.d lookaside for the
 * name — a `file://` lookaside is read from disk and needs no network; when no lookaside is configured, the
 * registry's signature extension is asked. cosign signatures, sigstore bundles and Notary metadata live in the
 * registry (or Notary server) the name points at: checking them needs that registry to be reachable, and an
 * unreachable one is a network error (4), never an allowance.
 */
export async function loadArchive(ctx: Context, file: string, options: LoadOptions = {}): Promise<LoadResult> {
  const { signal } = options;
  const policy = await policyFor(ctx, signal);
  const { store, undoCreate } = await openWritableStore(ctx);
  try {
    return await loadArchiveUnderPolicy(ctx, store, file, policy, options);
  } catch (err) {
    await undoCreate();
    throw err;
  }
}

async function loadArchiveUnderPolicy(
  ctx: Context,
  store: ContentStore,
  file: string,
  policy: Policy | undefined,
  options: LoadOptions,
): Promise<LoadResult> {
  if (policy === undefined) return loadArchiveInto(store, resolvePath(file), options);
  const sets = new Map<string, { ref: Reference; set: RequirementSet }>();
  let registriesD: RegistriesD | undefined;
  let client: RegistryClient | undefined;
  try {
    return await loadArchiveInto(store, resolvePath(file), {
      ...options,
      preflight: (name) => {
        const ref = resolveName(name, ctx.registriesConf);
        assertNotBlocked(ctx.registriesConf, ref);
        const set = preflight(policy, ref, ctx.registriesConf);
        if (set !== undefined) sets.set(name, { ref, set });
      },
      gate: async (name, descriptor, gateSignal) => {
        const entry = sets.get(name);
        if (entry === undefined) throw new CustomsError('POLICY_INVALID', `load: ${name}: no policy decision`); // impossible
        const { ref, set } = entry;
        if (signatureChecks(set).length > 0) registriesD ??= await registriesDFor(ctx, gateSignal);
        const location = rewriteToLocation(ctx.registriesConf, ref);
        client ??= registryClientFor(ctx);
        const decision = await checkSignatures({
          client,
          set,
          ref,
          fetchRef: { registry: location.registry, repository: location.repository },
          manifestDigest: descriptor.digest,
          registriesD: registriesD ?? EMPTY_REGISTRIES_D,
          lookasideFirst: true,
          signal: gateSignal,
        });
        if (!decision.allowed) throw decisionError(decision);
      },
    });
  } finally {
    await client?.close();
  }
}
