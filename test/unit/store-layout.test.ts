import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CustomsError } from '../../src/errors.js';
import { MediaTypes } from '../../src/oci/index.js';
import { parseDigest } from '../../src/ref/index.js';
import { openStore, REF_NAME_ANNOTATION } from '../../src/store/index.js';
import { bytesOf, descriptorOf, freshStore, ingestTinyImage, snapshot, tempDir } from './store-helpers.js';

function hasCode(code: string) {
  return (err: unknown): boolean => err instanceof CustomsError && err.code === code;
}

describe('openStore', () => {
  it('creates an OCI image layout in an absent directory', async () => {
    const root = join(await tempDir(), 'new', 'store');
    await openStore(root, { create: true });
    assert.deepEqual(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(index, { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] });
    assert.deepEqual(await readdir(join(root, 'blobs')), ['sha256']);
  });

  it('creates a layout in an existing empty directory and reopens it without create', async () => {
    const root = await tempDir();
    await openStore(root, { create: true });
    const store = await openStore(root, { create: false });
    assert.deepEqual(await store.list(), []);
  });

  it('refuses a missing directory without create', async () => {
    const root = join(await tempDir(), 'absent');
    await assert.rejects(openStore(root, { create: false }), hasCode('STORE_IO'));
  });

  it('refuses a non-empty directory that is not a layout, with a hint, and leaves it alone', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'notes.txt'), 'mine');
    const before = await readdir(root);
    await assert.rejects(openStore(root, { create: true }), (err: unknown) => {
      assert.ok(err instanceof CustomsError);
      assert.equal(err.code, 'STORE_CORRUPT');
      assert.match(err.message, /not an OCI image layout/);
      assert.ok(err.hint !== undefined && err.hint.length > 0);
      return true;
    });
    assert.deepEqual(await readdir(root), before);
  });

  it('refuses an unsupported oci-layout version', async () => {
    const root = await tempDir();
    await openStore(root, { create: true });
    await writeFile(join(root, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await assert.rejects(openStore(root, { create: false }), (err: unknown) => {
      assert.ok(err instanceof CustomsError && err.code === 'STORE_CORRUPT');
      assert.match(err.message, /expected 1\.0\.0, got "2\.0\.0"/);
      return true;
    });
  });

  it('refuses an index.json with duplicate keys', async () => {
    const root = await tempDir();
    await openStore(root, { create: true });
    await writeFile(join(root, 'index.json'), '{"schemaVersion":2,"manifests":[],"manifests":[]}');
    await assert.rejects(openStore(root, { create: false }), hasCode('STORE_CORRUPT'));
  });

  it('finishes a create that was interrupted before oci-layout was written', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(root, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    const store = await openStore(root, { create: true });
    assert.deepEqual(await store.list(), []);
  });

  // Found by CI: several `customs pull`s into one fresh store. One listed the directory before another's create
  // wrote the marker, then saw blobs it had since stored and refused the store as "not a layout".
  it('opens a layout that another process finished creating and began filling after the first look', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(root, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    const opening = openStore(root, { create: false });
    // The directory was listed synchronously inside the call; what follows is the other process's work.
    writeFileSync(join(root, 'blobs', 'sha256', 'a'.repeat(64)), 'content');
    writeFileSync(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const store = await opening;
    assert.deepEqual(await store.list(), []);
  });

  // The "hanging fifo" class (containerd/containerd#330): a FIFO planted as the index.json of a half-made store
  // must be refused at once, never waited on.
  it('refuses a half-made store whose index.json is a FIFO, without waiting on it', { timeout: 10_000 }, async () => {
    const root = await tempDir();
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    execFileSync('mkfifo', [join(root, 'index.json')]);
    await assert.rejects(openStore(root, { create: true }), (err: unknown) => {
      assert.ok(err instanceof CustomsError && err.code === 'STORE_CORRUPT');
      assert.match(err.message, /no oci-layout file/);
      return true;
    });
  });

  it('still refuses a directory with content and no marker', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(root, 'blobs', 'sha256', 'a'.repeat(64)), 'content');
    await assert.rejects(openStore(root, { create: true }), (err: unknown) => {
      assert.ok(err instanceof CustomsError && err.code === 'STORE_CORRUPT');
      assert.match(err.message, /no oci-layout file/);
      return true;
    });
  });
});

describe('tags in index.json', () => {
  it('tags, resolves, lists, retags in place and untags', async () => {
    const store = await freshStore();
    const a = await ingestTinyImage(store, bytesOf(100, 1));
    const b = await ingestTinyImage(store, bytesOf(100, 2));
    await store.tag('127.0.0.1:5000/tiny:1', a.manifest);
    await store.tag('other', b.manifest);
    assert.equal((await store.resolve('127.0.0.1:5000/tiny:1'))?.digest, a.manifest.digest);
    await store.tag('127.0.0.1:5000/tiny:1', b.manifest);
    const entries = await store.list();
    assert.deepEqual(
      entries.map((e) => [e.name, e.descriptor.digest]),
      [
        ['127.0.0.1:5000/tiny:1', b.manifest.digest],
        ['other', b.manifest.digest],
      ],
    );
    assert.equal(await store.untag('other'), true);
    assert.equal(await store.untag('other'), false);
    assert.equal(await store.resolve('other'), undefined);
  });

  it('writes the tag as the org.opencontainers.image.ref.name annotation', async () => {
    const store = await freshStore();
    const { manifest } = await ingestTinyImage(store);
    await store.tag('example.com/a/b:v1', manifest);
    const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')) as {
      manifests: { annotations: Record<string, string>; digest: string }[];
    };
    assert.equal(index.manifests[0]?.annotations[REF_NAME_ANNOTATION], 'example.com/a/b:v1');
    assert.equal(index.manifests[0]?.digest, manifest.digest);
  });

  it('refuses tag names outside the ref.name grammar', async () => {
    const store = await freshStore();
    const { manifest } = await ingestTinyImage(store);
    for (const bad of ['', 'a b', '../x', 'a//b', '-a', 'a\nb']) {
      await assert.rejects(store.tag(bad, manifest), hasCode('USAGE'), bad);
    }
  });

  it('refuses to tag a descriptor whose blob is missing, saying a gc may have removed it', async () => {
    const store = await freshStore();
    const before = await snapshot(store.root);
    const ghost = descriptorOf(Buffer.from('never ingested'), MediaTypes.ociManifest);
    await assert.rejects(store.tag('ghost', ghost), (err: unknown) => {
      assert.ok(err instanceof CustomsError && err.code === 'STORE_CORRUPT');
      assert.equal(err.hint, 'blob missing; a concurrent gc may have removed it; run the pull again');
      return true;
    });
    assert.equal(await snapshot(store.root), before);
  });

  it('refuses to tag a manifest whose layer is missing', async () => {
    const store = await freshStore();
    const layer = bytesOf(50, 3);
    const { manifest, layer: layerDesc } = await ingestTinyImage(store, layer);
    const { rm } = await import('node:fs/promises');
    await rm(store.blobPath(layerDesc.digest));
    await assert.rejects(store.tag('x', manifest), (err: unknown) => {
      assert.ok(err instanceof CustomsError && err.code === 'STORE_CORRUPT');
      assert.match(err.message, new RegExp(layerDesc.digest));
      return true;
    });
  });

  it('keeps unknown index.json fields and foreign entries intact when rewriting', async () => {
    const store = await freshStore();
    const { manifest, config } = await ingestTinyImage(store);
    const foreign = {
      mediaType: MediaTypes.ociManifest,
      digest: manifest.digest,
      size: manifest.size,
      'x-unknown-entry-field': { keep: [1, 2, 3] },
      annotations: { 'org.example.note': 'no name on this entry' },
    };
    const named = {
      ...config,
      annotations: { [REF_NAME_ANNOTATION]: 'latest', other: 'v' },
      platform: { os: 'linux', architecture: 'arm64', 'x-plat': 1 },
    };
    const doc = { schemaVersion: 2, 'x-top-level': 'kept', manifests: [foreign, named], annotations: { a: 'b' } };
    await writeFile(join(store.root, 'index.json'), JSON.stringify(doc));
    const reopened = await openStore(store.root, { create: false });
    assert.deepEqual(
      (await reopened.list()).map((e) => e.name),
      [undefined, 'latest'],
    );
    assert.equal((await reopened.resolve('latest'))?.digest, config.digest);
    await reopened.tag('new', manifest);
    await reopened.untag('new');
    assert.deepEqual(JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')), doc);
  });

  it('refuses to guess when one name points at two different descriptors', async () => {
    const store = await freshStore();
    const a = await ingestTinyImage(store, bytesOf(10, 1));
    const b = await ingestTinyImage(store, bytesOf(10, 2));
    const entry = (d: typeof a.manifest) => ({ ...d, annotations: { [REF_NAME_ANNOTATION]: 'dup' } });
    await writeFile(
      join(store.root, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [entry(a.manifest), entry(b.manifest)] }),
    );
    await assert.rejects(store.resolve('dup'), hasCode('STORE_CORRUPT'));
  });

  it('serialises concurrent tags from one process without losing any', async () => {
    const store = await freshStore();
    const { manifest } = await ingestTinyImage(store);
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.tag(`n-${i}`, manifest)));
    assert.equal((await store.list()).length, 30);
  });

  it('computes blob paths only from parsed digests', async () => {
    const store = await freshStore();
    const d = parseDigest(`sha256:${'0'.repeat(64)}`);
    assert.equal(store.blobPath(d), join(store.root, 'blobs', 'sha256', '0'.repeat(64)));
  });
});

describe('the store lock', () => {
  it('waits for a live holder and gives up with STORE_LOCKED naming it', async () => {
    const root = await tempDir();
    const store = await openStore(root, { create: true, lockTimeoutMs: 300 });
    const { manifest } = await ingestTinyImage(store);
    const { hostname } = await import('node:os');
    await writeFile(join(root, '.customs', 'lock'), JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'x' }));
    await assert.rejects(store.tag('a', manifest), (err: unknown) => {
      assert.ok(err instanceof CustomsError && err.code === 'STORE_LOCKED');
      assert.match(err.message, new RegExp(`pid ${process.pid}`));
      return true;
    });
    assert.equal(await store.resolve('a'), undefined);
  });

  it('breaks a lock left by a dead process on this host', async () => {
    const root = await tempDir();
    const store = await openStore(root, { create: true, lockTimeoutMs: 300 });
    const { manifest } = await ingestTinyImage(store);
    const { hostname } = await import('node:os');
    await writeFile(join(root, '.customs', 'lock'), JSON.stringify({ pid: 999_999_999, host: hostname(), nonce: 'x' }));
    assert.deepEqual((await store.fsck()).garbage, ['.customs/lock']);
    await store.tag('a', manifest);
    assert.equal((await store.resolve('a'))?.digest, manifest.digest);
    assert.deepEqual(await readdir(join(root, '.customs')), ['quarantine']);
  });

  it('never breaks a lock held from another host', async () => {
    const root = await tempDir();
    const store = await openStore(root, { create: true, lockTimeoutMs: 200 });
    const { manifest } = await ingestTinyImage(store);
    await writeFile(
      join(root, '.customs', 'lock'),
      JSON.stringify({ pid: 999_999_999, host: 'elsewhere.invalid', nonce: 'x' }),
    );
    await assert.rejects(store.tag('a', manifest), hasCode('STORE_LOCKED'));
  });
});
