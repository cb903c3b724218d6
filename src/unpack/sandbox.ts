/**
 * How the unpack worker is isolated (issue 4 item 3). See docs/unpack-security.md "The worker sandbox".
 *
 * As root (the usual case for a host tool) the worker runs as:
 *
 *   prlimit --as=… --fsize=… --nofile=… --cpu=… --core=0 --
 *     bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup-try
 *           --die-with-parent --new-session --clearenv
 *           --ro-bind /usr /usr (+ /lib, /lib64, /bin as symlinks or read-only binds) --proc /proc --dev /dev
 *           --ro-bind <dist/src> /app/dist/src --ro-bind <type:module package.json> /app/package.json
 *           --bind <staging>/rootfs /rootfs --chdir /
 *     -- setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs
 *        node /app/dist/src/unpack/worker.js JOB
 *
 * Why not `bwrap --unshare-all --uid 65534` as root: --unshare-all includes a user namespace, and a user namespace
 * created by root maps the sandbox uid to host uid 0, so the "unprivileged" worker would own every root-owned
 * file it can see. Instead bwrap (trusted, our argv only) builds the mount/pid/net/ipc/uts namespaces as root and
 * setpriv drops to a real unprivileged host uid with no capabilities, an empty bounding set and no_new_privs
 * before node starts. The worker never sees the layer files: the parent streams them into its stdin.
 *
 * As a non-root user: `bwrap --unshare-all` (an unprivileged user namespace mapping the invoking uid) + prlimit.
 * Fallbacks when bwrap cannot run, reported in UnpackReport.sandbox.note: setpriv + prlimit (root) or prlimit only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomsError } from '../errors.js';
import type { UnpackLimits } from './limits.js';
import type { SandboxMechanism } from './report.js';

/** Which isolation the caller asked for. `none-for-tests` runs the worker as a plain child process. */
export type SandboxMode = 'auto' | 'bwrap' | 'none-for-tests';

/** Host uid/gid the worker runs as when customs is root ("nobody"; the staging root is private to it). */
export const SANDBOX_UID = 65534;
export const SANDBOX_GID = 65534;

const BWRAP = '/usr/bin/bwrap';
const SETPRIV = '/usr/bin/setpriv';
const PRLIMIT = '/usr/bin/prlimit';
/** Where things appear inside the sandbox. */
const APP_DIR = '/app';
const ROOT_IN_SANDBOX = '/rootfs';

/**
 * The worker script beside this module: dist/src/unpack/worker.js from tsc, or dist/bundle/worker.js beside
 * the bundled CLI (scripts/bundle.mjs).
 */
export function workerScript(): string {
  return fileURLToPath(new URL('./worker.js', import.meta.url));
}

/**
 * What the sandbox mounts read-only as /app/dist/src: the parent of the worker's directory (it holds the
 * modules the tsc-built worker imports, or the bundle's package.json that makes worker.js CommonJS), and the
 * worker's path under that mount.
 */
function workerMount(): { readonly hostDir: string; readonly scriptInSandbox: string } {
  const workerDir = dirname(workerScript());
  return {
    hostDir: dirname(workerDir),
    scriptInSandbox: `${APP_DIR}/dist/src/${basename(workerDir)}/worker.js`,
  };
}

export interface WorkerPlan {
  readonly mechanism: SandboxMechanism;
  /** argv[0] and arguments, without the trailing JOB argument. */
  readonly argv: readonly string[];
  /** Path of the staging root as the worker sees it. */
  readonly rootInWorker: string;
  /** Set when the worker runs as SANDBOX_UID and the staging root must be chowned to it first. */
  readonly workerUid: number | undefined;
  readonly note?: string;
}

export interface PlanInput {
  readonly mode: SandboxMode;
  readonly stagingRoot: string;
  /** A file containing `{"type":"module"}`, bound at /app/package.json so node loads the worker as ESM. */
  readonly packageJson: string;
  readonly limits: UnpackLimits;
}

function prlimitArgs(l: UnpackLimits): string[] {
  return [
    PRLIMIT,
    `--as=${l.workerAddressSpaceBytes}`,
    `--fsize=${l.workerFileSizeBytes}`,
    `--nofile=${l.workerOpenFiles}`,
    `--cpu=${l.workerCpuSeconds}`,
    '--core=0',
    '--',
  ];
}

/** /lib, /lib64, /bin, /sbin: symlinks into /usr on merged-/usr systems, real directories elsewhere. */
function systemDirArgs(): string[] {
  const out = ['--ro-bind', '/usr', '/usr'];
  for (const d of ['/lib', '/lib64', '/bin', '/sbin']) {
    let st;
    try {
      st = lstatSync(d);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) out.push('--symlink', readlinkSync(d), d);
    else if (st.isDirectory()) out.push('--ro-bind', d, d);
  }
  return out;
}

function bwrapArgs(input: PlanInput, namespaces: readonly string[]): string[] {
  const distSrc = workerMount().hostDir;
  const node = realpathSync(process.execPath);
  const args = [
    BWRAP,
    ...namespaces,
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    ...systemDirArgs(),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // bwrap creates missing mount-point parents 0700 when run as root; make /app searchable for the worker uid.
    '--perms',
    '0755',
    '--dir',
    APP_DIR,
    '--perms',
    '0755',
    '--dir',
    `${APP_DIR}/dist`,
    '--ro-bind',
    distSrc,
    `${APP_DIR}/dist/src`,
    '--ro-bind',
    input.packageJson,
    `${APP_DIR}/package.json`,
    '--bind',
    input.stagingRoot,
    ROOT_IN_SANDBOX,
    '--chdir',
    '/',
  ];
  if (!node.startsWith('/usr/')) args.push('--ro-bind', node, node);
  return args;
}

const ROOT_NAMESPACES = [
  '--unshare-ipc',
  '--unshare-pid',
  '--unshare-net',
  '--unshare-uts',
  '--unshare-cgroup-try',
] as const;

function setprivArgs(): string[] {
  return [
    SETPRIV,
    `--reuid=${SANDBOX_UID}`,
    `--regid=${SANDBOX_GID}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
  ];
}

let bwrapWorks: boolean | undefined;

/** Can bwrap build the namespaces we need here? (Containers often forbid it.) Probed once. */
function probeBwrap(isRoot: boolean): boolean {
  if (bwrapWorks !== undefined) return bwrapWorks;
  if (!existsSync(BWRAP)) return (bwrapWorks = false);
  const ns = isRoot ? [...ROOT_NAMESPACES] : ['--unshare-all'];
  const r = spawnSync(BWRAP, [...ns, '--die-with-parent', ...systemDirArgs(), '--', '/usr/bin/true'], {
    stdio: 'ignore',
    timeout: 10_000,
  });
  return (bwrapWorks = r.status === 0);
}

/** Decide how to start the worker. Throws when `bwrap` was demanded and cannot run. */
export function planWorker(input: PlanInput): WorkerPlan {
  const node = realpathSync(process.execPath);
  const script = workerScript();
  if (input.mode === 'none-for-tests') {
    return { mechanism: 'none', argv: [node, script], rootInWorker: input.stagingRoot, workerUid: undefined };
  }
  const isRoot = process.getuid?.() === 0;
  const inSandboxScript = workerMount().scriptInSandbox;
  if (probeBwrap(isRoot)) {
    if (isRoot) {
      return {
        mechanism: 'bwrap+setpriv',
        argv: [
          ...prlimitArgs(input.limits),
          ...bwrapArgs(input, ROOT_NAMESPACES),
          '--',
          ...setprivArgs(),
          node,
          inSandboxScript,
        ],
        rootInWorker: ROOT_IN_SANDBOX,
        workerUid: SANDBOX_UID,
      };
    }
    return {
      mechanism: 'bwrap-userns',
      argv: [...prlimitArgs(input.limits), ...bwrapArgs(input, ['--unshare-all']), '--', node, inSandboxScript],
      rootInWorker: ROOT_IN_SANDBOX,
      workerUid: undefined,
    };
  }
  if (input.mode === 'bwrap') {
    throw new CustomsError('INTERNAL', 'unpack sandbox: bwrap cannot create namespaces here', {
      hint: "Install bubblewrap and allow user/mount namespaces, or use sandbox: 'auto' to accept the fallback.",
    });
  }
  if (isRoot) {
    return {
      mechanism: 'setpriv',
      argv: [...prlimitArgs(input.limits), ...setprivArgs(), node, script],
      rootInWorker: input.stagingRoot,
      workerUid: SANDBOX_UID,
      note: 'bwrap unavailable: worker runs as uid 65534 with rlimits but without mount/network namespaces; it can read world-readable host files and reach the network',
    };
  }
  return {
    mechanism: 'prlimit-only',
    argv: [...prlimitArgs(input.limits), node, script],
    rootInWorker: input.stagingRoot,
    workerUid: undefined,
    note: 'bwrap unavailable: worker runs as the invoking (non-root) user with rlimits only',
  };
}
