/**
 * `index.json` of an image layout (image-spec image-layout.md "index.json file", image-index.md). customs
 * rewrites this file, and other tools (skopeo, umoci) write it too, so the document is kept as raw JSON and
 * only the entries customs changes are rebuilt: unknown fields and entries survive a round trip.
 */
import { CustomsError } from '../errors.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { MiB } from '../internal/units.js';
import { MediaTypes, parseDescriptor, type Descriptor } from '../oci/index.js';

/** image-spec annotations.md: the tag of an index.json entry. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** Far beyond any real store (an entry is ~300 bytes); stops a planted multi-GB index.json from filling memory. */
export const MAX_INDEX_BYTES = 64 * MiB;

/** One entry of index.json: the raw object as found, plus its validated view. */
export interface IndexEntry {
  readonly raw: Readonly<Record<string, unknown>>;
  readonly descriptor: Descriptor;
  readonly name: string | undefined;
}

export interface IndexDocument {
  /** The whole document as found; `manifests` is replaced by `entries` when serialised. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly entries: readonly IndexEntry[];
}

// image-spec annotations.md, org.opencontainers.image.ref.name grammar:
//   ref       ::= component ("/" component)*
//   component ::= alphanum (separator alphanum)*
//   alphanum  ::= [A-Za-z0-9]+
//   separator ::= [-._:@+] | "--"
// skopeo (containers/image oci/internal) and umoci refuse names outside it, so customs does too.
const REF_NAME = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;
/** Names longer than this are refused (no real reference comes close; keeps messages and files bounded). */
const MAX_REF_NAME_CHARS = 1024;

/** True when `name` may be used as an index.json ref name. */
export function isValidRefName(name: string): boolean {
  return name.length <= MAX_REF_NAME_CHARS && REF_NAME.test(name);
}

/** Throw USAGE unless `untrustedName` is a valid ref name. */
export function assertRefName(untrustedName: string): void {
  if (!isValidRefName(untrustedName)) {
    throw new CustomsError(
      'USAGE',
      `store: invalid tag name: expected an org.opencontainers.image.ref.name (components of [A-Za-z0-9] joined by - . _ : @ + -- or /), got ${JSON.stringify(untrustedName.slice(0, 200))}`,
      { hint: 'Use a reference such as registry.example/repo:tag.' },
    );
  }
}

export function emptyIndexDocument(): IndexDocument {
  return { raw: { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] }, entries: [] };
}

/**
 * Parse index.json. Refuses (STORE_CORRUPT) anything but a schemaVersion 2 OCI index whose `manifests` are all
 * valid descriptors; a bad entry is never skipped silently, since the next rewrite would lose it.
 */
export function parseIndexDocument(bytes: Uint8Array, path: string): IndexDocument {
  try {
    const doc = parseStrictJsonBytes(bytes, path);
    if (!isJsonObject(doc)) throw corrupt(path, 'expected a JSON object');
    if (doc.schemaVersion !== 2)
      throw corrupt(path, `unsupported schemaVersion: expected 2, got ${JSON.stringify(doc.schemaVersion) ?? 'none'}`);
    if (doc.mediaType !== undefined && doc.mediaType !== MediaTypes.ociIndex) {
      throw corrupt(path, `media type: expected ${MediaTypes.ociIndex}, got ${JSON.stringify(doc.mediaType)}`);
    }
    const manifests = doc.manifests ?? [];
    if (!Array.isArray(manifests)) throw corrupt(path, '"manifests" is not an array');
    const entries = manifests.map((m: unknown, i): IndexEntry => {
      const descriptor = parseDescriptor(m, `${path}: manifests[${i}]`);
      return { raw: m as Record<string, unknown>, descriptor, name: descriptor.annotations?.[REF_NAME_ANNOTATION] };
    });
    return { raw: doc, entries };
  } catch (err) {
    if (err instanceof CustomsError && err.code === 'STORE_CORRUPT') throw err;
    throw corrupt(path, err instanceof Error ? err.message : String(err), err);
  }
}

/** The document as bytes, unknown fields and untouched entries as they were. */
export function serializeIndexDocument(doc: IndexDocument): Buffer {
  return Buffer.from(JSON.stringify({ ...doc.raw, manifests: doc.entries.map((e) => e.raw) }), 'utf8');
}

/** The document with `name` pointing at `desc`: an existing entry of that name is replaced in place, others kept. */
export function withTag(doc: IndexDocument, name: string, desc: Descriptor): IndexDocument {
  const annotations = { ...(desc.annotations ?? {}), [REF_NAME_ANNOTATION]: name };
  const tagged: Descriptor = { ...desc, annotations };
  const entry: IndexEntry = { raw: descriptorToJson(tagged), descriptor: tagged, name };
  const at = doc.entries.findIndex((e) => e.name === name);
  const rest = doc.entries.filter((e) => e.name !== name);
  const entries = at === -1 ? [...rest, entry] : [...rest.slice(0, at), entry, ...rest.slice(at)];
  return { raw: doc.raw, entries };
}

/** The document without entries named `name`. */
export function withoutTag(doc: IndexDocument, name: string): IndexDocument {
  return { raw: doc.raw, entries: doc.entries.filter((e) => e.name !== name) };
}

/** A descriptor as plain JSON with only the fields it has (image-spec descriptor.md field order). */
export function descriptorToJson(d: Descriptor): Record<string, unknown> {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.urls === undefined ? {} : { urls: [...d.urls] }),
    ...(d.annotations === undefined ? {} : { annotations: { ...d.annotations } }),
    ...(d.platform === undefined ? {} : { platform: { ...d.platform } }),
    ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
  };
}

function corrupt(path: string, what: string, cause?: unknown): CustomsError {
  return new CustomsError('STORE_CORRUPT', `${path}: invalid image layout index: ${what}`, {
    hint: 'index.json was damaged or written by a tool that does not follow the OCI image layout; restore it from a backup or recreate the store.',
    ...(cause === undefined ? {} : { cause }),
  });
}
