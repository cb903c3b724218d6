/**
 * The parts of node:fs/promises customs uses, loaded on first call.
 *
 * Why: importing node:fs/promises at start-up costs ~2 ms (it loads readline for FileHandle.readLines), and the
 * modules a pull loads import it in two dozen places while a pull from a plain-HTTP registry calls none of it:
 * its store I/O is synchronous metadata (src/internal/atomic.ts) and fd-based writes (src/store/quarantine.ts).
 * `fs.promises` is node:fs's own lazy getter for the same module.
 */
import fs from 'node:fs';
import type * as FsPromises from 'node:fs/promises';

export type { FileHandle } from 'node:fs/promises';

function fsp(): typeof FsPromises {
  return fs.promises;
}

export const access: typeof FsPromises.access = (...args) => fsp().access(...args);
export const link: typeof FsPromises.link = (...args) => fsp().link(...args);
export const lstat = ((...args: Parameters<typeof FsPromises.lstat>) =>
  fsp().lstat(...args)) as typeof FsPromises.lstat;
export const mkdir = ((...args: Parameters<typeof FsPromises.mkdir>) =>
  fsp().mkdir(...args)) as typeof FsPromises.mkdir;
export const open: typeof FsPromises.open = (...args) => fsp().open(...args);
export const readdir = ((...args: Parameters<typeof FsPromises.readdir>) =>
  fsp().readdir(...args)) as typeof FsPromises.readdir;
export const readFile = ((...args: Parameters<typeof FsPromises.readFile>) =>
  fsp().readFile(...args)) as typeof FsPromises.readFile;
export const rename: typeof FsPromises.rename = (...args) => fsp().rename(...args);
export const rmdir: typeof FsPromises.rmdir = (...args) => fsp().rmdir(...args);
export const stat = ((...args: Parameters<typeof FsPromises.stat>) => fsp().stat(...args)) as typeof FsPromises.stat;
export const unlink: typeof FsPromises.unlink = (...args) => fsp().unlink(...args);
export const writeFile: typeof FsPromises.writeFile = (...args) => fsp().writeFile(...args);
