import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StrictTarReader, parsePax, type TarEntry } from '../../src/unpack/tar-reader.js';

async function readAll(bytes: Buffer): Promise<{ entry: TarEntry; body: string }[]> {
  const r = new StrictTarReader(
    (async function* () {
      await Promise.resolve();
      // odd chunk sizes exercise the block reassembly
      for (let i = 0; i < bytes.length; i += 333) yield bytes.subarray(i, i + 333);
    })(),
    { maxMetaHeaderBytes: 1024 * 1024 },
  );
  const out: { entry: TarEntry; body: string }[] = [];
  for (;;) {
    const e = await r.next();
    if (e === null) return out;
    const chunks: Buffer[] = [];
    for await (const c of r.body()) chunks.push(c);
    out.push({ entry: e, body: Buffer.concat(chunks).toString() });
  }
}

function gnuTar(format: string): Buffer {
  const d = mkdtempSync(join(tmpdir(), 'customs-tar-'));
  try {
    const long = 'x'.repeat(150);
    mkdirSync(join(d, 'src', long), { recursive: true });
    writeFileSync(join(d, 'src', long, 'f'), 'hello');
    symlinkSync('t'.repeat(120), join(d, 'src', 'lnk'));
    const r = spawnSync('tar', ['-C', join(d, 'src'), `--format=${format}`, '-cf', '-', '.'], { maxBuffer: 1 << 24 });
    assert.equal(r.status, 0);
    return r.stdout;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

describe('StrictTarReader', () => {
  // ustar cannot store a 120-byte link target, so only the two formats with long names are read here.
  for (const format of ['pax', 'gnu']) {
    it(`reads long names, long link targets and bodies from GNU tar --format=${format}`, async () => {
      const entries = await readAll(gnuTar(format));
      const file = entries.find((e) => e.entry.type === 'file');
      assert.equal(file?.entry.untrustedPath, `./${'x'.repeat(150)}/f`);
      assert.equal(file?.body, 'hello');
      const link = entries.find((e) => e.entry.type === 'symlink');
      assert.equal(link?.entry.untrustedLinkname, 't'.repeat(120));
    });
  }

  it('parses PAX records and keeps xattr names only', () => {
    const p = parsePax(Buffer.from('13 path=abcd\n30 SCHILY.xattr.user.test=val\n12 size=123\n'));
    assert.equal(p.path, 'abcd');
    assert.equal(p.size, 123);
    assert.deepEqual(p.xattrs, ['user.test']);
  });

  it('accepts a PAX record whose length counts its own digits', () => {
    // "9 a=bcde\n" would be 9 bytes; lengths that roll over a digit boundary are the classic off-by-one.
    const rec = Buffer.from(`100 path=${'p'.repeat(90)}\n`);
    assert.equal(rec.length, 100);
    assert.equal(parsePax(rec).path, 'p'.repeat(90));
  });
});
