// Hardlink escapes: containerd archive TestBreakouts "HardlinkEscape", moby pkg/archive TestUntarHardlinkToSymlink,
// CVE-2021-32760 (containerd chmod through a hardlink/symlink), umoci tar_extract_test.go hardlink cases.
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Scene, SANDBOXES } from './harness.js';
import { entry, file, hardlink, symlink, tar } from './tar-builder.js';

for (const sandbox of SANDBOXES) {
  describe(`hardlink escapes (sandbox ${sandbox})`, () => {
    it('refuses a hardlink whose target climbs out with ../', async () => {
      // containerd TestBreakouts "HardlinkEscape": the target resolves inside the root, where it does not exist.
      const s = new Scene();
      try {
        await s.assertRefused([s.plain(tar(hardlink('hl', '../../canary')))], 'UNSAFE_PATH', sandbox);
      } finally {
        s.cleanup();
      }
    });

    it('refuses a hardlink to an absolute host path', async () => {
      // moby pkg/archive TestUntarInvalidHardlink.
      const s = new Scene();
      try {
        await s.assertRefused([s.plain(tar(hardlink('hl', s.canary)))], 'UNSAFE_PATH', sandbox);
      } finally {
        s.cleanup();
      }
    });

    it('refuses a hardlink reaching out through a symlinked parent', async () => {
      // containerd TestBreakouts "HardlinkSymlinkParent".
      const s = new Scene();
      try {
        await s.assertRefused(
          [s.plain(tar(symlink('esc', s.canaryDir), hardlink('hl', 'esc/inside')))],
          'UNSAFE_PATH',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });

    it('links a symlink itself, and never chmods through it', async () => {
      // CVE-2021-32760: a hardlink to a symlink pointing out, with mode 0777, must not chmod the target.
      const s = new Scene();
      try {
        const hl = entry({ name: 'hl', typeflag: '1', linkname: 'lnk', mode: 0o777 });
        await s.unpack([s.plain(tar(symlink('lnk', s.canary), hl))], sandbox);
        assert.ok(lstatSync(join(s.dest, 'hl')).isSymbolicLink());
        assert.equal(readlinkSync(join(s.dest, 'hl')), s.canary);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('replaces a hardlink with a new file instead of writing into the shared inode', async () => {
      // moby pkg/archive "overwrite hardlink": writing through the link would change the lower file too.
      const s = new Scene();
      try {
        const l1 = s.plain(tar(file('a', 'original'), hardlink('b', 'a')));
        const l2 = s.plain(tar(file('b', 'changed')));
        await s.unpack([l1, l2], sandbox);
        assert.equal(readFileSync(join(s.dest, 'a'), 'utf8'), 'original');
        assert.equal(readFileSync(join(s.dest, 'b'), 'utf8'), 'changed');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('refuses a hardlink to a directory', async () => {
      // Directory hardlinks make loops; tar tools refuse them.
      const s = new Scene();
      try {
        await s.assertRefused(
          [s.plain(tar(entry({ name: 'd', typeflag: '5' }), hardlink('hl', 'd')))],
          'UNSAFE_PATH',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });
  });
}
