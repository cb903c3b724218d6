// Rootless semantics: umoci hardening.bats / rootless unpack, moby pkg/archive device handling,
// CVE-2019-5736-style setuid planting, security.capability xattrs (file capabilities) in layers.
import assert from 'node:assert/strict';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Scene, SANDBOXES } from './harness.js';
import { entry, file, pax, paxRecord, tar } from './tar-builder.js';

for (const sandbox of SANDBOXES) {
  describe(`special files (sandbox ${sandbox})`, () => {
    it('never creates device nodes and reports them', async () => {
      // moby pkg/archive: mknod of /dev/sda-like nodes in a layer would give raw disk access.
      const s = new Scene();
      try {
        const r = await s.unpack(
          [s.plain(tar(entry({ name: 'sda', typeflag: '4', mode: 0o666 }), entry({ name: 'mem', typeflag: '3' })))],
          sandbox,
        );
        assert.equal(existsSync(join(s.dest, 'sda')), false);
        assert.equal(existsSync(join(s.dest, 'mem')), false);
        assert.equal(r.skipped.filter((i) => i.kind === 'device-skipped').length, 2);
        s.assertCanaries();
      } finally {
        s.cleanup();
      }
    });

    it('strips setuid and setgid bits and reports them', async () => {
      // A setuid-root binary in a rootfs is a privilege escalation on the host if the tree is ever exposed.
      const s = new Scene();
      try {
        const r = await s.unpack([s.plain(tar(file('su', 'x', 0o6755), file('sticky', 'x', 0o1777)))], sandbox);
        assert.equal(lstatSync(join(s.dest, 'su')).mode & 0o7777, 0o755);
        assert.equal(lstatSync(join(s.dest, 'sticky')).mode & 0o7777, 0o1777);
        assert.ok(r.changed.some((c) => c.kind === 'setuid-stripped' && c.path === 'su'));
      } finally {
        s.cleanup();
      }
    });

    it('skips security.capability and every other xattr and reports them', async () => {
      // File capabilities via SCHILY.xattr.security.capability (moby pkg/archive xattr handling).
      const s = new Scene();
      try {
        const r = await s.unpack(
          [
            s.plain(
              tar(pax(paxRecord('SCHILY.xattr.security.capability', Buffer.from([1, 0, 0, 2]))), file('ping', 'x')),
            ),
          ],
          sandbox,
        );
        assert.ok(r.skipped.some((i) => i.kind === 'xattr-skipped' && i.detail === 'security.capability'));
      } finally {
        s.cleanup();
      }
    });

    it('does not apply ownership from the image', async () => {
      // Rootless semantics: files belong to the invoking user (umoci --rootless).
      const s = new Scene();
      try {
        const r = await s.unpack([s.plain(tar(entry({ name: 'f', uid: 1234, gid: 5678 }, 'x')))], sandbox);
        assert.equal(lstatSync(join(s.dest, 'f')).uid, process.getuid!());
        assert.equal(r.ownersDropped, 1);
      } finally {
        s.cleanup();
      }
    });

    it('creates FIFOs without opening them', async () => {
      // A FIFO opened for writing would block extraction forever (node-tar, GNU tar treat them as special).
      const s = new Scene();
      try {
        await s.unpack([s.plain(tar(entry({ name: 'p', typeflag: '6', mode: 0o600 })))], sandbox);
        assert.ok(lstatSync(join(s.dest, 'p')).isFIFO());
      } finally {
        s.cleanup();
      }
    });
  });
}
