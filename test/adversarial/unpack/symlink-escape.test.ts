// Symlink escapes: containerd archive TestBreakouts, moby pkg/archive TestUntarWithMaliciousSymlinks,
// node-tar CVE-2021-32803 (symlink/dir cache poisoning), CVE-2018-15664 (docker cp symlink race class),
// CVE-2019-14271 (docker cp), umoci tar_extract_test.go TestUnpackEntryParentDir / hardening.bats.
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Scene, SANDBOXES } from './harness.js';
import { dir, file, symlink, tar } from './tar-builder.js';

for (const sandbox of SANDBOXES) {
  describe(`symlink escapes (sandbox ${sandbox})`, () => {
    it('resolves a relative symlink parent (link -> ../..) inside the root', async () => {
      // containerd TestBreakouts "SymlinkParentDotDot".
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(symlink('escape', '../..'), file('escape/canary', 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, 'canary'), 'utf8'), 'evil');
        assert.equal(readlinkSync(join(s.dest, 'escape')), '../..');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('resolves an absolute symlink parent inside the root', async () => {
      // containerd TestBreakouts "SymlinkAbsolute"; moby TestUntarWithMaliciousSymlinks.
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(symlink('escape', s.canaryDir), file('escape/inside', 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, s.canaryDir, 'inside'), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('resolves a symlink planted by a lower layer inside the root when an upper layer writes through it', async () => {
      // containerd TestBreakouts across layers; umoci hardening.bats "layer symlink escape".
      const s = new Scene();
      try {
        const l1 = s.plain(tar(symlink('escape', s.canaryDir)));
        const l2 = s.plain(tar(file('escape/inside', 'evil')));
        await s.unpack([l1, l2], sandbox);
        assert.equal(readFileSync(join(s.dest, s.canaryDir, 'inside'), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('replaces a final-component symlink with the file instead of writing through it', async () => {
      // node-tar CVE-2021-32804 / moby "file over symlink": final components are never followed.
      const s = new Scene();
      try {
        const l1 = s.plain(tar(symlink('target', s.canary)));
        const l2 = s.plain(tar(file('target', 'evil')));
        await s.unpack([l1, l2], sandbox);
        assert.ok(lstatSync(join(s.dest, 'target')).isFile());
        assert.equal(readFileSync(join(s.dest, 'target'), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('does not write through a directory swapped for a symlink in the same layer', async () => {
      // node-tar CVE-2021-32803: a directory entry, then a symlink of the same name, then a file under it.
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(dir('d'), symlink('d', s.canaryDir), file('d/inside', 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, s.canaryDir, 'inside'), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('does not chmod through a symlink when a directory entry names it', async () => {
      // umoci tar_extract_test TestUnpackEntryMode / CVE-2021-32760 class: metadata must not follow links.
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(symlink('d', s.canaryDir), dir('d', 0o777)))], sandbox);
        assert.ok(lstatSync(join(s.dest, 'd')).isDirectory());
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('refuses a symlink loop in a parent path', async () => {
      // Go path resolution ELOOP; filepath-securejoin "too many links".
      const s = new Scene();
      try {
        await s.assertRefused(
          [s.plain(tar(symlink('a', 'b'), symlink('b', 'a'), file('a/x', 'y')))],
          'UNSAFE_PATH',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });

    it('stores symlink targets verbatim', async () => {
      // OCI image-spec layer.md: link targets are data; umoci stores them unchanged.
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(symlink('l1', '../../../../etc/shadow'), symlink('l2', s.canary)))], sandbox);
        assert.equal(readlinkSync(join(s.dest, 'l1')), '../../../../etc/shadow');
        assert.equal(readlinkSync(join(s.dest, 'l2')), s.canary);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });
  });
}
