/**
 * Applying tar entries to a root directory, entry by entry (issue 4 items 5–7). Runs inside the worker.
 *
 * Every entry's path is cleaned (`..`/absolute clamped), its parent resolved inside the root (symlinks followed
 * inside the root only), and its final component never followed: whatever is there (file, link, directory of
 * another type) is removed first with lstat + unlink/rm, and files are created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
 * write can never go through a symlink or into an inode shared with a hardlink (node-tar CVE-2021-32803/37701,
 * moby CVE-2018-15664 class, containerd TestBreakouts). Hardlinks link the link itself and are never chmod-ed
 * (CVE-2021-32760). Whiteouts follow the OCI image-spec layer.md "Whiteouts" rules.
 *
 * Rootless semantics: ownership is not applied; setuid/setgid are stripped; device nodes are skipped; xattrs are
 * skipped; permission and sticky bits are applied exactly; directory modes are applied at the very end (deepest
 * first) so read-only directories can still be filled by later entries and layers.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  chmodSync,
  utimesSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { CustomsError } from '../errors.js';
import type { ReportBuilder } from './report.js';
import { cleanArchivePath, resolveParent } from './resolve-in-root.js';
import type { TarEntry } from './tar-reader.js';

export interface ApplierOptions {
  readonly root: string;
  readonly maxPathDepth: number;
  readonly maxSymlinkHops: number;
  /** Owner the files will end up with; entries owned by anyone else are counted in `ownersDropped`. */
  readonly ownerUid: number;
  readonly ownerGid: number;
  /** Absolute path of mkfifo(1) (Node has no mkfifo/mknod); undefined → FIFOs are refused. */
  readonly mkfifoPath: string | undefined;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
const SETID_BITS = 0o6000;

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Remove whatever is at `p` without following it: unlink files/links, remove directories recursively. */
function removeNoFollow(p: string): void {
  const st = lstatOrUndefined(p);
  if (st === undefined) return;
  if (st.isDirectory()) rmSync(p, { recursive: true, force: true });
  else unlinkSync(p);
}

interface DeferredDir {
  readonly mode: number;
  readonly mtime: number;
}

export class Applier {
  readonly #o: ApplierOptions;
  readonly #report: ReportBuilder;
  /** Directory modes and mtimes applied at the end (key: relative path, '' for the root). */
  readonly #dirs = new Map<string, DeferredDir>();
  /** Paths created by the current layer and their ancestors (opaque whiteouts keep these). */
  #upper = new Set<string>();
  #layer = 0;

  constructor(options: ApplierOptions, report: ReportBuilder) {
    this.#o = options;
    this.#report = report;
  }

  startLayer(index: number): void {
    this.#layer = index;
    this.#upper = new Set();
  }

  #abs(rel: readonly string[]): string {
    return rel.length === 0 ? this.#o.root : `${this.#o.root}/${rel.join('/')}`;
  }

  #markUpper(rel: readonly string[]): void {
    for (let i = 1; i <= rel.length; i++) this.#upper.add(rel.slice(0, i).join('/'));
  }

  /**
   * Apply one entry. `body` yields the file content (only called for regular files); the caller skips it otherwise.
   */
  async apply(entry: TarEntry, body: () => AsyncIterable<Buffer>): Promise<void> {
    const layer = this.#layer;
    const shown = entry.untrustedPath;
    const clean = cleanArchivePath(entry.untrustedPath, this.#o.maxPathDepth);
    if (clean.clamped) {
      this.#report.change({ kind: 'path-clamped', layer, path: shown, detail: 'resolved inside the root' });
    }
    if (entry.uid !== this.#o.ownerUid || entry.gid !== this.#o.ownerGid) this.#report.ownersDropped++;
    for (const name of entry.xattrs) {
      this.#report.skip({ kind: 'xattr-skipped', layer, path: shown, detail: name.slice(0, 256) });
    }

    if (clean.components.length === 0) {
      // An entry for the root itself: only a directory makes sense (umoci, containerd refuse the rest).
      if (entry.type !== 'dir') {
        throw new CustomsError('UNSAFE_PATH', `layer tar: root entry is a ${entry.type}: expected a directory`, {
          details: { path: shown },
        });
      }
      this.#dirs.set('', { mode: this.#mode(entry, shown), mtime: entry.mtime });
      return;
    }

    const base = clean.components[clean.components.length - 1] as string;
    const parentRel = resolveParent(this.#o.root, clean.components.slice(0, -1), shown, {
      maxSymlinkHops: this.#o.maxSymlinkHops,
      maxDepth: this.#o.maxPathDepth,
      create: (rel) => this.#markUpper(rel),
    });
    this.#markUpper(parentRel);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      this.#whiteout(parentRel, base, shown);
      return;
    }

    const rel = [...parentRel, base];
    const key = rel.join('/');
    const target = this.#abs(rel);
    this.#markUpper(rel);
    const existing = lstatOrUndefined(target);

    switch (entry.type) {
      case 'dir': {
        if (existing !== undefined && !existing.isDirectory()) removeNoFollow(target);
        if (existing === undefined || !existing.isDirectory()) mkdirSync(target, { mode: 0o700 });
        this.#dirs.set(key, { mode: this.#mode(entry, shown), mtime: entry.mtime });
        return;
      }
      case 'file': {
        if (existing !== undefined) removeNoFollow(target);
        this.#dirs.delete(key);
        // O_EXCL|O_NOFOLLOW: we just removed the name, so this creates a fresh inode or fails; never writes through.
        const fd = openSync(
          target,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
        try {
          for await (const chunk of body()) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          }
          fchmodSync(fd, this.#mode(entry, shown));
          futimesSync(fd, entry.mtime, entry.mtime);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'symlink': {
        if (existing !== undefined) removeNoFollow(target);
        this.#dirs.delete(key);
        // Stored verbatim: the target is only ever interpreted by resolveParent, inside the root.
        if (entry.untrustedLinkname === '' || entry.untrustedLinkname.includes('\0')) {
          throw new CustomsError('ARCHIVE_INVALID', 'layer tar: empty or NUL symlink target', {
            details: { path: shown },
          });
        }
        symlinkSync(entry.untrustedLinkname, target);
        lutimesSync(target, entry.mtime, entry.mtime);
        return;
      }
      case 'hardlink': {
        const src = this.#resolveLinkTarget(entry.untrustedLinkname, shown);
        if (src === target) {
          throw new CustomsError('ARCHIVE_INVALID', 'layer tar: hardlink to itself', { details: { path: shown } });
        }
        if (src.startsWith(`${target}/`)) {
          // Replacing the directory `target` would delete the link source first (a confusing ENOENT otherwise).
          throw new CustomsError('ARCHIVE_INVALID', 'layer tar: hardlink to a file inside the entry it replaces', {
            details: { path: shown },
          });
        }
        if (existing !== undefined) removeNoFollow(target);
        this.#dirs.delete(key);
        // link(2) does not follow a symlink source on Linux: the link itself is linked. Mode and times are the
        // source inode's; never chmod-ed (CVE-2021-32760: chmod through a hardlink changed files outside).
        linkSync(src, target);
        return;
      }
      case 'char':
      case 'block': {
        if (existing !== undefined) removeNoFollow(target);
        this.#dirs.delete(key);
        this.#report.skip({ kind: 'device-skipped', layer, path: shown, detail: `${entry.type} device` });
        return;
      }
      case 'fifo': {
        if (existing !== undefined) removeNoFollow(target);
        this.#dirs.delete(key);
        if (this.#o.mkfifoPath === undefined) {
          this.#report.skip({ kind: 'device-skipped', layer, path: shown, detail: 'fifo (no mkfifo available)' });
          return;
        }
        const mode = this.#mode(entry, shown);
        // mkfifo(1) is a host binary from the read-only /usr, given a path we resolved; nothing from the image runs.
        const r = spawnSync(this.#o.mkfifoPath, ['-m', mode.toString(8), '--', target], { stdio: 'ignore' });
        if (r.status !== 0) throw new Error(`mkfifo failed for ${shown.slice(0, 256)}`);
        lutimesSync(target, entry.mtime, entry.mtime);
        return;
      }
    }
  }

  /** Permission bits to apply: setuid/setgid stripped (and reported), sticky kept. */
  #mode(entry: TarEntry, shown: string): number {
    if ((entry.mode & SETID_BITS) !== 0) {
      this.#report.change({
        kind: 'setuid-stripped',
        layer: this.#layer,
        path: shown,
        detail: `mode ${entry.mode.toString(8)} → ${(entry.mode & ~SETID_BITS).toString(8)}`,
      });
    }
    return entry.mode & ~SETID_BITS;
  }

  #resolveLinkTarget(untrustedLinkname: string, shown: string): string {
    const clean = cleanArchivePath(untrustedLinkname, this.#o.maxPathDepth);
    if (clean.components.length === 0) {
      throw new CustomsError('UNSAFE_PATH', 'layer tar: hardlink to the root', { details: { path: shown } });
    }
    if (clean.clamped) {
      this.#report.change({ kind: 'path-clamped', layer: this.#layer, path: shown, detail: 'hardlink target' });
    }
    const parent = resolveParent(this.#o.root, clean.components.slice(0, -1), shown, {
      maxSymlinkHops: this.#o.maxSymlinkHops,
      maxDepth: this.#o.maxPathDepth,
    });
    const src = this.#abs([...parent, clean.components[clean.components.length - 1] as string]);
    const st = lstatOrUndefined(src);
    if (st === undefined) {
      throw new CustomsError('UNSAFE_PATH', 'layer tar: hardlink target does not exist inside the root', {
        details: { path: shown, linkname: untrustedLinkname.slice(0, 4096) },
      });
    }
    if (st.isDirectory()) {
      throw new CustomsError('UNSAFE_PATH', 'layer tar: hardlink to a directory', { details: { path: shown } });
    }
    return src;
  }

  /** OCI image-spec layer.md "Whiteouts". `parentRel` is already resolved inside the root. */
  #whiteout(parentRel: readonly string[], base: string, shown: string): void {
    if (base === OPAQUE) {
      const dir = this.#abs(parentRel);
      const st = lstatOrUndefined(dir);
      if (st?.isDirectory() === true) this.#opaque(parentRel);
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    // `.wh.` `.wh..` `.wh...` would name "", "." or ".." (the parent itself or above); `.wh..wh.*` other than the
    // opaque marker are AUFS metadata with no OCI meaning. All refused, as umoci does.
    if (name === '' || name === '.' || name === '..' || name.startsWith(WHITEOUT_PREFIX)) {
      throw new CustomsError('UNSAFE_PATH', `layer tar: malformed whiteout ${JSON.stringify(base.slice(0, 256))}`, {
        details: { path: shown },
      });
    }
    const rel = [...parentRel, name];
    // Never followed: whiting out a symlink removes the link, not what it points to.
    removeNoFollow(this.#abs(rel));
    const prefix = rel.join('/');
    for (const k of this.#dirs.keys()) if (k === prefix || k.startsWith(`${prefix}/`)) this.#dirs.delete(k);
  }

  /** Remove everything under `rel` not created by the current layer (recursing into this layer's directories). */
  #opaque(rel: readonly string[]): void {
    const dir = this.#abs(rel);
    for (const name of readdirSync(dir)) {
      const childRel = [...rel, name];
      const key = childRel.join('/');
      const p = `${dir}/${name}`;
      if (!this.#upper.has(key)) {
        removeNoFollow(p);
        for (const k of this.#dirs.keys()) if (k === key || k.startsWith(`${key}/`)) this.#dirs.delete(k);
      } else if (lstatSync(p).isDirectory()) {
        this.#opaque(childRel);
      }
    }
  }

  #isRealDir(key: string): boolean {
    if (key === '') return true;
    let p = this.#o.root;
    for (const c of key.split('/')) {
      p = `${p}/${c}`;
      if (lstatOrUndefined(p)?.isDirectory() !== true) return false;
    }
    return true;
  }

  /** Apply deferred directory modes and mtimes, deepest first, never following a link. */
  finish(): void {
    const keys = [...this.#dirs.keys()].sort((a, b) => depth(b) - depth(a));
    for (const key of keys) {
      const d = this.#dirs.get(key) as DeferredDir;
      const p = key === '' ? this.#o.root : `${this.#o.root}/${key}`;
      // A later layer may have replaced this directory or an ancestor with a symlink: re-check every component so
      // chmod/utimes can only land on the directory the entry created.
      if (!this.#isRealDir(key)) continue;
      chmodSync(p, d.mode);
      utimesSync(p, d.mtime, d.mtime);
    }
  }
}

function depth(key: string): number {
  return key === '' ? 0 : key.split('/').length;
}
