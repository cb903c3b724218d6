/**
 * Resolving archive paths inside the root as if the root were `/` (the umoci / cyphar filepath-securejoin approach).
 *
 * - `cleanArchivePath` turns an untrusted name into components: `.` and empty components dropped, `..` popped but
 *   never above the root, a leading `/` ignored. Nothing is refused here except NUL and depth; whether clamping
 *   happened is reported.
 * - `resolveParent` walks the parent components on disk with lstat: real directories are entered, symlinks are read
 *   and their targets resolved again inside the root (absolute targets restart at the root, `..` is clamped), up to
 *   a hop limit. The final component is never resolved, so an entry always acts on the link itself, never through it.
 *
 * Races: the worker is the only writer under the staging root (the image never runs, the root is private to the
 * sandbox uid behind a 0700 root-owned directory), so the tree cannot change between lstat and use.
 */
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { CustomsError } from '../errors.js';

export interface CleanPath {
  readonly components: readonly string[];
  /** True when `..` had to be clamped at the root or the name was absolute. */
  readonly clamped: boolean;
}

/** Lexically clean an archive path relative to a virtual `/`. */
export function cleanArchivePath(untrusted: string, maxDepth: number): CleanPath {
  if (untrusted.includes('\0')) throw new CustomsError('UNSAFE_PATH', 'layer tar: NUL in path');
  let clamped = untrusted.startsWith('/');
  const out: string[] = [];
  let depth = 0;
  for (const c of untrusted.split('/')) {
    if (c === '' || c === '.') continue;
    if (++depth > maxDepth) {
      throw new CustomsError('LIMIT_EXCEEDED', `layer tar: path deeper than ${maxDepth} components`, {
        details: { limit: maxDepth },
      });
    }
    if (c === '..') {
      if (out.length === 0) clamped = true;
      else out.pop();
      continue;
    }
    out.push(c);
  }
  return { components: out, clamped };
}

function unsafe(what: string, path: string): CustomsError {
  return new CustomsError('UNSAFE_PATH', `layer tar: ${what}`, { details: { path: path.slice(0, 4096) } });
}

export interface ResolveOptions {
  readonly maxSymlinkHops: number;
  readonly maxDepth: number;
  /** Create missing directories (0755, like Docker's implicit parents). Called with the created relative path. */
  readonly create?: (relComponents: readonly string[]) => void;
}

/**
 * Resolve `parents` (already cleaned) under `root`, returning real, symlink-free components. Missing components
 * are created when `create` is given, otherwise ENOENT is refused. A non-directory in the way is refused.
 */
export function resolveParent(
  root: string,
  parents: readonly string[],
  untrustedPathForErrors: string,
  opts: ResolveOptions,
): string[] {
  const current: string[] = [];
  const pending = [...parents].reverse(); // a stack: next component at the end
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.pop() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      current.pop();
      continue;
    }
    if (current.length >= opts.maxDepth) throw unsafe('path too deep after resolving symlinks', untrustedPathForErrors);
    const p = `${root}/${[...current, c].join('/')}`;
    let st;
    try {
      st = lstatSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (opts.create === undefined) throw unsafe('link target parent does not exist', untrustedPathForErrors);
      mkdirSync(p, { mode: 0o755 });
      current.push(c);
      opts.create(current);
      continue;
    }
    if (st.isDirectory()) {
      current.push(c);
    } else if (st.isSymbolicLink()) {
      if (++hops > opts.maxSymlinkHops) throw unsafe('too many levels of symbolic links', untrustedPathForErrors);
      const target = readlinkSync(p);
      if (target.startsWith('/')) current.length = 0; // absolute: restart at the root, never the host's `/`
      const parts = target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i] as string);
    } else {
      throw new CustomsError('ARCHIVE_INVALID', 'layer tar: a parent component is not a directory', {
        details: { path: untrustedPathForErrors.slice(0, 4096) },
      });
    }
  }
  return current;
}
