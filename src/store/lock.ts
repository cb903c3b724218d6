/**
 * The store lock: `<root>/.customs/lock`, created with O_EXCL and holding `{pid, host, nonce}`. Every change
 * to index.json and every gc happens under it, so concurrent `customs pull` processes into one store never
 * lose each other's tags. A lock whose owner is a dead process on this host is stale (the owner was killed)
 * and is broken; otherwise waiters back off, bounded, and give up with STORE_LOCKED.
 *
 * Breaking is done by renaming the stale file to a unique name and re-reading it, so two processes that both
 * judge the same lock stale cannot both delete it. What this does not cover: a lock on a filesystem shared
 * between hosts is never broken from another host (it is waited for, then STORE_LOCKED).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { link, lstat, readFile, rename, unlink } from '../internal/fsp.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomsError } from '../errors.js';
import { writeAllSync } from '../internal/atomic.js';
import { promised } from '../internal/promised.js';
import { ioError, isErrno } from './io.js';
import { HOST_NAME, isPidAlive } from './owner.js';
import { readFileCapped } from './walk.js';

/** How long a waiter keeps trying before STORE_LOCKED (a pull's index update takes milliseconds). */
export const LOCK_TIMEOUT_MS = 60_000;
/** Backoff between attempts: starts small (contention is short), doubles, capped so waiters stay responsive. */
const LOCK_BACKOFF_MIN_MS = 5;
const LOCK_BACKOFF_MAX_MS = 250;
/**
 * A lock file that cannot be parsed is someone between O_EXCL create and write, or a crash in that window;
 * after this long it is the latter.
 */
const UNREADABLE_LOCK_STALE_MS = 10_000;
/** A lock file is a few dozen bytes; anything bigger is not ours and is treated as unreadable. */
const MAX_LOCK_BYTES = 4096;

interface LockContent {
  readonly pid: number;
  readonly host: string;
  readonly nonce: string;
}

export interface LockOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** A held lock; `release` removes the file only if it is still ours. */
export interface HeldLock {
  release(): Promise<void>;
}

/** Acquire the lock at `path` (its directory must exist). Throws STORE_LOCKED after `timeoutMs`. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? LOCK_TIMEOUT_MS;
  const content = JSON.stringify({ pid: process.pid, host: HOST_NAME, nonce: randomBytes(8).toString('hex') });
  const started = Date.now();
  let backoff = LOCK_BACKOFF_MIN_MS;
  let lastHolder = 'unknown';
  for (;;) {
    signal?.throwIfAborted();
    try {
      // Synchronous (microseconds, atomic/O_EXCL either way): an awaited open waited for the event loop, and every
      // tag and store creation takes this lock (src/internal/atomic.ts).
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeAllSync(fd, Buffer.from(content, 'utf8'));
      } finally {
        closeSync(fd);
      }
      return { release: () => promised(() => releaseLock(path, content)) };
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw ioError(`store lock ${path}`, 'cannot create the lock file', err);
    }
    const holder = await readHolder(path);
    if (holder === 'gone') continue;
    if (holder.stale) {
      await breakStaleLock(path, holder.raw);
      continue;
    }
    lastHolder = holder.describe;
    if (Date.now() - started >= timeoutMs) {
      throw new CustomsError('STORE_LOCKED', `store lock ${path}: still held after ${timeoutMs} ms by ${lastHolder}`, {
        hint: `Another customs process is changing this store; wait for it, or if none is running remove ${path}.`,
        details: { path, holder: lastHolder, timeoutMs },
      });
    }
    try {
      await sleep(backoff + Math.floor(Math.random() * backoff), undefined, signal === undefined ? {} : { signal });
    } catch (err) {
      signal?.throwIfAborted();
      throw err;
    }
    backoff = Math.min(backoff * 2, LOCK_BACKOFF_MAX_MS);
  }
}

type Holder = 'gone' | { readonly raw: string; readonly stale: boolean; readonly describe: string };

async function readHolder(path: string): Promise<Holder> {
  let raw: string;
  let mtimeMs: number;
  try {
    const st = await lstat(path);
    mtimeMs = st.mtimeMs;
    raw = st.size > MAX_LOCK_BYTES ? '' : await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'gone';
    throw ioError(`store lock ${path}`, 'cannot read the lock file', err);
  }
  const owner = parseLockContent(raw);
  if (owner === undefined) {
    return { raw, stale: Date.now() - mtimeMs > UNREADABLE_LOCK_STALE_MS, describe: 'an unreadable lock file' };
  }
  return {
    raw,
    stale: owner.host === HOST_NAME && !isPidAlive(owner.pid),
    describe: `pid ${owner.pid} on ${owner.host}`,
  };
}

/** The owner recorded in a lock file, or undefined when it is not a lock file customs wrote. */
export function parseLockContent(raw: string): LockContent | undefined {
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const { pid, host, nonce } = v as Record<string, unknown>;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
    if (typeof host !== 'string' || typeof nonce !== 'string') return undefined;
    return { pid, host, nonce };
  } catch {
    return undefined;
  }
}

/** True when the lock file at `path` exists and is stale (used by fsck to report it as garbage). */
export async function isStaleLock(path: string): Promise<boolean> {
  const h = await readHolder(path);
  return h !== 'gone' && h.stale;
}

async function breakStaleLock(path: string, observed: string): Promise<void> {
  // Claim the file by renaming it: only one of several breakers can win the rename.
  const claimed = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, claimed);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return; // someone else broke or released it
    throw ioError(`store lock ${path}`, 'cannot break a stale lock', err);
  }
  let got = '';
  try {
    got = await readFile(claimed, 'utf8');
  } catch {
    // vanished: nothing to give back
  }
  if (got !== observed) {
    // Between our check and the rename another process broke the stale lock and took a fresh one; we just
    // moved its live lock aside. Put it back (link fails if a third process already took the lock).
    await link(claimed, path).catch(() => undefined);
  }
  await unlink(claimed).catch(() => undefined);
}

function releaseLock(path: string, content: string): void {
  try {
    // Only remove the lock if it is still ours (it may have been broken as stale, e.g. after SIGSTOP).
    if (readFileCapped(path, MAX_LOCK_BYTES, `store lock ${path}`).toString('utf8') === content) unlinkSync(path);
  } catch (err) {
    // Gone, or replaced by something that is not a lock file of ours (too large, not a regular file): not ours.
    if (isErrno(err, 'ENOENT') || err instanceof CustomsError) return;
    throw ioError(`store lock ${path}`, 'cannot release the lock', err);
  }
}
