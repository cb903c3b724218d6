// pullImage with a store that is still opening: the first blob requests go out before the store is ready, and
// a blob the store turns out to hold is dropped unread (src/ops/pull.ts). A fake Source (to observe every body
// it hands out) and a real store in a temp dir.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Descriptor, FetchedManifest, Source } from '../../src/oci/index.js';
import { pullImage } from '../../src/ops/pull.js';
import type { Digest, Reference } from '../../src/ref/index.js';
import { openStore, type ContentStore } from '../../src/store/index.js';
import { OCI_MANIFEST, layerDescriptor, manifestBytes, sha256 } from '../adversarial/helpers/hostile-server.js';

const layer = Buffer.from('a layer that is not really gzip, pull never decodes it');
const config = Buffer.from(
  JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('tar')] } }),
);
const configDesc: Descriptor = {
  mediaType: 'application/vnd.oci.image.config.v1+json',
  digest: sha256(config) as Digest,
  size: config.length,
};
const layerDesc = layerDescriptor(layer);
const manifest = manifestBytes({ config: configDesc, layers: [layerDesc] });
const ref: Reference = { registry: '127.0.0.1:5000', repository: 'app', tag: 'v1' };

/** A Source over the three documents above that remembers every body it handed out. */
function recordingSource(): Source & { bodies: { digest: string; body: Readable; read: boolean }[] } {
  const blobs = new Map<string, Buffer>([
    [configDesc.digest, config],
    [layerDesc.digest, layer],
  ]);
  const bodies: { digest: string; body: Readable; read: boolean }[] = [];
  return {
    bodies,
    manifest(): Promise<FetchedManifest> {
      return Promise.resolve({
        descriptor: { mediaType: OCI_MANIFEST, digest: sha256(manifest) as Digest, size: manifest.length },
        bytes: manifest,
        contentType: OCI_MANIFEST,
      });
    },
    fetch(_ref: Reference, desc: Descriptor): Promise<Readable> {
      const bytes = blobs.get(desc.digest);
      if (bytes === undefined) return Promise.reject(new Error(`no blob ${desc.digest}`));
      const entry = { digest: desc.digest, body: Readable.from([bytes]), read: false };
      entry.body.once('data', () => (entry.read = true));
      entry.body.pause();
      bodies.push(entry);
      return Promise.resolve(entry.body);
    },
  };
}

function later<T>(ms: number, value: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    setTimeout(() => {
      value().then(resolve, reject);
    }, ms);
  });
}

describe('pull with a store that is still opening', () => {
  test('the blob requests go out before the store is ready, and the pull completes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'customs-early-'));
    try {
      const source = recordingSource();
      let storeOpened = false;
      let fetchedBeforeStore = 0;
      const opening = later(100, async () => {
        fetchedBeforeStore = source.bodies.length;
        const s = await openStore(join(dir, 'store'), { create: true });
        storeOpened = true;
        return s;
      });
      const result = await pullImage(source, opening, ref);
      assert.equal(storeOpened, true);
      assert.equal(fetchedBeforeStore, 2);
      assert.equal(result.blobsFetched, 2);
      assert.equal(source.bodies.length, 2); // each blob requested once
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a blob the store already holds is dropped unread when the store is ready', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'customs-early-'));
    try {
      const store = await openStore(join(dir, 'store'), { create: true });
      await store.ingestBytes(layerDesc, layer);
      const source = recordingSource();
      const result = await pullImage(
        source,
        later(100, () => Promise.resolve<ContentStore>(store)),
        ref,
      );
      assert.equal(result.blobsPresent, 1);
      assert.equal(result.blobsFetched, 1);
      const layerBodies = source.bodies.filter((b) => b.digest === layerDesc.digest);
      assert.equal(layerBodies.length, 1);
      assert.equal(layerBodies[0]?.body.destroyed, true);
      assert.equal(layerBodies[0]?.read, false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a store that fails to open drops every early body and reports the store error', async () => {
    const source = recordingSource();
    const failing = later<ContentStore>(50, () => Promise.reject(new Error('store went away')));
    await assert.rejects(pullImage(source, failing, ref), /store went away/);
    assert.equal(source.bodies.length, 2);
    for (const b of source.bodies) {
      assert.equal(b.body.destroyed, true, b.digest);
      assert.equal(b.read, false, b.digest);
    }
  });

  test('with the store already open, nothing is requested for blobs it holds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'customs-early-'));
    try {
      const store = await openStore(join(dir, 'store'), { create: true });
      await store.ingestBytes(layerDesc, layer);
      await store.ingestBytes(configDesc, config);
      const source = recordingSource();
      const result = await pullImage(source, store, ref);
      assert.equal(result.blobsPresent, 2);
      assert.equal(source.bodies.length, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
