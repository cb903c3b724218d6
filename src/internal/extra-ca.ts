/**
 * The extra CA certificates a user names with NODE_EXTRA_CA_CERTS, trusted as Node trusts them (in addition to
 * its bundled roots), but read only when customs opens a TLS connection.
 *
 * Why not leave it to Node: Node 20 reads the file while it starts, and builds its whole root store with it
 * (~140 bundled roots plus the file), before any JavaScript runs. That was ~37 ms of every command on a machine
 * that sets the variable, a sixth of a pull from a local registry, for certificates only TLS uses. The `customs`
 * command (bin/customs) therefore passes the file name on as CUSTOMS_EXTRA_CA_CERTS and unsets
 * NODE_EXTRA_CA_CERTS; this module puts the file back into every trust decision customs makes with the default
 * roots, and into the environment of the programs customs starts.
 *
 * Run as `node dist/bundle/customs.js` with NODE_EXTRA_CA_CERTS set, Node's own default store already holds the
 * file: only the explicit root lists (certs.d CAs widened with the roots) take it from here.
 */
import type { SecureContext } from 'node:tls';
import { CustomsError } from '../errors.js';
import { readRegularFileSync } from './read-file.js';
import { MiB } from './units.js';

/** Set by bin/customs: the file NODE_EXTRA_CA_CERTS named, which Node itself was not given. */
export const CUSTOMS_EXTRA_CA_CERTS = 'CUSTOMS_EXTRA_CA_CERTS';
export const NODE_EXTRA_CA_CERTS = 'NODE_EXTRA_CA_CERTS';

/** A CA bundle is a few hundred KiB (Debian's ca-certificates.crt ~200 KiB); more is not a CA bundle. */
const MAX_EXTRA_CA_FILE_BYTES = 16 * MiB;

type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value; empty counts as unset, as Node treats an empty NODE_EXTRA_CA_CERTS. */
function setIn(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === '' ? undefined : value;
}

/** The extra CA file in effect, if any: the one bin/customs moved aside, else the one Node was given. */
export function extraCaFile(env: Env = process.env): string | undefined {
  return setIn(env, CUSTOMS_EXTRA_CA_CERTS) ?? setIn(env, NODE_EXTRA_CA_CERTS);
}

/**
 * The environment for a program customs starts (a credential helper may itself be a Node program reaching an
 * HTTPS API): NODE_EXTRA_CA_CERTS as the user set it, customs' own name for it gone.
 */
export function withNodeExtraCaCerts(env: Env): Record<string, string | undefined> {
  const { [CUSTOMS_EXTRA_CA_CERTS]: _moved, ...out } = env;
  const moved = setIn(env, CUSTOMS_EXTRA_CA_CERTS);
  return moved !== undefined && setIn(env, NODE_EXTRA_CA_CERTS) === undefined
    ? { ...out, [NODE_EXTRA_CA_CERTS]: moved }
    : out;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The certificates (PEM) in the extra CA file. Like Node, a file that cannot be read, or holds no certificate,
 * is reported as a process warning and ignored: the bundled roots still apply, nothing is trusted that would not
 * be without the variable.
 */
export function extraCaCertificates(file: string): string[] {
  let text: string;
  try {
    text = readRegularFileSync(file, {
      maxBytes: MAX_EXTRA_CA_FILE_BYTES,
      notRegular: () => new Error('not a regular file'),
      tooLarge: (size) => new Error(`${size ?? `over ${MAX_EXTRA_CA_FILE_BYTES}`} bytes, not a CA bundle`),
    }).toString('latin1');
  } catch (err) {
    warnIgnored(file, err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err));
    return [];
  }
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) warnIgnored(file, 'no PEM certificate in it');
  return pems;
}

function warnIgnored(file: string, why: string): void {
  // Node's own words for the same case (src/crypto/crypto_context.cc), so a user sees one message either way.
  process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${why}`);
}

/** A certificate's PEM without its line breaks: the same certificate, however the file wrapped it. */
function pemKey(pem: string): string {
  return pem.replace(/\s+/g, '');
}

let roots: Promise<readonly string[]> | undefined;

/** Node's bundled roots plus the extra CA file's certificates: the default trust, as an explicit `ca` list. */
export function systemRoots(): Promise<readonly string[]> {
  roots ??= (async () => {
    const { rootCertificates } = await import('node:tls');
    const file = extraCaFile();
    if (file === undefined) return rootCertificates;
    // Each PEM in a `ca` list is parsed again when a context is made (~0.15 ms a certificate). An extra file is
    // often the system bundle, which repeats most of Node's roots (Debian's: 122 of 144): add only the others.
    const known = new Set(rootCertificates.map(pemKey));
    const others = extraCaCertificates(file).filter((pem) => !known.has(pemKey(pem)));
    // A block that is not a certificate would make every context built with it fail: like Node, leave it out
    // with a warning (leaving a certificate out never trusts more).
    const { X509Certificate } = await import('node:crypto');
    const usable = others.filter((pem) => {
      try {
        new X509Certificate(pem);
        return true;
      } catch (err) {
        warnIgnored(file, `a PEM block is not a certificate (${(err as NodeJS.ErrnoException).code ?? 'unparsable'})`);
        return false;
      }
    });
    return [...rootCertificates, ...usable];
  })();
  return roots;
}

/** True when bin/customs kept the extra CA file from Node: Node's default store then lacks it. */
export function nodeDefaultLacksExtraCas(env: Env = process.env): boolean {
  return setIn(env, CUSTOMS_EXTRA_CA_CERTS) !== undefined && setIn(env, NODE_EXTRA_CA_CERTS) === undefined;
}

let defaultContext: Promise<SecureContext | undefined> | undefined;

/**
 * The SecureContext for a TLS connection that trusts the default roots, or undefined when Node's own default is
 * exactly that (no extra file, or Node was given it itself). Built once, on the first TLS connection that needs
 * it. Its cost is Node's: the first SecureContext of a process builds Node's root store (~22 ms, even for a
 * context given only a `ca` list), and every PEM in the list is parsed again (~0.15 ms each).
 */
export function defaultSecureContext(): Promise<SecureContext | undefined> {
  if (!nodeDefaultLacksExtraCas()) return Promise.resolve(undefined);
  defaultContext ??= (async () => {
    const [{ createSecureContext }, ca] = await Promise.all([import('node:tls'), systemRoots()]);
    try {
      return createSecureContext({ ca: [...ca] });
    } catch (err) {
      throw new CustomsError(
        'CONFIG_INVALID',
        `NODE_EXTRA_CA_CERTS ${extraCaFile() ?? ''}: the trust store cannot be built: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, hint: 'Fix the file (PEM certificates only) or unset NODE_EXTRA_CA_CERTS.' },
      );
    }
  })();
  defaultContext.catch(() => (defaultContext = undefined));
  return defaultContext;
}
