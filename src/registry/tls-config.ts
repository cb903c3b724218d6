/**
 * Per-registry TLS material from certs.d directories (docker "Verify repository client certificates",
 * containers-certs.d(5)): in `<certsDir>/<host[:port]>/`, every `*.crt` is an extra CA certificate and every
 * `<name>.cert` + `<name>.key` pair is a client certificate and its key (`client.cert` + `client.key` by
 * convention).
 *
 * Extra CAs are added to the system roots (`tls.rootCertificates`), never replace them, and apply only to
 * connections to that registry host. The transport trusts the extra CAs alone first and adds the roots only when
 * a certificate does not chain to them (transport.ts): the ~140 roots in a `ca` list are parsed again, ~22 ms. A
 * `.cert` without its `.key` (or the reverse) is a configuration error, not silently ignored: a half-configured
 * client certificate would make customs connect as nobody.
 */
import { readdir, readFile } from '../internal/fsp.js';
import { join } from 'node:path';
import { CustomsError } from '../errors.js';
import { MiB } from '../internal/units.js';

/** Largest certificate or key file read; real ones are a few KiB, a bundle a few hundred. */
export const MAX_CERT_FILE_BYTES = 1 * MiB;

/** TLS material for one registry host, ready for `tls.connect` options. */
export interface RegistryTls {
  /**
   * The certs.d CAs (PEM), to be trusted in addition to the system roots; undefined when there are none (Node's
   * defaults apply).
   */
  readonly ca: readonly string[] | undefined;
  /** Client certificate chain (PEM), when configured. */
  readonly cert: string | undefined;
  /** Client private key (PEM), when configured. Never logged. */
  readonly key: string | undefined;
  /** Files the material came from, for messages. */
  readonly files: readonly string[];
}

/** The sorted names in a certs.d host directory, or undefined when there is none. */
async function listCertsDir(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CustomsError('CONFIG_INVALID', `certs.d: cannot read ${dir}: ${code ?? 'error'}`, { cause: err });
  }
}

/**
 * Read the certs.d material for `hostPort` (the registry as written in references: `host` or `host:port`)
 * from each of `certsDirs` in order. A missing directory contributes nothing; a broken one throws
 * CONFIG_INVALID naming the file. The first client pair found wins (docker's order).
 */
export async function loadRegistryTls(
  certsDirs: readonly string[],
  hostPort: string,
  signal?: AbortSignal,
): Promise<RegistryTls> {
  // A host name can never contain a path separator after ref parsing, but this is the last line before a
  // path join: refuse rather than trust it.
  if (hostPort === '' || hostPort.includes('/') || hostPort.includes('\\') || hostPort === '.' || hostPort === '..') {
    throw new CustomsError('CONFIG_INVALID', `certs.d: invalid registry host ${JSON.stringify(hostPort)}`);
  }
  const cas: string[] = [];
  const files: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  signal?.throwIfAborted();
  // Listed at once (each is usually a miss), then read in the order given: the first directory's files come first.
  const listings = await Promise.all(certsDirs.map((base) => listCertsDir(join(base, hostPort))));
  for (const [i, base] of certsDirs.entries()) {
    signal?.throwIfAborted();
    const dir = join(base, hostPort);
    const names = listings[i];
    if (names === undefined) continue;
    for (const name of names) {
      if (name.endsWith('.crt')) {
        cas.push(await readPem(join(dir, name), signal));
        files.push(join(dir, name));
      }
    }
    for (const name of names) {
      if (!name.endsWith('.cert')) continue;
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(keyName)) {
        throw new CustomsError('CONFIG_INVALID', `certs.d: ${join(dir, name)}: client certificate without ${keyName}`, {
          hint: 'Put the client key beside the certificate, or remove the certificate.',
        });
      }
      if (cert === undefined) {
        cert = await readPem(join(dir, name), signal);
        key = await readPem(join(dir, keyName), signal);
        files.push(join(dir, name), join(dir, keyName));
      }
    }
    for (const name of names) {
      if (!name.endsWith('.key')) continue;
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!names.includes(certName)) {
        throw new CustomsError('CONFIG_INVALID', `certs.d: ${join(dir, name)}: client key without ${certName}`, {
          hint: 'Put the client certificate beside the key, or remove the key.',
        });
      }
    }
  }
  return { ca: cas.length === 0 ? undefined : cas, cert, key, files };
}

async function readPem(path: string, signal?: AbortSignal): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(path, signal === undefined ? {} : { signal });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CustomsError('CONFIG_INVALID', `certs.d: cannot read ${path}: ${code ?? 'error'}`, { cause: err });
  }
  if (data.length > MAX_CERT_FILE_BYTES) {
    throw new CustomsError(
      'CONFIG_INVALID',
      `certs.d: ${path}: too large: expected at most ${MAX_CERT_FILE_BYTES} bytes, got ${data.length}`,
    );
  }
  const text = data.toString('utf8');
  if (!text.includes('-----BEGIN ')) {
    throw new CustomsError('CONFIG_INVALID', `certs.d: ${path}: not a PEM file`);
  }
  return text;
}
