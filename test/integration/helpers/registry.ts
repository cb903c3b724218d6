/**
 * Integration-test harness: a real registry (Debian's docker-registry, distribution 2.8) on
 * 127.0.0.1 and real images pushed to it with skopeo. Everything goes through the project's own
 * scripts/ (registry-up.sh, make-images.sh); tests import from this module only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SCRIPTS_DIR } from './repo-root.js';
import { requirePeer } from './peers.js';
import { run, runOk } from './run.js';

export { REPO_ROOT, SCRIPTS_DIR, CACHE_DIR } from './repo-root.js';
export { requirePeer } from './peers.js';
export { run, runOk, type RunOptions, type RunResult } from './run.js';
export {
  pushImages,
  parseImagesTsv,
  STEP_TAGS,
  type ImageStep,
  type PushedImage,
  type PushImagesOptions,
} from './images.js';

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Require HTTP basic auth with this one user (bcrypt htpasswd entry). */
  htpasswd?: { user: string; pass: string };
  /** Serve HTTPS with a throw-away CA; its certificate is {@link Registry.caFile}. */
  tls?: boolean;
}

/** A running registry; call {@link Registry.stop} (e.g. in `after`) to kill it and delete its storage. */
export interface Registry {
  /** `127.0.0.1:PORT` — the host part of references. */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  pid: number;
  /** Registry storage (blobs under docker/registry/v2), config and log; deleted by stop(). */
  storageDir: string;
  /** The registry's log (access log included). */
  logFile: string;
  /** TLS only: PEM of the CA that signed the server certificate (SAN 127.0.0.1, ::1, localhost). */
  caFile?: string;
  /** TLS only: a directory whose only *.crt is the CA, for skopeo `--cert-dir`/`--src-cert-dir`. */
  certDir?: string;
  /** Auth only: the credentials the registry accepts. */
  creds?: { user: string; pass: string };
  /** Kill the registry (SIGTERM, then SIGKILL after 5 s) and delete its directory. Idempotent. */
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/**
 * Registries started by this process, killed on exit if a test forgot (or crashed before) stop().
 * They run in their own session (setsid), so Ctrl-C or a SIGTERM to the test process would not
 * reach them: the signal handlers clean up and then exit as the signal would have.
 */
const live = new Map<number, string>();
function killAllSync(): void {
  for (const [pid, root] of live) {
    if (isOurRegistry(pid, root)) signal(pid, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
  live.clear();
}
process.on('exit', killAllSync);
for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(sig, () => {
    killAllSync();
    process.exit(code);
  });
}

/**
 * Start a registry on 127.0.0.1 on a free port with scripts/registry-up.sh, in a fresh temp dir.
 * Picks the port with a node server on port 0 and retries (up to 3 times) if another process takes
 * it before the registry binds. Throws with an install hint if docker-registry/curl (or openssl,
 * htpasswd for the variants) are missing.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  requirePeer('docker-registry');
  requirePeer('curl');
  if (opts.tls === true) requirePeer('openssl');
  if (opts.htpasswd !== undefined) requirePeer('htpasswd');

  const root = await mkdtemp(join(tmpdir(), 'customs-registry-'));
  try {
    const storageDir = join(root, 'storage');
    const args = [join(SCRIPTS_DIR, 'registry-up.sh'), '', storageDir];
    if (opts.htpasswd !== undefined) {
      // -i: password from stdin, so it is not on a command line
      const entry = await runOk('htpasswd', ['-niB', opts.htpasswd.user], {
        input: `${opts.htpasswd.pass}\n`,
        timeoutMs: 30_000,
      });
      const file = join(root, 'htpasswd');
      await writeFile(file, entry.stdout, { mode: 0o600 });
      args.push(file);
    }
    const env = { ...process.env, TLS: opts.tls === true ? '1' : '0' };
    let lastError = '';
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      const port = await freePort();
      args[1] = String(port);
      const r = await run('bash', args, { env, timeoutMs: START_TIMEOUT_MS });
      if (r.code === 0) {
        const pid = Number.parseInt(r.stdout.trim(), 10);
        if (!Number.isSafeInteger(pid) || pid <= 0) {
          throw new Error(`startRegistry: registry-up.sh: expected a PID on stdout, got ${JSON.stringify(r.stdout)}`);
        }
        return handle(root, storageDir, port, pid, opts);
      }
      lastError = r.stderr;
      if (!/already listens|was taken/.test(r.stderr)) break;
    }
    throw new Error(`startRegistry: registry-up.sh failed:\n${lastError}`);
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
}

function handle(root: string, storageDir: string, port: number, pid: number, opts: RegistryOptions): Registry {
  live.set(pid, root);
  const tls = opts.tls === true;
  let stopped: Promise<void> | undefined;
  const reg: Registry = {
    host: `127.0.0.1:${port}`,
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    pid,
    storageDir,
    logFile: join(storageDir, 'registry.log'),
    stop: () => {
      stopped ??= stopRegistry(pid, root);
      return stopped;
    },
  };
  if (tls) {
    reg.caFile = join(storageDir, 'ca.crt');
    reg.certDir = storageDir;
  }
  if (opts.htpasswd !== undefined) reg.creds = { ...opts.htpasswd };
  return reg;
}

async function stopRegistry(pid: number, root: string): Promise<void> {
  if (isOurRegistry(pid, root)) {
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (isRunning(pid) && Date.now() < deadline) await sleep(50);
    if (isRunning(pid) && isOurRegistry(pid, root)) signal(pid, 'SIGKILL');
  }
  live.delete(pid);
  await rm(root, { recursive: true, force: true });
}

/** A free TCP port on 127.0.0.1 right now (the kernel's pick for port 0); it may be taken again later. */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error(`freePort: expected an AddressInfo, got ${JSON.stringify(addr)}`));
      });
    });
  });
}

/** Guard against PID reuse: only signal a docker-registry serving the config in our own temp dir. */
function isOurRegistry(pid: number, root: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith('docker-registry')) && cmdline.some((a) => a.startsWith(root));
  } catch {
    return false;
  }
}

/**
 * True while the process exists and is not a zombie. The registry is detached (setsid) and its
 * parent shell has exited, so where PID 1 does not reap orphans it lingers as a zombie after dying.
 */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Read the registry's CA certificate (TLS registries) for `new Agent({ connect: { ca } })` or https options. */
export async function readCa(reg: Registry): Promise<Buffer> {
  if (reg.caFile === undefined) throw new Error(`readCa: ${reg.host}: expected a TLS registry, got plain HTTP`);
  return readFile(reg.caFile);
}
