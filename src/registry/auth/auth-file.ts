/**
 * containers-auth.json(5) and docker config.json credential files: reading entries, and writing customs's own
 * `auth.json` for `customs login` / `customs logout`.
 *
 * File shape: `{"auths": {KEY: ENTRY}, "credHelpers": {KEY: NAME}, "credsStore": NAME}`. KEY is `host`,
 * `host:port`, a legacy URL (`https://index.docker.io/v1/`) or, in containers files, a repository prefix
 * (`host/namespace/repo`). ENTRY is `{"auth": base64("user:pass")}`, `{"username","password"}` and/or
 * `{"identitytoken"}`. The files hold secrets, so errors name the file and the key, never a value, and never
 * carry the JSON parser's message (V8 quotes the input).
 */
import { constants } from 'node:fs';
import { mkdir, open, stat, unlink } from '../../internal/fsp.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomsError, isCustomsError } from '../../errors.js';
import { writeFileAtomic } from '../../internal/atomic.js';
import { isJsonObject, parseStrictJsonBytes } from '../../internal/json.js';
import { readCapped } from '../../internal/limit.js';
import { MiB } from '../../internal/units.js';
import { dockerServerUrl, getFromCredentialHelper, type Env, DOCKER_HUB_HOSTS } from './credential-helper.js';
import { BasicCredential, IdentityTokenCredential, type Credential, type CredentialSource } from './credentials.js';

/** Largest credential file read. Real ones are a few KiB; the cap stops a FIFO or /dev/zero symlink hanging us. */
export const MAX_AUTH_FILE_BYTES = 1 * MiB;
/** Name of customs's own credential file inside its config directory. */
export const AUTH_FILE_NAME = 'auth.json';

function invalid(path: string, what: string): CustomsError {
  return new CustomsError('CONFIG_INVALID', `credential file ${path}: ${what}`, {
    hint: 'Fix or remove the file (for customs: `customs logout` then `customs login`).',
    details: { path },
  });
}

/** Read and parse a credential file; undefined when it does not exist. */
async function readAuthFile(path: string, signal?: AbortSignal): Promise<Record<string, unknown> | undefined> {
  signal?.throwIfAborted();
  let bytes: Buffer;
  try {
    // O_NONBLOCK: a FIFO planted at the credential path must not block the open waiting for a writer; the
    // regular-file check below then refuses it. Regular files ignore the flag.
    const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw invalid(path, 'not a regular file');
      if (st.size > MAX_AUTH_FILE_BYTES) {
        throw invalid(path, `too large: expected at most ${MAX_AUTH_FILE_BYTES} bytes, got ${st.size}`);
      }
      // Capped while reading too: a file that grows after the stat (or reports size 0, as /proc files do) stops
      // one byte past the cap.
      bytes = await readCapped(fh.createReadStream({ start: 0, autoClose: false }), MAX_AUTH_FILE_BYTES, path).catch(
        (err: unknown) => {
          throw isCustomsError(err) && err.code === 'TOO_LARGE' ? invalid(path, 'too large') : err;
        },
      );
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CustomsError('CONFIG_INVALID', `credential file ${path}: cannot read: ${code ?? 'I/O error'}`, {
      details: { path },
      cause: err,
    });
  }
  if (bytes.length > MAX_AUTH_FILE_BYTES) throw invalid(path, 'too large');
  let doc: unknown;
  try {
    doc = parseStrictJsonBytes(bytes, 'credential file');
  } catch (err) {
    // Keep the structural reason (offset, duplicate key name) but not V8's message, which quotes the secret.
    const offset = err instanceof CustomsError ? err.details.offset : undefined;
    const key = err instanceof CustomsError ? err.details.key : undefined;
    const where =
      typeof key === 'string'
        ? `: duplicate key ${JSON.stringify(key)}`
        : typeof offset === 'number'
          ? ` at offset ${offset}`
          : '';
    throw invalid(path, `invalid JSON${where}`);
  }
  if (!isJsonObject(doc)) throw invalid(path, 'expected a JSON object at the top level');
  return doc;
}

/**
 * A key as containers/image normalizes it: legacy URL keys (`https://host/v1/`) become `host`; Docker Hub's
 * names become `docker.io`; the host part is lowercased. Repository paths after the host are kept.
 */
function normalizeKey(key: string): { key: string; legacy: boolean } {
  let k = key;
  let legacy = false;
  const m = /^https?:\/\//i.exec(k);
  if (m !== null) {
    legacy = true;
    k = k.slice(m[0].length);
    const slash = k.indexOf('/');
    if (slash >= 0) k = k.slice(0, slash); // legacy keys are host-wide: the path is an API version, not a repo
  }
  const slash = k.indexOf('/');
  let host = (slash >= 0 ? k.slice(0, slash) : k).toLowerCase();
  const rest = slash >= 0 ? k.slice(slash) : '';
  if (DOCKER_HUB_HOSTS.has(host)) host = 'docker.io';
  return { key: `${host}${rest}`, legacy };
}

/** Lookup keys for `registry` / `repository`, most specific first: `r/a/b`, `r/a`, `r`. */
function candidateKeys(registry: string, repository: string | undefined): string[] {
  const host = normalizeKey(registry).key;
  const out: string[] = [];
  if (repository !== undefined && repository !== '') {
    const parts = repository.split('/');
    for (let n = parts.length; n > 0; n--) out.push(`${host}/${parts.slice(0, n).join('/')}`);
  }
  out.push(host);
  return out;
}

/**
 * Find the entry in a key→value map for the most specific candidate. Exact (non-legacy) keys win over legacy URL
 * keys, as in containers/image; legacy keys only ever match the whole registry.
 */
function matchKey<T>(map: Record<string, T>, registry: string, repository: string | undefined): [string, T][] {
  const normalized = Object.entries(map).map(([k, v]) => ({ raw: k, v, ...normalizeKey(k) }));
  const hits: [string, T][] = [];
  for (const candidate of candidateKeys(registry, repository)) {
    for (const e of normalized) if (!e.legacy && e.key === candidate) hits.push([e.raw, e.v]);
  }
  const host = normalizeKey(registry).key;
  for (const e of normalized) if (e.legacy && e.key === host) hits.push([e.raw, e.v]);
  return hits;
}

function decodeBasicAuth(path: string, key: string, b64: string): { username: string; password: string } {
  // Buffer.from(..., 'base64') skips junk silently; check the alphabet first so a corrupt entry is reported.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1) {
    throw invalid(path, `entry ${JSON.stringify(key)}: "auth" is not base64`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    throw invalid(path, `entry ${JSON.stringify(key)}: "auth" is not UTF-8`);
  }
  const colon = text.indexOf(':');
  if (colon < 0) throw invalid(path, `entry ${JSON.stringify(key)}: "auth" is not "username:password"`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** One auths entry → credential; undefined for an empty entry (docker writes `{}` when a credsStore holds it). */
function entryCredential(path: string, key: string, untrusted: unknown): Credential | undefined {
  if (!isJsonObject(untrusted)) throw invalid(path, `entry ${JSON.stringify(key)}: expected an object`);
  const str = (field: string): string => {
    const v = untrusted[field];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw invalid(path, `entry ${JSON.stringify(key)}: "${field}" must be a string`);
    return v;
  };
  const auth = str('auth');
  let username = str('username');
  let password = str('password');
  const identityToken = str('identitytoken');
  if (auth !== '') ({ username, password } = decodeBasicAuth(path, key, auth));
  if (identityToken !== '') return new IdentityTokenCredential(username, identityToken);
  if (username === '' && password === '') return undefined;
  if (password === '') throw invalid(path, `entry ${JSON.stringify(key)}: username without a password`);
  return new BasicCredential(username, password);
}

function stringMap(path: string, doc: Record<string, unknown>, field: string): Record<string, unknown> {
  const v = doc[field];
  if (v === undefined || v === null) return {};
  if (!isJsonObject(v)) throw invalid(path, `"${field}" must be an object`);
  return v;
}

/**
 * A source reading one credential file on every lookup (a missing file has no credentials). Precedence inside the
 * file follows docker: a `credHelpers` entry for the registry, else `credsStore`, else `auths`; within `auths`
 * the longest `registry/repository` prefix key wins (containers-auth.json(5)). Credential helpers run with `env`
 * (its PATH locates them). Throws CONFIG_INVALID naming the path for a malformed file; helper failures throw
 * CREDENTIAL_HELPER.
 */
export function authFileSource(path: string, options: { env?: Env } = {}): CredentialSource {
  const env = options.env ?? process.env;
  return {
    name: path,
    async lookup(registry, signal, repository) {
      const doc = await readAuthFile(path, signal);
      if (doc === undefined) return undefined;

      const helpers = stringMap(path, doc, 'credHelpers');
      const [helperHit] = matchKey(helpers, registry, undefined);
      if (helperHit !== undefined) {
        const [key, name] = helperHit;
        if (typeof name !== 'string') throw invalid(path, `credHelpers entry ${JSON.stringify(key)}: not a string`);
        return getFromCredentialHelper(name, dockerServerUrl(registry), env, signal);
      }
      const store = doc.credsStore;
      if (store !== undefined && store !== null && store !== '') {
        if (typeof store !== 'string') throw invalid(path, '"credsStore" must be a string');
        return getFromCredentialHelper(store, dockerServerUrl(registry), env, signal);
      }

      const auths = stringMap(path, doc, 'auths');
      for (const [key, entry] of matchKey(auths, registry, repository)) {
        const credential = entryCredential(path, key, entry);
        if (credential !== undefined) return credential;
      }
      return undefined;
    },
  };
}

// Registry as written in a reference: host name or IP literal, optional port. Nothing that could be a path.
const REGISTRY_KEY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function checkRegistryKey(registry: string): string {
  if (!REGISTRY_KEY.test(registry)) {
    throw new CustomsError(
      'USAGE',
      `registry ${JSON.stringify(registry.slice(0, 256))}: invalid: expected host[:port]`,
    );
  }
  return normalizeKey(registry).key;
}

function hasControlChars(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s);
}

/** The keys of `auths` that spell registry `key` (any legacy or normalised spelling of the whole registry). */
function keysFor(auths: Record<string, unknown>, key: string): string[] {
  return Object.keys(auths).filter((k) => normalizeKey(k).key === key);
}

/** How long a login or logout waits for another one to finish with the credential file. */
const AUTH_LOCK_TIMEOUT_MS = 10_000;
/** A lock file older than this was left by a process that died mid-update (an update takes milliseconds). */
const AUTH_LOCK_STALE_MS = 30_000;

/**
 * Read-modify-write the credential file at `path` under `path.lock` (O_EXCL), so two `customs login`s at once
 * cannot lose each other's entry (each would read the old file and the second rename would win). Other tools
 * (podman, skopeo) do not take this lock; against them the atomic rename still keeps the file whole.
 * `change` makes the new `auths` from the current ones (undefined: nothing to write). Returns whether it wrote.
 */
async function updateAuths(
  path: string,
  signal: AbortSignal | undefined,
  change: (auths: Record<string, unknown>) => Record<string, unknown> | undefined,
): Promise<boolean> {
  const lockPath = `${path}.lock`;
  const started = Date.now();
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    signal?.throwIfAborted();
    try {
      await (await open(lockPath, 'wx', 0o600)).close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CustomsError(
          'CONFIG_INVALID',
          `credential file ${path}: cannot lock: ${String((err as NodeJS.ErrnoException).code)}`,
          {
            cause: err,
            details: { path },
          },
        );
      }
      const age = await stat(lockPath).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age > AUTH_LOCK_STALE_MS) await unlink(lockPath).catch(() => undefined);
      else if (Date.now() - started > AUTH_LOCK_TIMEOUT_MS) {
        throw new CustomsError('CONFIG_INVALID', `credential file ${path}: locked by another login or logout`, {
          hint: `Retry; if no customs login is running, remove ${lockPath}.`,
          details: { path },
        });
      }
      await sleep(delay);
    }
  }
  try {
    const doc = (await readAuthFile(path, signal)) ?? {};
    const next = change({ ...stringMap(path, doc, 'auths') });
    if (next === undefined) return false;
    signal?.throwIfAborted();
    await writeFileAtomic(path, `${JSON.stringify({ ...doc, auths: next }, null, 2)}\n`, 0o600);
    return true;
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

/**
 * Store `username`/`password` for `registry` in `$configDir/auth.json` (containers auth.json format, key
 * `host[:port]`, Docker Hub as `docker.io`), replacing any earlier entry for that registry and keeping everything
 * else in the file. Creates the directory 0700 and writes the file atomically with mode 0600. Refuses (USAGE) a
 * username containing ":" (the `auth` encoding could not round-trip it) and control characters; refuses
 * (CONFIG_INVALID) to overwrite a malformed existing file. Does not check the credentials against the registry.
 */
export async function saveLogin(
  configDir: string,
  registry: string,
  username: string,
  password: string,
  signal?: AbortSignal,
): Promise<void> {
  const key = checkRegistryKey(registry);
  if (username === '' || username.includes(':') || hasControlChars(username)) {
    throw new CustomsError('USAGE', 'login: username: invalid: expected non-empty, without ":" or control characters');
  }
  if (password === '' || hasControlChars(password)) {
    throw new CustomsError('USAGE', 'login: password: invalid: expected non-empty, without control characters');
  }
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const path = join(configDir, AUTH_FILE_NAME);
  const auth = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  await updateAuths(path, signal, (auths) => {
    for (const k of keysFor(auths, key)) Reflect.deleteProperty(auths, k);
    auths[key] = { auth };
    return auths;
  });
}

/**
 * Remove the entries for `registry` (any key spelling of the whole registry, not per-repository keys) from
 * `$configDir/auth.json`. Returns whether anything was removed; a missing file removes nothing.
 */
export async function removeLogin(configDir: string, registry: string, signal?: AbortSignal): Promise<boolean> {
  const key = checkRegistryKey(registry);
  const path = join(configDir, AUTH_FILE_NAME);
  if ((await readAuthFile(path, signal)) === undefined) return false;
  return updateAuths(path, signal, (auths) => {
    const keys = keysFor(auths, key);
    if (keys.length === 0) return undefined;
    for (const k of keys) Reflect.deleteProperty(auths, k);
    return auths;
  });
}
