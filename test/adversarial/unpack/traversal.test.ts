// Path traversal in entry names: moby pkg/archive TestUntarInvalidFilenames / TestUntarHardlinkToSymlink family,
// containerd archive TestBreakouts, node-tar CVE-2021-37713, Go archive/tar "insecure path" (CVE-2022-2879 notes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Scene, SANDBOXES } from './harness.js';
import { entry, file, gnuLongName, pax, paxRecord, tar } from './tar-builder.js';

for (const sandbox of SANDBOXES) {
  describe(`traversal (sandbox ${sandbox})`, () => {
    it('clamps ../ in a name inside the root instead of writing beside DEST', async () => {
      // containerd TestBreakouts "DotDotFile": ../canary must land inside the root.
      const s = new Scene();
      try {
        const r = await s.unpack([s.plain(tar(file('../../canary', 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, 'canary'), 'utf8'), 'evil');
        assert.ok(r.changed.some((c) => c.kind === 'path-clamped'));
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('clamps an absolute name naming the canary inside the root', async () => {
      // moby pkg/archive TestUntarPathWithInvalidDest / absolute paths; umoci tar_extract_test "absolute path".
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(file(s.canary, 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, s.canary), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('clamps ../ hidden in a PAX path record', async () => {
      // Go archive/tar testdata pax-path-hdr.tar; node-tar CVE-2021-37713 (PAX path traversal).
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(pax(paxRecord('path', '../../../canary')), file('innocent', 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, 'canary'), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('clamps ../ hidden in a GNU long name', async () => {
      // Go archive/tar testdata gnu-long-nul.tar / GNU tar ././@LongLink handling.
      const s = new Scene();
      try {
        const long = `${'../'.repeat(60)}canary`;
        await s.unpack([s.plain(tar(gnuLongName(long), entry({ name: 'short', magic: 'gnu' }, 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, 'canary'), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('clamps ../ hidden in the ustar prefix field', async () => {
      // POSIX ustar prefix field: a second place for a path to hide (moby pkg/archive breakout tests).
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(entry({ name: 'canary', prefix: '../..' }, 'evil')))], sandbox);
        assert.equal(readFileSync(join(s.dest, 'canary'), 'utf8'), 'evil');
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('refuses a path deeper than 1024 components', async () => {
      // Resource exhaustion through path depth (issue 4 limit; umoci hardening.bats deep paths).
      const s = new Scene();
      try {
        await s.assertRefused(
          [s.plain(tar(pax(paxRecord('path', `${'a/'.repeat(1100)}f`)), file('x', 'y')))],
          'LIMIT_EXCEEDED',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });
  });
}
