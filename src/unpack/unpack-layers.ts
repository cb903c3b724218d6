/**
 * unpackLayers: verified layer blobs → a root filesystem at DEST, all or nothing (issue 4 items 2–8).
 *
 * The parent (this module) never decompresses or parses a layer. It picks the decoder from the media type, prepares
 * a private staging directory beside DEST, starts the sandboxed worker, streams the blobs into its stdin, validates
 * what the worker reports, hands ownership of the tree to the invoking user, and renames the tree into place. Any
 * failure removes the staging directory; DEST is only ever created by the final rename.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { open } from '../internal/fsp.js';
import { setTimeout as delay } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { CustomsError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { TEMP_PREFIX } from '../internal/atomic.js';
import { sanitizeForDisplay } from '../internal/redact.js';
import { MiB } from '../internal/units.js';
import { layerCompression } from '../oci/index.js';
import type { Digest } from '../ref/index.js';
import { resolveLimits, type UnpackLimits } from './limits.js';
import type { WorkerJob, WorkerLayer, WorkerMessage } from './protocol.js';
import type { LayerReport, UnpackReport } from './report.js';
import { planWorker, type SandboxMode } from './sandbox.js';

/** A layer blob already verified by the store (digest and size): the engine trusts its bytes' identity only. */
export interface LayerBlob {
  /** Path of the blob file. Read by the parent only; the worker never sees this path. */
  readonly path: string;
  /** Decides the decoder; nothing else does. */
  readonly mediaType: string;
  /** Expected sha256 of the uncompressed tar (config rootfs.diff_ids[i]). */
  readonly diffId: Digest;
  /** Exact byte size of the blob. */
  readonly size: number;
}

export interface UnpackOptions {
  /** Layers in application order (manifest order, lowest first). */
  readonly layers: readonly LayerBlob[];
  /** Must not exist, or be an empty directory. Its parent must exist. */
  readonly dest: string;
  readonly signal?: AbortSignal;
  readonly limits?: Partial<UnpackLimits>;
  readonly sandbox?: SandboxMode;
}

/** Worker stdout cap: the report lists are bounded (MAX_REPORT_ITEMS, 4 KiB paths), so this is never legitimate. */
const MAX_WORKER_OUTPUT_BYTES = 32 * MiB;
/** Worker stderr kept for diagnostics. */
const MAX_WORKER_STDERR_BYTES = 8192;
/** How long to wait for buffered worker output after it exited. */
const OUTPUT_DRAIN_MS = 2000;
const SIGXCPU = 24;
const SIGXFSZ = 25;

function usage(message: string, details: Record<string, unknown> = {}): CustomsError {
  return new CustomsError('USAGE', message, { details });
}

function checkDest(dest: string): void {
  let st;
  try {
    st = lstatSync(dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        if (!lstatSync(dirname(dest)).isDirectory()) throw new Error('not a directory');
      } catch (e) {
        throw usage(`unpack: destination parent ${dirname(dest)} is not a directory`, { cause: String(e) });
      }
      return;
    }
    throw err;
  }
  if (!st.isDirectory() || readdirSync(dest).length !== 0) {
    throw usage(`unpack: destination ${dest}: expected a missing path or an empty directory`, { dest });
  }
}

function workerLayers(layers: readonly LayerBlob[]): WorkerLayer[] {
  return layers.map((l, i) => {
    const compression = layerCompression(l.mediaType);
    if (compression === undefined) {
      throw new CustomsError(
        'MEDIA_TYPE_UNSUPPORTED',
        `layer ${i}: media type: expected a known layer type, got ${JSON.stringify(l.mediaType.slice(0, 200))}`,
        { hint: 'customs picks the decoder from the media type only and never guesses from the bytes.' },
      );
    }
    if (!/^sha256:[0-9a-f]{64}$/.test(l.diffId)) {
      throw new CustomsError('CONFIG_INVALID_IMAGE', `layer ${i}: diff_id: expected sha256:<64 hex>, got ${l.diffId}`);
    }
    if (!Number.isSafeInteger(l.size) || l.size < 0) throw usage(`layer ${i}: size must be a non-negative integer`);
    return { compression, diffIdHex: l.diffId.slice('sha256:'.length), size: l.size };
  });
}

/** Open a directory without following a symlink at its last component. */
const O_DIR_NOFOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * `name` inside the directory open as `dirFd`, openat(2)-style: /proc/self/fd/N resolves to exactly that directory
 * whatever has been renamed or swapped since, so only `name` itself is looked up (and, with lstat/lchown/unlink/
 * rmdir, never followed). Node has no *at() calls; this is how the parent walks a tree that a worker running as
 * another uid could still be changing (filepath-securejoin and umoci use the same /proc/self/fd idiom).
 */
function at(dirFd: number, name: string): string {
  return `/proc/self/fd/${dirFd}/${name}`;
}

function namesIn(dirFd: number): string[] {
  return readdirSync(`/proc/self/fd/${dirFd}`);
}

/**
 * Remove `dir` and everything under it without ever following a link, even if the tree changes meanwhile: each
 * directory is entered through an O_NOFOLLOW descriptor and its entries are unlinked/rmdir-ed relative to it. A
 * path-based rm -r (rmSync, or chmod + readdir by path) run as root could be redirected to host files by a worker
 * process that swaps a directory for a symlink between the lstat and the readdir (rimraf/remove_all TOCTOU class,
 * CVE-2022-21658).
 */
function removeTreeNoFollow(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, O_DIR_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR' || code === 'ELOOP') return unlinkSync(dir);
    throw err;
  }
  try {
    const emptyDir = (dirFd: number): void => {
      for (const name of namesIn(dirFd)) {
        const p = at(dirFd, name);
        let child: number | undefined;
        try {
          child = openSync(p, O_DIR_NOFOLLOW);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
        }
        if (child === undefined) {
          unlinkSync(p);
          continue;
        }
        try {
          emptyDir(child);
        } finally {
          closeSync(child);
        }
        rmdirSync(p);
      }
    };
    emptyDir(fd);
  } finally {
    closeSync(fd);
  }
  rmdirSync(dir);
}

/** Remove a tree even when the image left directories without write/search permission (non-root callers). */
function forceRemove(dir: string): void {
  try {
    removeTreeNoFollow(dir);
    return;
  } catch {
    // As root a failure here may be a worker process racing us: never fall back to path-based removal, which it
    // could redirect. The `.tmp-` leftover is garbage for gc. Non-root callers: the worker ran as the same user.
    if (process.getuid?.() === 0) return;
  }
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    try {
      chmodSync(p, 0o700);
      for (const n of readdirSync(p)) walk(join(p, n));
    } catch {
      /* best effort */
    }
  };
  walk(dir);
  rmSync(dir, { recursive: true, force: true });
}

function unsafeTree(what: string, p: string): CustomsError {
  return new CustomsError('UNSAFE_PATH', `unpack: worker produced ${what} at ${p}`, {
    hint: 'The unpack worker misbehaved (a decoder bug or a compromised worker); nothing was handed over.',
  });
}

/**
 * The parent's own pass over what the worker wrote (defence in depth against a compromised worker, which may still
 * be running when no pid namespace holds it): never follows a link (every lookup is relative to an O_NOFOLLOW
 * directory descriptor), refuses anything but files, directories, symlinks and FIFOs, refuses setuid/setgid bits,
 * refuses an inode with links outside the tree (a hardlink to a host file), and gives every entry to the invoking
 * user when the worker ran as another uid. Each entry is checked, chowned, and checked again: after the chown the
 * worker uid can no longer change the inode (and chown clears setuid bits set in between); an entry replaced
 * meanwhile is refused.
 */
export function adoptTree(root: string, chownTo: { uid: number; gid: number } | undefined): void {
  /** Inodes with nlink > 1: how many names the tree holds for each. */
  const links = new Map<string, { nlink: number; seen: number; path: string }>();
  const assertSafe = (st: Stats, shown: string): void => {
    if (!(st.isFile() || st.isDirectory() || st.isSymbolicLink() || st.isFIFO())) {
      throw unsafeTree('a special file', shown);
    }
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) throw unsafeTree('a setuid/setgid file', shown);
  };
  const countLinks = (st: Stats, shown: string): void => {
    if (st.isDirectory() || st.nlink <= 1) return;
    const key = `${st.dev}:${st.ino}`;
    const l = links.get(key) ?? { nlink: st.nlink, seen: 0, path: shown };
    l.seen++;
    links.set(key, l);
  };
  const walk = (dirFd: number, shownDir: string): void => {
    for (const name of namesIn(dirFd)) {
      const p = at(dirFd, name);
      const shown = `${shownDir}/${name}`;
      const before = lstatSync(p);
      assertSafe(before, shown);
      if (chownTo !== undefined) lchownSync(p, chownTo.uid, chownTo.gid);
      const st = lstatSync(p);
      if (st.ino !== before.ino || st.dev !== before.dev)
        throw unsafeTree('an entry that changed during checks', shown);
      assertSafe(st, shown);
      countLinks(st, shown);
      if (!st.isDirectory()) continue;
      const fd = openSync(p, O_DIR_NOFOLLOW);
      try {
        const opened = fstatSync(fd);
        if (opened.ino !== st.ino || opened.dev !== st.dev) {
          throw unsafeTree('a directory that changed during checks', shown);
        }
        walk(fd, shown);
      } finally {
        closeSync(fd);
      }
    }
  };
  const rootFd = openSync(root, O_DIR_NOFOLLOW);
  try {
    assertSafe(fstatSync(rootFd), root);
    if (chownTo !== undefined) fchownSync(rootFd, chownTo.uid, chownTo.gid);
    assertSafe(fstatSync(rootFd), root);
    walk(rootFd, root);
  } finally {
    closeSync(rootFd);
  }
  for (const l of links.values()) {
    // CVE-2021-32760 / moby pkg/archive hardlink class: a name inside DEST sharing an inode with a host file would
    // let anything that later writes into DEST write the host file.
    if (l.seen !== l.nlink)
      throw unsafeTree(`a hardlink to a file outside the tree (${l.seen} of ${l.nlink} links)`, l.path);
  }
}

function parseMessage(line: string): WorkerMessage {
  const m = JSON.parse(line) as unknown;
  if (typeof m !== 'object' || m === null || typeof (m as { t?: unknown }).t !== 'string') {
    throw new Error('unpack worker: malformed message');
  }
  return m as WorkerMessage;
}

function isErrorCode(c: unknown): c is ErrorCode {
  return typeof c === 'string' && Object.hasOwn(ERROR_CODES, c);
}

/**
 * Apply `layers` in order into a fresh root filesystem at `dest`.
 *
 * Verifies: each media type is a known layer type (else MEDIA_TYPE_UNSUPPORTED); each blob file has exactly `size`
 * bytes (SIZE_MISMATCH); each layer's uncompressed sha256 equals its diffId (DIGEST_MISMATCH); the tar is strictly
 * well-formed (ARCHIVE_INVALID); limits (LIMIT_EXCEEDED); no entry escapes or misuses the root (UNSAFE_PATH).
 * Does not verify: the blobs' compressed digests (the store did), image config/manifest consistency (ops/unpack).
 * On any failure nothing is left at `dest` (or it stays the empty directory it was) and the error is thrown.
 */
export async function unpackLayers(options: UnpackOptions): Promise<UnpackReport> {
  const { signal } = options;
  signal?.throwIfAborted();
  const dest = resolve(options.dest);
  const limits = resolveLimits(options.limits);
  const layers = workerLayers(options.layers);
  checkDest(dest);

  const workDir = join(dirname(dest), `${TEMP_PREFIX}unpack-${basename(dest)}-${randomBytes(6).toString('hex')}`);
  const stagingRoot = join(workDir, 'rootfs');
  const packageJson = join(workDir, 'package.json');
  mkdirSync(workDir, { mode: 0o700 });
  try {
    mkdirSync(stagingRoot, { mode: 0o700 });
    writeFileSync(packageJson, '{"type":"module"}\n', { mode: 0o644 });
    const plan = planWorker({ mode: options.sandbox ?? 'auto', stagingRoot, packageJson, limits });
    if (plan.workerUid !== undefined) {
      chownSync(stagingRoot, plan.workerUid, plan.workerUid);
      // Without a mount namespace the worker reaches the staging root through workDir: allow search only.
      if (plan.mechanism === 'setpriv') chmodSync(workDir, 0o711);
    }
    const ownerUid = process.getuid?.() ?? 0;
    const ownerGid = process.getgid?.() ?? 0;
    const job: WorkerJob = {
      root: plan.rootInWorker,
      layers,
      limits,
      ownerUid,
      ownerGid,
      zstdPath: '/usr/bin/zstd',
      mkfifoPath: '/usr/bin/mkfifo',
    };
    const result = await runWorker([...plan.argv, JSON.stringify(job)], options.layers, layers, signal);
    signal?.throwIfAborted();
    adoptTree(stagingRoot, plan.workerUid === undefined ? undefined : { uid: ownerUid, gid: ownerGid });
    renameSync(stagingRoot, dest);
    forceRemove(workDir);
    return {
      sandbox: {
        mechanism: plan.mechanism,
        command: plan.argv,
        ...(plan.note === undefined ? {} : { note: plan.note }),
      },
      ...result,
    };
  } catch (err) {
    forceRemove(workDir);
    throw err;
  }
}

type WorkerResult = Omit<UnpackReport, 'sandbox'>;

async function runWorker(
  argv: readonly string[],
  blobs: readonly LayerBlob[],
  layers: readonly WorkerLayer[],
  signal: AbortSignal | undefined,
): Promise<WorkerResult> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
  // 'exit', not 'close': if a kill lands while bwrap is still setting up, its pid-namespace init can outlive it
  // (PR_SET_PDEATHSIG is not armed yet) and hold our stdout open forever. Output is drained with a deadline below.
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stdoutEnded = once(child.stdout, 'end');
  stdoutEnded.catch(() => undefined);
  exited.catch(() => undefined);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < MAX_WORKER_STDERR_BYTES) stderr += d.toString('utf8');
  });
  const messages: WorkerMessage[] = [];
  let outBytes = 0;
  let partial = '';
  let protocolError: Error | undefined;
  child.stdout.on('data', (d: Buffer) => {
    outBytes += d.length;
    if (outBytes > MAX_WORKER_OUTPUT_BYTES) {
      protocolError ??= new Error('unpack worker: output over the cap');
      child.kill('SIGKILL');
      return;
    }
    const lines = (partial + d.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const m = parseMessage(line);
        messages.push(m);
        // On an error message the worker exits by itself; feeding stops at EPIPE.
      } catch (e) {
        protocolError ??= e as Error;
        child.kill('SIGKILL');
      }
    }
  });

  let feedError: unknown;
  try {
    await feed(child.stdin, blobs, signal);
  } catch (err) {
    // Not killed: stdin is closed, so the worker sees its input end and exits on its own (see 'exit' above).
    feedError = err;
  }
  const [code, sig] = await exited;
  await Promise.race([stdoutEnded, delay(OUTPUT_DRAIN_MS)]);
  child.stdout.destroy();
  child.stderr.destroy();
  signal?.removeEventListener('abort', onAbort);
  signal?.throwIfAborted();

  // The parent's own findings (blob size) come first: a worker that saw its input cut short reports that instead.
  if (feedError instanceof CustomsError) throw feedError;
  const error = messages.find((m) => m.t === 'error');
  if (error !== undefined) {
    throw new CustomsError(isErrorCode(error.code) ? error.code : 'INTERNAL', error.message, {
      ...(error.details === undefined ? {} : { details: error.details }),
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    });
  }
  if (sig === 'SIGXCPU' || sig === 'SIGXFSZ' || code === 128 + SIGXCPU || code === 128 + SIGXFSZ) {
    throw new CustomsError('LIMIT_EXCEEDED', `unpack worker: resource limit hit (${sig ?? String(code)})`);
  }
  if (protocolError !== undefined || code !== 0) {
    throw new CustomsError(
      'INTERNAL',
      `unpack worker failed: ${protocolError?.message ?? `exit ${String(code)} signal ${String(sig)}`}: ${sanitizeForDisplay(stderr.trim().split('\n').slice(-3).join(' | '), 300)}`,
      { details: { stderr: stderr.slice(-2000) } },
    );
  }
  const done = messages.find((m) => m.t === 'done');
  const layerMsgs = messages.filter((m) => m.t === 'layer');
  if (done === undefined || layerMsgs.length !== layers.length) {
    throw new CustomsError('INTERNAL', 'unpack worker: finished without a complete report');
  }
  const layerReports: LayerReport[] = layerMsgs.map((m, i) => {
    const want = `sha256:${(layers[i] as WorkerLayer).diffIdHex}`;
    if (m.index !== i || m.diffId !== want) {
      throw new CustomsError('DIGEST_MISMATCH', `layer ${i}: diff_id: expected ${want}, got ${m.diffId}`);
    }
    return { diffId: m.diffId, entries: m.entries, uncompressedBytes: m.uncompressedBytes };
  });
  return {
    layers: layerReports,
    skipped: done.skipped,
    changed: done.changed,
    ownersDropped: done.ownersDropped,
    omitted: done.omitted,
  };
}

/**
 * Resolves on 'drain' or 'close', removing both listeners either way. (`Promise.race` of two `events.once` left the
 * losing 'close' listener and its 'error' companion attached on every backpressure wait:
 * MaxListenersExceededWarning on every unpack.)
 */
function drainOrClose(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.removeListener('drain', done);
      stream.removeListener('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** Write each blob's exact bytes to the worker's stdin, in order, with backpressure. */
async function feed(
  stdin: NodeJS.WritableStream & { destroyed: boolean },
  blobs: readonly LayerBlob[],
  signal: AbortSignal | undefined,
): Promise<void> {
  let broken = false;
  stdin.on('error', () => {
    broken = true; // EPIPE: the worker stopped reading; its exit status and messages decide the outcome
  });
  try {
    for (const [i, blob] of blobs.entries()) {
      const fh = await open(blob.path, 'r');
      try {
        const st = await fh.stat();
        if (!st.isFile() || st.size !== blob.size) {
          throw new CustomsError(
            'SIZE_MISMATCH',
            `layer ${i}: blob size: expected ${blob.size} bytes, got ${st.size}`,
            { details: { expected: blob.size, got: st.size } },
          );
        }
        let left = blob.size;
        for await (const chunk of fh.createReadStream({ start: 0, autoClose: false, highWaterMark: MiB })) {
          signal?.throwIfAborted();
          const buf = chunk as Buffer;
          const take = buf.subarray(0, Math.min(buf.length, left));
          left -= take.length;
          if (broken || stdin.destroyed) return;
          if (!stdin.write(take)) await drainOrClose(stdin);
          if (left === 0) break;
        }
        if (left !== 0) throw new CustomsError('SIZE_MISMATCH', `layer ${i}: blob shrank while being read`);
      } finally {
        await fh.close();
      }
    }
  } finally {
    if (!stdin.destroyed) stdin.end();
  }
}
