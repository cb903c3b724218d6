/**
 * Signed checksum files (the Fedora / Red Hat workflow: download `*-CHECKSUM` or `SHA256SUMS`, check its GPG
 * signature, then check the archive's sha256 against it before loading it).
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import type * as openpgp from 'openpgp';
import { openpgpModule } from './lazy-modules.js';
import { CustomsError } from '../errors.js';
import { KiB, MiB } from '../internal/units.js';
import { invalid, missing, reasonOf, shown } from './failure.js';
import { readPublicKeys, requireOneValidSignature } from './openpgp-keys.js';

/** Real checksum files list a few hundred files; a larger one is not a checksum file. */
export const MAX_CHECKSUM_FILE_BYTES = 4 * MiB;
/** A detached signature is one packet of well under a KiB; room for armor and large RSA keys. */
export const MAX_DETACHED_SIGNATURE_BYTES = 64 * KiB;

const GNU_LINE = /^([0-9a-fA-F]{64}) [ *](.+)$/;
const BSD_LINE = /^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/;

/** The result of verifyChecksumFile. */
export interface VerifiedChecksum {
  /** Lowercase sha256 hex the signed file gives for `fileName` — equal to the given `fileDigestHex`. */
  readonly expectedHex: string;
  /** Uppercase fingerprint of the primary key that signed the checksum file. */
  readonly keyFingerprint: string;
}

/**
 * Parse verified checksum text into name → lowercase hex. GNU (`<hex>  name`, `<hex> *name`) and BSD
 * (`SHA256 (name) = <hex>`) lines; `#` comments and blank lines skipped; any other line refused (fail closed: a
 * line this parser misreads could hide the entry that matters). Names listed more than once are kept as a list.
 */
export function parseChecksumLines(text: string): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) return;
    const gnu = GNU_LINE.exec(line);
    const bsd = gnu === null ? BSD_LINE.exec(line) : null;
    let name: string | undefined;
    let hex: string | undefined;
    if (gnu !== null) [, hex, name] = gnu;
    else if (bsd !== null) [, name, hex] = bsd;
    if (name === undefined || hex === undefined || line.startsWith('\\')) {
      throw invalid(
        'checksum file',
        `line ${i + 1}: expected "<sha256>  NAME" or "SHA256 (NAME) = <sha256>", got ${shown(line, 120)}`,
      );
    }
    const list = entries.get(name) ?? [];
    list.push(hex.toLowerCase());
    entries.set(name, list);
  });
  return entries;
}

async function verifiedText(
  sums: Uint8Array,
  signature: Uint8Array | undefined,
  keys: openpgp.PublicKey[],
): Promise<{ text: string; keyFingerprint: string }> {
  const subject = 'checksum file signature';
  const sumsText = Buffer.from(sums).toString('utf8');
  if (signature === undefined) {
    if (!sumsText.includes('-----BEGIN PGP SIGNED MESSAGE-----')) {
      throw missing('checksum file', 'expected a clearsigned file or a detached signature, got an unsigned file', {
        hint: 'Pass the detached signature (e.g. SHA256SUMS.gpg) or the clearsigned CHECKSUM file.',
      });
    }
    let message: openpgp.CleartextMessage;
    try {
      message = await (await openpgpModule()).readCleartextMessage({ cleartextMessage: sumsText });
    } catch (err) {
      throw invalid(subject, `expected a clearsigned message, got: ${reasonOf(err)}`, { cause: err });
    }
    let result: openpgp.VerifyMessageResult<string>;
    try {
      result = await (await openpgpModule()).verify({ message, verificationKeys: keys });
    } catch (err) {
      throw invalid(subject, `expected a valid clearsigned message, got: ${reasonOf(err)}`, { cause: err });
    }
    const keyFingerprint = await requireOneValidSignature(result.signatures, keys, subject);
    // Only the signed text is used; anything outside the signed block is ignored by construction.
    return { text: result.data, keyFingerprint };
  }
  if (signature.byteLength === 0) throw missing(subject, 'expected a detached signature, got 0 bytes');
  if (signature.byteLength > MAX_DETACHED_SIGNATURE_BYTES) {
    throw invalid(
      subject,
      `too large: expected at most ${MAX_DETACHED_SIGNATURE_BYTES} bytes, got ${signature.byteLength}`,
    );
  }
  let sig: openpgp.Signature;
  try {
    const asText = Buffer.from(signature).toString('latin1');
    sig = asText.includes('-----BEGIN PGP SIGNATURE-----')
      ? await (await openpgpModule()).readSignature({ armoredSignature: asText })
      : await (await openpgpModule()).readSignature({ binarySignature: new Uint8Array(signature) });
  } catch (err) {
    throw invalid(subject, `expected an OpenPGP detached signature, got unreadable data: ${reasonOf(err)}`, {
      cause: err,
    });
  }
  let result: openpgp.VerifyMessageResult<Uint8Array>;
  try {
    const message = await (await openpgpModule()).createMessage({ binary: new Uint8Array(sums) });
    // openpgp's stream-generic overloads do not resolve under lib ES2023 without DOM; narrow at runtime instead.
    const untypedResult: unknown = await (
      await openpgpModule()
    ).verify({
      message,
      signature: sig,
      verificationKeys: keys,
      format: 'binary',
    });
    result = untypedResult as openpgp.VerifyMessageResult<Uint8Array>;
  } catch (err) {
    throw invalid(subject, `expected a valid detached signature, got: ${reasonOf(err)}`, { cause: err });
  }
  const keyFingerprint = await requireOneValidSignature(result.signatures, keys, subject);
  return { text: sumsText, keyFingerprint };
}

/**
 * Verify a GPG-signed checksum file and that it gives `fileDigestHex` for `fileName`: the file must be clearsigned
 * (or `signature` a detached signature over it), signed by exactly one key from `publicKeys`; `fileName` must be
 * listed exactly once in the signed text; its sha256 must equal `fileDigestHex`.
 *
 * Does NOT hash the file (see sha256File), does NOT trust anything outside the signed text, and does NOT decide
 * whether the key is trusted for this archive beyond membership in `publicKeys`. Throws SIGNATURE_MISSING when
 * unsigned, SIGNATURE_INVALID otherwise (including a digest mismatch: the signed statement does not cover the file).
 */
export async function verifyChecksumFile(input: {
  sums: Uint8Array;
  signature?: Uint8Array;
  publicKeys: Uint8Array | string;
  fileName: string;
  fileDigestHex: string;
}): Promise<VerifiedChecksum> {
  if (input.sums.byteLength > MAX_CHECKSUM_FILE_BYTES) {
    throw invalid(
      'checksum file',
      `too large: expected at most ${MAX_CHECKSUM_FILE_BYTES} bytes, got ${input.sums.byteLength}`,
    );
  }
  const want = input.fileDigestHex.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(want)) {
    throw new CustomsError('USAGE', `file digest: expected 64 hex characters, got ${shown(input.fileDigestHex)}`);
  }
  const keys = await readPublicKeys(input.publicKeys);
  const { text, keyFingerprint } = await verifiedText(input.sums, input.signature, keys);
  const entries = parseChecksumLines(text);
  const listed = entries.get(input.fileName) ?? [];
  if (listed.length !== 1) {
    throw invalid(
      'checksum file',
      `${shown(input.fileName)}: expected exactly 1 entry, got ${listed.length}`,
      listed.length === 0
        ? { hint: 'The checksum file does not cover this file name; check you have the right file.' }
        : {},
    );
  }
  const expectedHex = listed[0] ?? '';
  if (expectedHex !== want) {
    throw invalid('checksum file', `${shown(input.fileName)}: sha256 mismatch: expected ${expectedHex}, got ${want}`, {
      details: { expected: expectedHex, got: want, keyFingerprint },
    });
  }
  return { expectedHex, keyFingerprint };
}

/** Lowercase sha256 hex of a file's contents, streamed. Honours `signal`. fs errors propagate untranslated. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(path, signal === undefined ? {} : { signal });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
