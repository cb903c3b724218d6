/**
 * The docker-credential-helpers protocol (github.com/docker/docker-credential-helpers, "client" package):
 * run `docker-credential-<name> get`, write the server URL on stdin, read `{"ServerURL","Username","Secret"}`
 * from stdout. A helper that has nothing exits non-zero and prints "credentials not found in native keychain".
 *
 * The helper is an executable found on PATH, so this is the one place auth code runs another program. It is
 * spawned without a shell (no metacharacter injection through the helper name or server URL), the name is
 * restricted to `^[A-Za-z0-9_.-]+$` (no path separators: a config file cannot name an arbitrary binary), only
 * absolute PATH entries are searched (an empty or relative entry would run a planted binary from the working
 * directory), and its output is capped and time-limited. Its output may hold the secret, so it never appears in
 * an error message.
 */
import { constants } from 'node:fs';
import { access } from '../../internal/fsp.js';
import { delimiter, isAbsolute, join } from 'node:path';
import { CustomsError } from '../../errors.js';
import { withNodeExtraCaCerts } from '../../internal/extra-ca.js';
import { isJsonObject, parseStrictJsonBytes } from '../../internal/json.js';
import { KiB } from '../../internal/units.js';
import { BasicCredential, IdentityTokenCredential, type Credential, type CredentialSource } from './credentials.js';

/** Largest helper stdout read. A credential is a few KiB at most; more is a broken or hostile helper. */
export const MAX_HELPER_OUTPUT_BYTES = 64 * KiB;
/** Helpers that prompt (a locked keychain) would hang a pull forever; 10 s is generous for a local lookup. */
export const HELPER_TIMEOUT_MS = 10_000;
/** Helper names as docker accepts them, minus anything that could be a path. */
const HELPER_NAME = /^[A-Za-z0-9_.-]+$/;
/** The helper's "nothing stored" answer (docker-credential-helpers credentials.ErrCredentialsNotFound). */
const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';
/** docker-credential-helpers: a Username of `<token>` marks the Secret as an identity (refresh) token. */
const IDENTITY_TOKEN_USERNAME = '<token>';

/** Environment as passed around for testability (process.env has this shape). */
export type Env = Readonly<Record<string, string | undefined>>;

function helperError(program: string, what: string, cause?: unknown): CustomsError {
  return new CustomsError('CREDENTIAL_HELPER', `credential helper ${program}: ${what}`, {
    hint: `Run \`echo <registry> | ${program} get\` to see the helper's own error, or remove it from the docker config.`,
    details: { helper: program },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Find `program` on the env's PATH, absolute entries only. */
async function resolveOnPath(program: string, env: Env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return undefined;
}

interface HelperRun {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

async function run(file: string, program: string, input: string, env: Env, signal?: AbortSignal): Promise<HelperRun> {
  // Loaded here: most pulls use no credential helper, and node:child_process is a few ms of start-up.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
    };
    const child = spawn(file, ['get'], {
      shell: false,
      // NODE_EXTRA_CA_CERTS as the user set it: a helper may be a Node program calling an HTTPS API.
      env: withNodeExtraCaCerts(env),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: HELPER_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      ...(signal === undefined ? {} : { signal }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let failure: CustomsError | undefined;
    const overflow = (): void => {
      failure ??= helperError(program, `output too large: expected at most ${MAX_HELPER_OUTPUT_BYTES} bytes`);
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_HELPER_OUTPUT_BYTES) overflow();
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errBytes += chunk.length;
      if (errBytes > MAX_HELPER_OUTPUT_BYTES) overflow();
      else err.push(chunk);
    });
    child.stdin.on('error', () => undefined); // a helper that exits without reading stdin is reported by its exit
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (signal?.aborted === true) {
        settle(() => reject(signal.reason as Error));
        return;
      }
      const f = (failure ??= helperError(program, `could not run: ${e.code ?? 'spawn failed'}`));
      // A process that never started emits no 'close'.
      if (child.pid === undefined) settle(() => reject(f));
    });
    child.on('close', (code, sig) => {
      settle(() => {
        if (signal?.aborted === true) reject(signal.reason as Error);
        else if (failure !== undefined) reject(failure);
        else if (sig !== null)
          reject(
            helperError(
              program,
              sig === 'SIGKILL' ? `timed out after ${HELPER_TIMEOUT_MS} ms or was killed` : `killed by ${sig}`,
            ),
          );
        else resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
      });
    });
    child.stdin.end(input);
  });
}

/**
 * Ask `docker-credential-<helperName>` for the credential of `serverUrl` (docker passes the registry host, or
 * `https://index.docker.io/v1/` for Docker Hub). Returns undefined when the helper reports none; throws
 * CREDENTIAL_HELPER (secret-free message) for a bad name, a missing helper, a timeout, a failure exit, oversized
 * or malformed output. Verifies the response's shape, not that the secret is valid.
 */
export async function getFromCredentialHelper(
  helperName: string,
  serverUrl: string,
  env: Env,
  signal?: AbortSignal,
): Promise<Credential | undefined> {
  if (!HELPER_NAME.test(helperName)) {
    throw new CustomsError(
      'CREDENTIAL_HELPER',
      `credential helper name ${JSON.stringify(helperName.slice(0, 64))}: invalid: expected [A-Za-z0-9_.-]+`,
      { hint: 'Fix credsStore / credHelpers in the docker config.' },
    );
  }
  signal?.throwIfAborted();
  const program = `docker-credential-${helperName}`;
  const file = await resolveOnPath(program, env);
  if (file === undefined) throw helperError(program, 'not found on PATH');
  const result = await run(file, program, serverUrl, env, signal);
  if (result.code !== 0) {
    const text = `${result.stdout.toString('utf8')}\n${result.stderr.toString('utf8')}`;
    if (text.includes(NOT_FOUND_MESSAGE)) return undefined;
    // The helper's output is not quoted: a failing helper may still have printed the secret.
    throw helperError(program, `failed: expected exit code 0, got ${String(result.code)}`);
  }
  let untrusted: unknown;
  try {
    untrusted = parseStrictJsonBytes(result.stdout, `credential helper ${program} output`);
  } catch {
    // No cause and no parser message: V8's JSON errors quote the input, which holds the secret.
    throw helperError(program, 'output is not a single JSON object');
  }
  if (!isJsonObject(untrusted)) throw helperError(program, 'output is not a JSON object');
  const { Username: username, Secret: secret } = untrusted;
  if (typeof username !== 'string' || typeof secret !== 'string') {
    throw helperError(program, 'output lacks string "Username" and "Secret" fields');
  }
  if (username === '' && secret === '') return undefined;
  if (secret === '') throw helperError(program, 'output has an empty "Secret"');
  if (username === IDENTITY_TOKEN_USERNAME) return new IdentityTokenCredential('', secret);
  return new BasicCredential(username, secret);
}

/**
 * A source backed by one credential helper (docker `credsStore`, or a `credHelpers` entry). `serverUrlFor`
 * maps a registry to the string written to the helper's stdin; the default is docker's (`dockerServerUrl`).
 */
export function credentialHelperSource(
  helperName: string,
  env: Env,
  serverUrlFor: (registry: string) => string = dockerServerUrl,
): CredentialSource {
  return {
    name: `docker-credential-${helperName}`,
    lookup: (registry, signal) => getFromCredentialHelper(helperName, serverUrlFor(registry), env, signal),
  };
}

/** Docker Hub's host names; docker stores Hub credentials under its legacy index URL. */
export const DOCKER_HUB_HOSTS: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** The key docker uses for Docker Hub in `auths`, `credHelpers` and credential helpers. */
export const DOCKER_HUB_INDEX_URL = 'https://index.docker.io/v1/';

/** The server address docker passes to a helper for `registry`: the host, or the index URL for Docker Hub. */
export function dockerServerUrl(registry: string): string {
  return DOCKER_HUB_HOSTS.has(registry.toLowerCase()) ? DOCKER_HUB_INDEX_URL : registry;
}
