/** Describe a directory tree for comparison: path → type, permission bits, link target, content hash. */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeEntry {
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly target?: string;
  readonly sha256?: string;
}

export function describeTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    for (const name of readdirSync(abs).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(root, r);
      const st = lstatSync(p);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) out.set(r, { type: 'symlink', mode: 0, target: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode });
        walk(r);
      } else if (st.isFile())
        out.set(r, { type: 'file', mode, sha256: createHash('sha256').update(readFileSync(p)).digest('hex') });
      else out.set(r, { type: 'other', mode });
    }
  };
  walk('');
  return out;
}
