// Round trips with the peers that read and write OCI image layouts: skopeo (containers/image oci transport)
// and umoci. A missing peer fails the test (run: bash scripts/install-peers.sh); it never skips.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MediaTypes } from '../../src/oci/index.js';
import { openStore } from '../../src/store/index.js';
import { requirePeer } from '../integration/helpers/peers.js';
import { runOk } from '../integration/helpers/run.js';
import { chunked, descriptorOf, freshStore, tempDir } from './store-helpers.js';

const NAME = '127.0.0.1:5000/tiny:1';

/** One ustar header block (POSIX.1-1988) for a regular file, checksum filled in. */
function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number): void => void h.write(s.slice(0, len), off, len, 'ascii');
  const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, '0')}\0`;
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  put('        ', 148, 8); // checksum field counts as spaces while summing
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

function tarOf(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    parts.push(ustarHeader(name, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

describe('interop with skopeo and umoci', () => {
  it('skopeo inspects and umoci unpacks an image customs stored; customs reads what skopeo copies', async () => {
    const skopeo = requirePeer('skopeo');
    const umoci = requirePeer('umoci');
    const store = await freshStore();

    const tar = tarOf({ 'hello.txt': 'hello from customs\n' });
    const layer = gzipSync(tar);
    const layerDesc = descriptorOf(layer, MediaTypes.ociLayerGzip);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [descriptorOf(tar).digest] },
      }),
    );
    const configDesc = descriptorOf(config, MediaTypes.ociConfig);
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] }),
    );
    const manifestDesc = descriptorOf(manifest, MediaTypes.ociManifest);
    await store.ingest(layerDesc, chunked(layer, 100));
    await store.ingestBytes(configDesc, config);
    await store.ingestBytes(manifestDesc, manifest);
    await store.tag(NAME, manifestDesc);

    const inspected = JSON.parse((await runOk(skopeo, ['inspect', `oci:${store.root}:${NAME}`])).stdout) as {
      Digest: string;
      Layers: string[];
    };
    assert.equal(inspected.Digest, manifestDesc.digest);
    assert.deepEqual(inspected.Layers, [layerDesc.digest]);

    const bundle = join(await tempDir('customs-bundle-'), 'bundle');
    await runOk(umoci, ['unpack', '--rootless', '--image', `${store.root}:${NAME}`, bundle]);
    assert.equal(await readFile(join(bundle, 'rootfs', 'hello.txt'), 'utf8'), 'hello from customs\n');

    const other = join(await tempDir('customs-other-'), 'layout');
    await runOk(skopeo, ['copy', '--quiet', `oci:${store.root}:${NAME}`, `oci:${other}:latest`]);
    const copied = await openStore(other, { create: false });
    assert.equal((await copied.resolve('latest'))?.digest, manifestDesc.digest);
    const report = await copied.fsck();
    assert.deepEqual(report.problems, []);
    assert.equal(report.refsChecked, 3);
    // customs can tag into a layout skopeo wrote, and skopeo still reads it afterwards.
    await copied.tag('again', manifestDesc);
    await runOk(skopeo, ['inspect', `oci:${other}:again`]);
    await runOk(skopeo, ['inspect', `oci:${other}:latest`]);

    // The peers did not disturb customs' store.
    const ours = await store.fsck();
    assert.deepEqual(ours.problems, []);
  });
});
