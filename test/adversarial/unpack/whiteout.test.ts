// Whiteout tricks: OCI image-spec layer.md "Whiteouts", umoci tar_extract_test.go TestUnpackEntryWhiteout /
// hardening.bats, moby pkg/archive TestUntarWhiteout, containerd TestBreakouts "WhiteoutSymlink".
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Scene, SANDBOXES } from './harness.js';
import { dir, entry, file, symlink, tar } from './tar-builder.js';

for (const sandbox of SANDBOXES) {
  describe(`whiteouts (sandbox ${sandbox})`, () => {
    it('resolves ../.wh.NAME inside the root', async () => {
      // containerd TestBreakouts "WhiteoutParent": a whiteout that climbs out must not delete the canary.
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(file('x', 'y'))), s.plain(tar(file('../../.wh.canary', '')))], sandbox);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    for (const bad of ['.wh.', '.wh..', '.wh...', '.wh..wh.plnk']) {
      it(`refuses the malformed whiteout ${bad}`, async () => {
        // umoci tar_extract_test "malformed whiteout": ".wh." names the parent itself, ".wh..." its parent.
        const s = new Scene();
        try {
          await s.assertRefused([s.plain(tar(dir('d'), file(`d/${bad}`, '')))], 'UNSAFE_PATH', sandbox);
        } finally {
          s.cleanup();
        }
      });
    }

    it('removes a whited-out symlink, not the directory it points to', async () => {
      // containerd TestBreakouts "WhiteoutSymlink".
      const s = new Scene();
      try {
        const l1 = s.plain(tar(symlink('lnk', s.canaryDir)));
        const l2 = s.plain(tar(file('.wh.lnk', '')));
        await s.unpack([l1, l2], sandbox);
        assert.equal(existsSync(join(s.dest, 'lnk')), false);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('resolves a whiteout under a symlinked parent inside the root', async () => {
      // umoci hardening.bats: whiteout path through a symlink pointing out.
      const s = new Scene();
      try {
        const l1 = s.plain(tar(symlink('lnk', s.canaryDir)));
        const l2 = s.plain(tar(file('lnk/.wh.inside', '')));
        await s.unpack([l1, l2], sandbox);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('applies an opaque marker under a symlinked parent inside the root', async () => {
      // umoci hardening.bats: opaque whiteout through a symlink.
      const s = new Scene();
      try {
        const l1 = s.plain(tar(symlink('lnk', s.canaryDir)));
        const l2 = s.plain(tar(file('lnk/.wh..wh..opq', '')));
        await s.unpack([l1, l2], sandbox);
        assert.ok(lstatSync(join(s.dest, 'lnk')).isSymbolicLink());
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('keeps the entries of its own layer when the opaque marker comes first', async () => {
      // OCI image-spec layer.md "Opaque Whiteout": applies to lower layers only, whatever the entry order.
      const s = new Scene();
      try {
        const l1 = s.plain(tar(dir('d'), file('d/lower', 'x'), dir('d/sub'), file('d/sub/lower', 'x')));
        const l2 = s.plain(tar(file('d/.wh..wh..opq', ''), file('d/upper', 'y')));
        await s.unpack([l1, l2], sandbox);
        assert.deepEqual(readdirSync(join(s.dest, 'd')), ['upper']);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('keeps the entries of its own layer when the opaque marker comes last', async () => {
      // OCI image-spec layer.md "Opaque Whiteout"; umoci upperPaths tracking.
      const s = new Scene();
      try {
        const l1 = s.plain(tar(dir('d'), file('d/lower', 'x'), dir('d/sub'), file('d/sub/lower', 'x')));
        const l2 = s.plain(tar(file('d/sub/upper', 'y'), file('d/upper', 'y'), file('d/.wh..wh..opq', '')));
        await s.unpack([l1, l2], sandbox);
        assert.deepEqual(readdirSync(join(s.dest, 'd')).sort(), ['sub', 'upper']);
        assert.deepEqual(readdirSync(join(s.dest, 'd/sub')), ['upper']);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('accepts a whiteout of a name that does not exist', async () => {
      // moby: whiteouts of absent files are no-ops (images built with squashed history contain them).
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(entry({ name: '.wh.nothing', typeflag: '0' })))], sandbox);
        assert.deepEqual(readdirSync(s.dest), []);
      } finally {
        s.cleanup();
      }
    });
  });
}
