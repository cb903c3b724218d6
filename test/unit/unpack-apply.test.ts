import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Digest } from '../../src/ref/index.js';
import { unpackLayers } from '../../src/unpack/index.js';
import { dir, entry, file, hardlink, tar } from '../adversarial/unpack/tar-builder.js';

const PLAIN = 'application/vnd.oci.image.layer.v1.tar';

async function unpack(tars: Buffer[]): Promise<{ dest: string; base: string }> {
  const base = mkdtempSync(join(tmpdir(), 'customs-apply-'));
  const layers = tars.map((t, i) => {
    const path = join(base, `l${i}`);
    writeFileSync(path, t);
    const diffId = `sha256:${createHash('sha256').update(t).digest('hex')}` as Digest;
    return { path, mediaType: PLAIN, diffId, size: t.length };
  });
  const dest = join(base, 'dest');
  await unpackLayers({ layers, dest, sandbox: 'none-for-tests' });
  return { dest, base };
}

describe('unpackLayers applying a well-formed image', () => {
  it('fills a read-only directory from a later layer, then restores its mode', async () => {
    const { dest, base } = await unpack([tar(dir('ro', 0o555)), tar(file('ro/f', 'x', 0o400))]);
    try {
      assert.equal(lstatSync(join(dest, 'ro')).mode & 0o7777, 0o555);
      assert.equal(readFileSync(join(dest, 'ro/f'), 'utf8'), 'x');
      assert.equal(lstatSync(join(dest, 'ro/f')).mode & 0o7777, 0o400);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('applies exact permission bits, sticky bits and mtimes', async () => {
    const { dest, base } = await unpack([
      tar(
        entry({ name: 'tmp', typeflag: '5', mode: 0o1777, mtime: 1000 }),
        entry({ name: 'f', mode: 0o640, mtime: 2000 }, 'x'),
      ),
    ]);
    try {
      assert.equal(lstatSync(join(dest, 'tmp')).mode & 0o7777, 0o1777);
      assert.equal(lstatSync(join(dest, 'tmp')).mtimeMs, 1000_000);
      assert.equal(lstatSync(join(dest, 'f')).mode & 0o7777, 0o640);
      assert.equal(lstatSync(join(dest, 'f')).mtimeMs, 2000_000);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('creates hardlinks sharing one inode', async () => {
    const { dest, base } = await unpack([tar(file('a', 'x'), hardlink('b', 'a'))]);
    try {
      assert.equal(lstatSync(join(dest, 'a')).ino, lstatSync(join(dest, 'b')).ino);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('replaces a directory from a lower layer with a file', async () => {
    const { dest, base } = await unpack([tar(dir('x'), file('x/inner', 'y')), tar(file('x', 'file now'))]);
    try {
      assert.equal(readFileSync(join(dest, 'x'), 'utf8'), 'file now');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('refuses a non-empty DEST without touching it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'customs-apply-'));
    try {
      const dest = join(base, 'dest');
      writeFileSync(join(base, 'l'), tar(file('a', 'x')));
      await assert.rejects(
        unpackLayers({
          layers: [],
          dest: join(base, 'l'),
          sandbox: 'none-for-tests',
        }),
        { code: 'USAGE' },
      );
      await unpackLayers({ layers: [], dest, sandbox: 'none-for-tests' });
      assert.ok(lstatSync(dest).isDirectory());
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
