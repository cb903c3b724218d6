/**
 * Push-side helpers for the registry client (distribution-spec "Push"): the push token scope, the upload
 * location a registry hands back (attacker-controlled: it must stay on the registry's origin), and the
 * `X-Registry-Supports-Signatures` extension's signature list. Pure; the requests live in client.ts.
 */
import { CustomsError } from '../errors.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import { sanitizeForDisplay } from '../internal/redact.js';
import { KiB, MiB } from '../internal/units.js';
import { pullScope } from './auth/index.js';

/** customs pushes only signatures and their small manifests, from memory; nothing near this size is one. */
export const MAX_PUSH_BYTES = 4 * MiB;
/** The extension's JSON list of signatures: a few entries of ≤ 64 KiB base64 each. */
export const MAX_EXTENSION_SIGNATURE_LIST_BYTES = 4 * MiB;
/** More signatures than this on one image is not a signer's doing; bounds verification work. */
export const MAX_EXTENSION_SIGNATURES = 16;
/** A GPG simple signature is < 1 KiB; the same cap as lookaside `signature-N` files. */
export const MAX_EXTENSION_SIGNATURE_BYTES = 64 * KiB;

/** `repository:NAME:pull,push` (distribution auth scope grammar); validates NAME like pullScope. */
export function pushScope(repository: string): string {
  return `${pullScope(repository)},push`;
}

/**
 * The URL to PUT a monolithic upload to: the registry's `Location` (relative or absolute) resolved against
 * the POST's URL, with `digest=` added. Refuses (REDIRECT_REFUSED) a location on another origin: the PUT
 * carries our credentials and our bytes, and only the registry itself may receive them.
 */
export function uploadLocation(
  untrustedLocation: string | undefined,
  requestUrl: URL,
  registryOrigin: URL,
  digest: string,
  subject: string,
): URL {
  if (untrustedLocation === undefined || untrustedLocation.trim() === '') {
    throw new CustomsError('HTTP_STATUS', `${subject}: upload: expected a Location header, got none`);
  }
  let url: URL;
  try {
    url = new URL(untrustedLocation.trim(), requestUrl);
  } catch (err) {
    throw new CustomsError(
      'HTTP_STATUS',
      `${subject}: upload: expected a URL in Location, got ${JSON.stringify(sanitizeForDisplay(untrustedLocation, 120))}`,
      { cause: err },
    );
  }
  if (url.origin !== registryOrigin.origin) {
    throw new CustomsError(
      'REDIRECT_REFUSED',
      `${subject}: upload location: expected the registry's origin ${registryOrigin.origin}, got ${url.origin}`,
      { hint: 'The registry told customs to upload elsewhere; customs pushes only to the registry itself.' },
    );
  }
  url.searchParams.set('digest', digest);
  return url;
}

/**
 * Parse the extension's `{"signatures": [{"version": 2, "type": "atomic", "name": …, "content": base64}]}`
 * (containers/image docker/docker_client.go). Returns the decoded `atomic` signatures, in order; entries of
 * other types are ignored as containers/image does. Throws SIGNATURE_INVALID for anything malformed.
 */
export function parseExtensionSignatures(untrustedBytes: Uint8Array, subject: string): Buffer[] {
  const fail = (what: string): CustomsError => new CustomsError('SIGNATURE_INVALID', `${subject}: ${what}`);
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(untrustedBytes, subject);
  } catch (err) {
    throw new CustomsError('SIGNATURE_INVALID', `${subject}: expected strict JSON`, { cause: err });
  }
  if (!isJsonObject(doc) || !Array.isArray(doc['signatures'])) throw fail('expected {"signatures": [...]}');
  const list = doc['signatures'] as unknown[];
  if (list.length > MAX_EXTENSION_SIGNATURES) {
    throw fail(`too many signatures: expected at most ${MAX_EXTENSION_SIGNATURES}, got ${list.length}`);
  }
  const out: Buffer[] = [];
  for (const [i, entry] of list.entries()) {
    if (!isJsonObject(entry)) throw fail(`signatures[${i}]: expected an object`);
    if (entry['type'] !== 'atomic') continue;
    const content = entry['content'];
    if (typeof content !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(content)) {
      throw fail(`signatures[${i}].content: expected base64`);
    }
    const bytes = Buffer.from(content, 'base64');
    if (bytes.length > MAX_EXTENSION_SIGNATURE_BYTES) {
      throw fail(
        `signatures[${i}]: too large: expected at most ${MAX_EXTENSION_SIGNATURE_BYTES} bytes, got ${bytes.length}`,
      );
    }
    out.push(bytes);
  }
  return out;
}
