// A compromised worker's leftovers (titanous "Docker Image Insecurity"; moby pkg/archive breakout class, CVE-2021-32760
// hardlink reach): the root parent's adoptTree must never follow, chown or hand over anything pointing outside.
import assert from 'node:assert/strict';
import { chmodSync, linkSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCustomsError } from '../../../src/errors.js';
import { adoptTree } from '../../../src/unpack/unpack-layers.js';
import { Scene, SANDBOXES } from './harness.js';
import { dir, file, hardlink, tar } from './tar-builder.js';

const isRoot = process.getuid?.() === 0;
/** As root, adopt to a uid nobody else uses so any chown that escaped the tree shows on the canaries. */
const CHOWN_TO = isRoot ? { uid: 4242, gid: 4242 } : undefined;

function refused(code: string) {
  return (err: unknown): boolean => {
    assert.ok(isCustomsError(err), `expected a CustomsError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

function assertOwnersUntouched(s: Scene): void {
  for (const p of [s.canary, s.canaryDir, join(s.canaryDir, 'inside')]) {
    assert.equal(lstatSync(p).uid, process.getuid?.() ?? 0, `${p} was chowned`);
  }
}

describe('adoptTree over a tree a compromised worker wrote', () => {
  it('refuses a hardlink to a host file and leaves that file as it was', () => {
    // moby pkg/archive TestUntarHardlinkToSymlink class, done by the worker itself: DEST sharing a host inode.
    const s = new Scene();
    try {
      const root = s.dest;
      mkdirSync(root);
      linkSync(s.canary, join(root, 'passwd'));
      assert.throws(() => adoptTree(root, CHOWN_TO), refused('UNSAFE_PATH'));
      s.assertCanaries();
    } finally {
      s.cleanup();
    }
  });

  it('accepts hardlinks whose every name is inside the tree', () => {
    const s = new Scene();
    try {
      const root = s.dest;
      mkdirSync(join(root, 'd'), { recursive: true });
      writeFileSync(join(root, 'a'), 'x');
      linkSync(join(root, 'a'), join(root, 'd', 'b'));
      adoptTree(root, CHOWN_TO);
      if (CHOWN_TO !== undefined) assert.equal(lstatSync(join(root, 'd', 'b')).uid, CHOWN_TO.uid);
    } finally {
      s.cleanup();
    }
  });

  it('chowns symlinks themselves and never what they point to', () => {
    // containerd TestBreakouts "SymlinkEscape", applied to the parent's chown pass.
    const s = new Scene();
    try {
      const root = s.dest;
      mkdirSync(root);
      symlinkSync(s.canaryDir, join(root, 'etc'));
      symlinkSync(s.canary, join(root, 'shadow'));
      adoptTree(root, CHOWN_TO);
      assertOwnersUntouched(s);
      if (CHOWN_TO !== undefined) assert.equal(lstatSync(join(root, 'etc')).uid, CHOWN_TO.uid);
      s.assertCanaries();
    } finally {
      s.cleanup();
    }
  });

  it('refuses a setuid file the worker left behind', () => {
    // umoci hardening.bats "setuid": the parent re-checks what the worker claims it stripped.
    const s = new Scene();
    try {
      const root = s.dest;
      mkdirSync(root);
      writeFileSync(join(root, 'su'), 'x');
      chmodSync(join(root, 'su'), 0o4755);
      assert.throws(() => adoptTree(root, CHOWN_TO), refused('UNSAFE_PATH'));
    } finally {
      s.cleanup();
    }
  });
});

for (const sandbox of SANDBOXES) {
  describe(`hardlink into the directory it replaces (sandbox ${sandbox})`, () => {
    it('refuses it with a typed error instead of failing on a vanished source', async () => {
      // containerd TestBreakouts "HardlinkDirectory" family: removing the directory would delete the link source.
      const s = new Scene();
      try {
        await s.assertRefused(
          [s.plain(tar(dir('d'), file('d/f', 'x'), hardlink('d', 'd/f')))],
          'ARCHIVE_INVALID',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });
  });
}
