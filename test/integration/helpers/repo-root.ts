import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest directory at or above this module that holds a package.json.
 * Works from the TypeScript source (test/integration/helpers) and from the compiled output
 * (dist/test/integration/helpers), so tests never depend on the working directory.
 */
export const REPO_ROOT: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** Directory of the project's own scripts (registry-up.sh, make-images.sh, install-peers.sh). */
export const SCRIPTS_DIR: string = join(REPO_ROOT, 'scripts');

/** Git-ignored cache shared by test runs (built image layouts, debootstrap rootfs). */
export const CACHE_DIR: string = join(REPO_ROOT, '.cache');

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`repo root: no package.json found at or above ${start}`);
    dir = parent;
  }
}
