import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MediaTypes } from '../../src/oci/index.js';
import { bytesOf, descriptorOf, freshStore, ingestTinyImage, snapshot } from './store-helpers.js';

describe('fsck', () => {
  it('reports a fresh store with tagged images clean', async () => {
    const store = await freshStore();
    const { manifest } = await ingestTinyImage(store);
    await store.tag('a', manifest);
    const report = await store.fsck();
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.garbage, []);
    assert.equal(report.blobsChecked, 3);
    assert.equal(report.refsChecked, 3);
  });

  it('finds a changed blob, a missing blob, a wrong size, a stray file and an unparsable manifest, changing nothing', async () => {
    const store = await freshStore();
    const a = await ingestTinyImage(store, bytesOf(100, 1));
    const b = await ingestTinyImage(store, bytesOf(100, 2));
    await store.tag('a', a.manifest);
    await store.tag('b', b.manifest);
    // a: its layer flipped (digest mismatch); b: its config removed (missing blob).
    const flipped = bytesOf(100, 1);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await writeFile(store.blobPath(a.layer.digest), flipped);
    await rm(store.blobPath(b.config.digest));
    await writeFile(join(store.root, 'blobs', 'sha256', 'not-a-digest'), 'x');
    await mkdir(join(store.root, 'blobs', 'md5'));
    // An entry whose manifest does not parse, and one whose size disagrees with its descriptor.
    const junk = Buffer.from('{"schemaVersion":2,"layers":"nope"}');
    const junkDesc = descriptorOf(junk, MediaTypes.ociManifest);
    await store.ingestBytes(junkDesc, junk);
    const blob = bytesOf(40, 9);
    const blobDesc = descriptorOf(blob);
    await store.ingestBytes(blobDesc, blob);
    const index = {
      schemaVersion: 2,
      manifests: [
        { ...a.manifest, annotations: { 'org.opencontainers.image.ref.name': 'a' } },
        { ...b.manifest, annotations: { 'org.opencontainers.image.ref.name': 'b' } },
        junkDesc,
        { ...blobDesc, size: 41 },
      ],
    };
    await writeFile(join(store.root, 'index.json'), JSON.stringify(index));
    const before = await snapshot(store.root);
    const report = await store.fsck();
    assert.equal(await snapshot(store.root), before);
    const kinds = report.problems.map((p) => `${p.kind} ${p.path}`).sort();
    assert.deepEqual(
      kinds,
      [
        `digest-mismatch blobs/sha256/${a.layer.digest.slice(7)}`,
        `missing-blob blobs/sha256/${b.config.digest.slice(7)}`,
        `size-mismatch blobs/sha256/${blobDesc.digest.slice(7)}`,
        `stray-file blobs/md5`,
        `stray-file blobs/sha256/not-a-digest`,
        `unparsable blobs/sha256/${junkDesc.digest.slice(7)}`,
      ].sort(),
    );
  });

  it('reports a missing index.json as a bad layout', async () => {
    const store = await freshStore();
    await rm(join(store.root, 'index.json'));
    const report = await store.fsck();
    assert.deepEqual(
      report.problems.map((p) => p.kind),
      ['bad-layout'],
    );
  });
});

describe('gc', () => {
  it('removes unreferenced blobs and keeps everything reachable, including unparsable referenced blobs', async () => {
    const store = await freshStore();
    const kept = await ingestTinyImage(store, bytesOf(100, 1));
    const dropped = await ingestTinyImage(store, bytesOf(200, 2));
    const junk = Buffer.from('not json at all');
    const junkDesc = descriptorOf(junk, MediaTypes.ociManifest);
    await store.ingestBytes(junkDesc, junk);
    await store.tag('kept', kept.manifest);
    await store.tag('dropped', dropped.manifest);
    assert.equal(await store.untag('dropped'), true);
    // tag() refuses an unparsable manifest, but another tool may have written one: add it by hand.
    const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')) as { manifests: unknown[] };
    index.manifests.push(junkDesc);
    await writeFile(join(store.root, 'index.json'), JSON.stringify(index));

    const report = await store.gc();
    assert.deepEqual(
      [...report.removedBlobs].sort(),
      [dropped.manifest.digest, dropped.config.digest, dropped.layer.digest].sort(),
    );
    assert.equal(report.removedBytes, dropped.manifest.size + dropped.config.size + dropped.layer.size);
    for (const d of [kept.manifest, kept.config, kept.layer, junkDesc]) assert.equal(await store.has(d), true);
    const after = await store.fsck();
    assert.deepEqual(
      after.problems.map((p) => p.kind),
      ['unparsable'],
    );
  });

  it('walks image indexes down to their manifests', async () => {
    const store = await freshStore();
    const img = await ingestTinyImage(store);
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [img.manifest] }),
    );
    const indexDesc = descriptorOf(index, MediaTypes.ociIndex);
    await store.ingestBytes(indexDesc, index);
    await store.tag('multi', indexDesc);
    const report = await store.gc();
    assert.deepEqual(report.removedBlobs, []);
    assert.deepEqual((await store.fsck()).problems, []);
    assert.equal((await store.fsck()).refsChecked, 4);
  });

  it('removes quarantine files of dead processes and index temp files, but not those of live ones', async () => {
    const store = await freshStore();
    await ingestTinyImage(store);
    const q = join(store.root, '.customs', 'quarantine');
    const { HOST_TAG } = await import('../../src/store/owner.js');
    const dead = `999999999-${HOST_TAG}-0123456789ab.partial`;
    const live = `${process.pid}-${HOST_TAG}-0123456789ab.partial`;
    await writeFile(join(q, dead), 'x');
    await writeFile(join(q, live), 'y');
    await writeFile(join(store.root, '.tmp-index.json-abcdef'), '{');
    const fsck = await store.fsck();
    assert.deepEqual(fsck.problems, []);
    assert.deepEqual([...fsck.garbage].sort(), ['.customs/quarantine/' + dead, '.tmp-index.json-abcdef'].sort());
    const report = await store.gc();
    assert.equal(report.removedTempFiles, 2);
    assert.deepEqual(await readdir(q), [live]);
  });
});
