// customs unpack and `umoci unpack --rootless` must give the same tree (paths, types, permission bits, link
// targets, content) for the busybox and debootstrap images; what differs must be what customs reports
// (setuid/setgid stripped, device nodes skipped). Issue 4 "Interop".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pushImages, requirePeer, runOk, startRegistry, type Registry } from './helpers/registry.js';
import type { PushedImage } from './helpers/images.js';
import { sandbox } from './helpers/customs.js';
import { describeTree } from './helpers/tree.js';

let reg: Registry;
let images: PushedImage[];

before(async () => {
  requirePeer('umoci');
  requirePeer('bwrap');
  reg = await startRegistry();
  images = await pushImages(reg, ['busybox', 'debian']);
});

after(async () => {
  await reg.stop();
});

interface Report {
  report: { skipped: { kind: string; path: string }[]; changed: { kind: string; path: string }[]; omitted: number };
}

describe('customs unpack --layout reads a layout written by skopeo', () => {
  test('skopeo copy → customs unpack --layout DIR --ref NAME DEST', async () => {
    const img = images.find((i) => i.name === 'busybox:latest');
    assert.ok(img);
    const sb = await sandbox();
    const layout = join(sb.dir, 'skopeo-layout');
    await runOk('skopeo', ['copy', '--src-tls-verify=false', `docker://${img.reference}`, `oci:${layout}:latest`]);
    const dest = join(sb.dir, 'rootfs');
    const r = await sb.customs(['unpack', '--layout', layout, '--ref', 'latest', dest]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(describeTree(dest).has('bin/busybox'));
    const again = await sb.customs(['unpack', '--layout', layout, '--ref', 'latest', dest]);
    assert.equal(again.code, 2, 'a non-empty DEST is refused');
  });
});

describe('customs unpack matches umoci unpack', () => {
  for (const name of ['busybox:latest', 'debian:bookworm']) {
    test(`${name}: same paths, types, modes, link targets and content`, { timeout: 600_000 }, async () => {
      const img = images.find((i) => i.name === name);
      assert.ok(img);
      const sb = await sandbox();
      assert.equal((await sb.customs(['pull', img.reference, '-q'])).code, 0);
      const ours = join(sb.dir, 'ours');
      const r = await sb.customs(['unpack', img.reference, ours, '--json'], { timeoutMs: 300_000 });
      assert.equal(r.code, 0, r.stderr);
      const report = (JSON.parse(r.stdout) as Report).report;
      assert.equal(report.omitted, 0);
      const bundle = join(sb.dir, 'bundle');
      await runOk('umoci', ['unpack', '--rootless', '--image', `${sb.store}:${img.reference}`, bundle], {
        timeoutMs: 300_000,
      });

      const a = describeTree(ours);
      const b = describeTree(join(bundle, 'rootfs'));
      const reported = new Set(
        [...report.skipped, ...report.changed].map((i) => i.path.replace(/^\.?\/*/, '').replace(/\/$/, '')),
      );
      const diffs: string[] = [];
      for (const [p, theirs] of b) {
        const mine = a.get(p);
        if (reported.has(p)) continue;
        if (mine === undefined) diffs.push(`${p}: missing in customs`);
        else if (JSON.stringify(mine) !== JSON.stringify(theirs))
          diffs.push(`${p}: customs ${JSON.stringify(mine)} umoci ${JSON.stringify(theirs)}`);
      }
      for (const p of a.keys()) if (!b.has(p) && !reported.has(p)) diffs.push(`${p}: only in customs`);
      assert.deepEqual(diffs.slice(0, 20), [], `${diffs.length} difference(s)`);
      assert.ok(a.size > 100);
    });
  }
});
