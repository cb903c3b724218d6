// Attack: path traversal through a digest (`sha256:../../x`, cf. CVE-2021-21285-style digest-as-path bugs and
// umoci's "never build a path from an unvalidated digest") and symlinks planted in blobs/ to make the store
// read or overwrite files outside it. Canaries outside the store must stay untouched.
import assert from 'node:assert/strict';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CustomsError } from '../../src/errors.js';
import { MediaTypes } from '../../src/oci/index.js';
import type { Digest } from '../../src/ref/index.js';
import { bytesOf, chunked, descriptorOf, freshStore, snapshot } from '../unit/store-helpers.js';

describe('digests never become paths unparsed', () => {
  it('refuses a traversal digest in blobPath, ingest, has, open and tag without touching the canary', async () => {
    const store = await freshStore();
    const canary = join(store.root, '..', 'canary');
    await writeFile(canary, 'canary');
    const before = await snapshot(store.root);
    const evil = 'sha256:../../canary' as Digest;
    const desc = { mediaType: MediaTypes.ociLayer, digest: evil, size: 3 };
    const refused = (err: unknown): boolean =>
      err instanceof CustomsError && (err.code === 'REFERENCE_INVALID' || err.code === 'MANIFEST_INVALID');
    assert.throws(() => store.blobPath(evil), refused);
    await assert.rejects(store.ingest(desc, chunked(Buffer.from('pwn'), 1)), refused);
    await assert.rejects(store.ingestBytes(desc, Buffer.from('pwn')), refused);
    await assert.rejects(store.has(desc), refused);
    await assert.rejects(store.open(evil), refused);
    await assert.rejects(store.readBlob(evil, 10), refused);
    await assert.rejects(store.tag('x', desc), refused);
    assert.equal(await readFile(canary, 'utf8'), 'canary');
    assert.equal(await snapshot(store.root), before);
  });

  it('does not follow a symlink planted in blobs/ to a file outside the store', async () => {
    const store = await freshStore();
    const secret = join(store.root, '..', 'secret');
    await writeFile(secret, 'top secret');
    const desc = descriptorOf(Buffer.from('top secret'));
    await symlink(secret, store.blobPath(desc.digest));
    assert.equal(await store.has(desc), false);
    await assert.rejects(
      store.open(desc.digest),
      (err: unknown) => err instanceof CustomsError && err.code === 'STORE_CORRUPT',
    );
    await assert.rejects(store.readBlob(desc.digest, 100), (err: unknown) => err instanceof CustomsError);
    // Ingesting the real bytes replaces the link itself; the target outside the store is unchanged.
    await store.ingest(desc, chunked(Buffer.from('top secret'), 3));
    assert.equal(await readFile(secret, 'utf8'), 'top secret');
    assert.equal((await store.readBlob(desc.digest, 100)).toString(), 'top secret');
  });

  it('treats a symlinked blob as not present rather than as trusted content', async () => {
    const store = await freshStore();
    const outside = join(store.root, '..', 'outside');
    const bytes = bytesOf(10, 1);
    await writeFile(outside, bytes);
    const desc = descriptorOf(bytes);
    await symlink(outside, store.blobPath(desc.digest));
    await assert.rejects(
      store.tag('linked', desc),
      (err: unknown) => err instanceof CustomsError && err.code === 'STORE_CORRUPT',
    );
  });
});
