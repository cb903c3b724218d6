// The archive writers of src/export: deterministic ustar bytes, docker-archive manifest.json shape, OCI index
// annotations, re-verification of store content while writing, and an in-process export → load round trip.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import tarStream from 'tar-stream';
import { CustomsError } from '../../src/errors.js';
import {
  dockerManifestJson,
  dockerRepositoriesJson,
  ociIndexJson,
  planExport,
  repoTagsFor,
  tarStream as writeTar,
  ustarHeader,
  writeArchive,
  type ExportPlan,
  type TarEntrySpec,
} from '../../src/export/index.js';
import { MediaTypes, type Descriptor } from '../../src/oci/index.js';
import { indexArchive, loadArchiveInto } from '../../src/ops/load.js';
import { openStore, type ContentStore } from '../../src/store/index.js';
import { descriptorOf, tempDir } from './store-helpers.js';

const NAME = 'registry.test/team/app:1.0';

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts);
}

function bytesFile(name: string, body: string | Buffer): TarEntrySpec {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    type: 'file',
    name,
    size: b.length,
    body: () => [b],
  };
}

/** Entries as an independent reader (tar-stream) sees them. */
async function readWithTarStream(
  bytes: Buffer,
): Promise<{ name: string; type: string; size: number; mtime: number; uid: number; gid: number; body: Buffer }[]> {
  const out: { name: string; type: string; size: number; mtime: number; uid: number; gid: number; body: Buffer }[] = [];
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (Buffer.isBuffer(c)) chunks.push(c);
      });
      stream.on('end', () => {
        out.push({
          name: header.name,
          type: header.type ?? 'file',
          size: header.size ?? 0,
          mtime: header.mtime?.getTime() ?? -1,
          uid: header.uid ?? -1,
          gid: header.gid ?? -1,
          body: Buffer.concat(chunks),
        });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([bytes]).pipe(extract);
  await done;
  return out;
}

describe('deterministic tar writer', () => {
  it('writes sorted entries with mtime 0, uid/gid 0 and valid checksums, whatever the input order', async () => {
    const entries: TarEntrySpec[] = [
      bytesFile('manifest.json', '[]'),
      { type: 'dir', name: 'blobs' },
      bytesFile('blobs/b', 'bb'),
      bytesFile('blobs/a', 'a'),
    ];
    const one = await collect(writeTar(entries));
    const two = await collect(writeTar([...entries].reverse()));
    assert.deepEqual(one, two);
    const seen = await readWithTarStream(one);
    assert.deepEqual(
      seen.map((e) => [e.name, e.type, e.size]),
      [
        ['blobs/', 'directory', 0],
        ['blobs/a', 'file', 1],
        ['blobs/b', 'file', 2],
        ['manifest.json', 'file', 2],
      ],
    );
    for (const e of seen) {
      assert.equal(e.mtime, 0);
      assert.equal(e.uid, 0);
      assert.equal(e.gid, 0);
    }
    assert.equal(one.length % 512, 0);
    assert.deepEqual(one.subarray(one.length - 1024), Buffer.alloc(1024), 'ends with two zero blocks');
  });

  it('writes a ustar header byte for byte as POSIX lays it out', () => {
    const h = ustarHeader({ type: 'file', name: 'oci-layout', size: 30 });
    assert.equal(h.length, 512);
    assert.equal(h.subarray(0, 10).toString(), 'oci-layout');
    assert.equal(h.subarray(100, 108).toString('latin1'), '0000644\0');
    assert.equal(h.subarray(124, 136).toString('latin1'), '00000000036\0');
    assert.equal(h.subarray(136, 148).toString('latin1'), '00000000000\0');
    assert.equal(h.subarray(257, 265).toString('latin1'), 'ustar\x0000');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    assert.equal(parseInt(h.subarray(148, 154).toString('latin1'), 8), sum);
  });

  it('refuses duplicate names and bodies that lie about their size', async () => {
    await assert.rejects(
      collect(writeTar([bytesFile('a', 'x'), bytesFile('a', 'y')])),
      (e: unknown) => e instanceof CustomsError && e.code === 'INTERNAL',
    );
    const liar: TarEntrySpec = {
      type: 'file',
      name: 'a',
      size: 5,
      body: () => [Buffer.from('abc')],
    };
    await assert.rejects(collect(writeTar([liar])), (e: unknown) => e instanceof CustomsError && e.code === 'INTERNAL');
  });
});

describe('archive metadata', () => {
  const layer: Descriptor = {
    mediaType: MediaTypes.ociLayerGzip,
    digest: `sha256:${'a'.repeat(64)}` as Descriptor['digest'],
    size: 10,
  };
  const config: Descriptor = {
    mediaType: MediaTypes.ociConfig,
    digest: `sha256:${'c'.repeat(64)}` as Descriptor['digest'],
    size: 5,
  };
  const top: Descriptor = {
    mediaType: MediaTypes.ociManifest,
    digest: `sha256:${'f'.repeat(64)}` as Descriptor['digest'],
    size: 99,
  };
  const plan = (name: string): ExportPlan => ({
    name,
    top,
    documents: [{ descriptor: top, bytes: Buffer.alloc(0) }],
    images: [
      {
        descriptor: top,
        manifest: { kind: 'manifest', mediaType: MediaTypes.ociManifest, config, layers: [layer] },
        configBytes: Buffer.alloc(0),
        config: { architecture: 'amd64', os: 'linux', diffIds: [], raw: {} },
      },
    ],
    blobs: [config, layer],
  });

  it('manifest.json has the shape docker load reads, pointing at blobs/sha256 paths', () => {
    assert.deepEqual(JSON.parse(dockerManifestJson(plan(NAME)).toString()), [
      { Config: `blobs/sha256/${'c'.repeat(64)}`, RepoTags: [NAME], Layers: [`blobs/sha256/${'a'.repeat(64)}`] },
    ]);
    assert.deepEqual(JSON.parse(dockerRepositoriesJson(plan(NAME))?.toString() ?? ''), {
      'registry.test/team/app': { '1.0': 'a'.repeat(64) },
    });
  });

  it('RepoTags holds only fully qualified tagged names (docker load refuses digests there)', () => {
    assert.deepEqual(repoTagsFor('docker.io/library/busybox:latest'), ['docker.io/library/busybox:latest']);
    assert.deepEqual(repoTagsFor(`registry.test/app@sha256:${'1'.repeat(64)}`), []);
    assert.deepEqual(repoTagsFor('latest'), []);
    assert.equal(dockerRepositoriesJson(plan('latest')), undefined);
  });

  it('index.json names the image with ref.name and, when qualified, io.containerd.image.name', () => {
    const idx = JSON.parse(ociIndexJson(NAME, top).toString()) as {
      manifests: { annotations: Record<string, string>; digest: string }[];
    };
    assert.equal(idx.manifests[0]?.digest, top.digest);
    assert.deepEqual(idx.manifests[0]?.annotations, {
      'io.containerd.image.name': NAME,
      'org.opencontainers.image.ref.name': NAME,
    });
    const bare = JSON.parse(ociIndexJson('latest', top).toString()) as {
      manifests: { annotations: Record<string, string> }[];
    };
    assert.deepEqual(bare.manifests[0]?.annotations, { 'org.opencontainers.image.ref.name': 'latest' });
  });
});

describe('writeArchive over a real store', () => {
  let store: ContentStore;
  let dir: string;
  let manifestDesc: Descriptor;
  let layerDesc: Descriptor;

  before(async () => {
    dir = await tempDir('customs-export-');
    store = await openStore(join(dir, 'store'), { create: true });
    const layerBytes = Buffer.from('pretend this is a gzip layer');
    const diffId = `sha256:${createHash('sha256').update('uncompressed').digest('hex')}`;
    const configBytes = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }),
    );
    layerDesc = descriptorOf(layerBytes, MediaTypes.ociLayerGzip);
    const configDesc = descriptorOf(configBytes, MediaTypes.ociConfig);
    const manifestBytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] }),
    );
    manifestDesc = descriptorOf(manifestBytes, MediaTypes.ociManifest);
    await store.ingestBytes(layerDesc, layerBytes);
    await store.ingestBytes(configDesc, configBytes);
    await store.ingestBytes(manifestDesc, manifestBytes);
    await store.tag(NAME, manifestDesc);
  });

  it('writes the same bytes every time, in both formats, and an independent reader agrees', async () => {
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const plan = await planExport(store, NAME, manifestDesc);
      const a = join(dir, `a.${format}`);
      const b = join(dir, `b.${format}`);
      await writeArchive(store, plan, format, a);
      await writeArchive(store, plan, format, b);
      const bytes = await readFile(a);
      assert.deepEqual(bytes, await readFile(b));
      const names = (await readWithTarStream(bytes)).map((e) => e.name);
      const expected = [
        'blobs/',
        'blobs/sha256/',
        ...[
          ...new Set(
            [layerDesc, manifestDesc, plan.images[0]!.manifest.config].map((d) => `blobs/sha256/${d.digest.slice(7)}`),
          ),
        ].sort(),
        'index.json',
      ];
      if (format === 'docker-archive') expected.push('manifest.json');
      expected.push('oci-layout');
      if (format === 'docker-archive') expected.push('repositories');
      assert.deepEqual(names, expected);
      // customs' own strict reader accepts what the writer wrote
      const fh = await open(a, 'r');
      try {
        const members = await indexArchive(fh, bytes.length);
        assert.equal(members.size, expected.length);
      } finally {
        await fh.close();
      }
    }
  });

  it('export → load into another store keeps the manifest digest and the name', async () => {
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const file = join(dir, `rt.${format}`);
      await writeArchive(store, await planExport(store, NAME, manifestDesc), format, file);
      const other = await openStore(join(dir, `other-${format}`), { create: true });
      const r = await loadArchiveInto(other, file);
      assert.equal(r.format, 'oci-archive', 'customs reads its own docker-archive through the OCI index');
      assert.deepEqual(r.images[0]?.names, [NAME]);
      assert.equal(r.images[0]?.descriptor.digest, manifestDesc.digest);
      assert.equal((await other.fsck()).problems.length, 0);
    }
  });

  it('a blob corrupted in the store stops the export: no archive and no temp file are left', async () => {
    const plan = await planExport(store, NAME, manifestDesc);
    await writeFile(store.blobPath(layerDesc.digest), Buffer.from('pretend this is a gzip lay3r'));
    const target = join(dir, 'out', 'corrupt.tar');
    await mkdir(join(dir, 'out'));
    await assert.rejects(
      writeArchive(store, plan, 'oci-archive', target),
      (e: unknown) => e instanceof CustomsError && e.code === 'DIGEST_MISMATCH',
    );
    assert.deepEqual(await readdir(join(dir, 'out')), []);
    await writeFile(store.blobPath(layerDesc.digest), Buffer.from('pretend this is a gzip layer'));
  });
});
