// removeStoreIfUnused: a failed command may remove the store it created, but only a store that holds nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore, removeStoreIfUnused } from '../../src/store/index.js';
import { bytesOf, descriptorOf, tempDir } from './store-helpers.js';

async function freshLayout(): Promise<string> {
  const root = join(await tempDir(), 'store');
  await openStore(root, { create: true });
  return root;
}

test('an empty layout is removed, directory and all', async () => {
  const root = await freshLayout();
  assert.equal(await removeStoreIfUnused(root), true);
  await assert.rejects(stat(root), /ENOENT/);
});

test('a store with a blob, a tag, a quarantine file or an unknown file is left alone', async () => {
  const withBlob = await freshLayout();
  const b = bytesOf(100, 7);
  await (await openStore(withBlob, { create: false })).ingestBytes(descriptorOf(b), b);

  const withQuarantine = await freshLayout();
  await mkdir(join(withQuarantine, '.customs', 'quarantine'), { recursive: true });
  await writeFile(join(withQuarantine, '.customs', 'quarantine', '1-00000000-000000000000.partial'), 'x');

  const withStranger = await freshLayout();
  await writeFile(join(withStranger, 'README'), 'mine\n');

  for (const root of [withBlob, withQuarantine, withStranger]) {
    assert.equal(await removeStoreIfUnused(root), false, root);
    assert.ok((await stat(join(root, 'index.json'))).isFile(), `${root}: index.json kept`);
    assert.ok((await stat(join(root, 'oci-layout'))).isFile(), `${root}: oci-layout kept`);
  }
});

test('a path that is not a store at all is left alone', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'index.json'), 'not json');
  assert.equal(await removeStoreIfUnused(dir), false);
  assert.ok((await stat(join(dir, 'index.json'))).isFile());
});
