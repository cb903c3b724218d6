// customs unpack re-verifies the store before writing anything to DEST (issue 4, order of operations step 1): a
// blob tampered on disk after pull (an attacker with write access to the store, or bit rot), a config whose diff_ids
// disagree with the manifest, an unknown layer media type (media-type sniffing would guess) and a foreign
// `--layout` with a lying blob are all refused, DEST stays absent and a canary outside DEST is untouched.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CustomsError } from '../../src/errors.js';
import { createContext, unpackImage } from '../../src/ops/index.js';
import { openStore } from '../../src/store/index.js';
import type { Descriptor } from '../../src/oci/index.js';
import { parseDigest } from '../../src/ref/index.js';
import { dir, file, gzip, tar } from './unpack/tar-builder.js';

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Built {
  root: string;
  name: string;
  layerPath: string;
}

let work: string;

/** Build a one-layer image straight into a fresh store through ingest, with optional lies. */
async function build(opts: { diffIds?: string[]; layerMediaType?: string } = {}): Promise<Built> {
  const root = await mkdtemp(join(work, 'store-'));
  const store = await openStore(root, { create: true });
  const layerTar = tar(dir('etc/'), file('etc/hostname', 'customs\n'));
  const layer = gzip(layerTar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: opts.diffIds ?? [sha(layerTar)] },
    }),
  );
  const layerDesc: Descriptor = {
    mediaType: opts.layerMediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: parseDigest(sha(layer)),
    size: layer.length,
  };
  const configDesc: Descriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: parseDigest(sha(config)),
    size: config.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDesc,
      layers: [layerDesc],
    }),
  );
  const manifestDesc: Descriptor = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: parseDigest(sha(manifest)),
    size: manifest.length,
  };
  await store.ingestBytes(layerDesc, layer);
  await store.ingestBytes(configDesc, config);
  await store.ingestBytes(manifestDesc, manifest);
  const name = '127.0.0.1:5000/tiny:1';
  await store.tag(name, manifestDesc);
  return { root, name, layerPath: store.blobPath(layerDesc.digest) };
}

async function refusedUnpack(b: Built, code: string, layout = false): Promise<void> {
  const dest = join(work, `dest-${Math.random().toString(16).slice(2)}`);
  const canary = join(work, 'canary');
  writeFileSync(canary, 'untouched');
  const ctx = await createContext({ env: { HOME: work, CUSTOMS_CONFIG: join(work, 'cfg'), CUSTOMS_STORE: b.root } });
  const err = await unpackImage(ctx, b.name, dest, layout ? { layout: b.root } : {}).then(
    () => assert.fail('unpack should have been refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CustomsError, String(err));
  assert.equal(err.code, code, err.message);
  assert.equal(existsSync(dest), false, 'DEST must stay absent');
  assert.equal(readFileSync(canary, 'utf8'), 'untouched');
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'customs-unpack-store-'));
});

describe('unpack re-verifies the store first', () => {
  test('a good image unpacks (the fixture itself is sound)', async () => {
    const b = await build();
    const ctx = await createContext({ env: { HOME: work, CUSTOMS_CONFIG: join(work, 'cfg'), CUSTOMS_STORE: b.root } });
    const dest = join(work, 'good');
    await unpackImage(ctx, b.name, dest);
    assert.equal(readFileSync(join(dest, 'etc', 'hostname'), 'utf8'), 'customs\n');
  });

  test('a layer blob tampered in the store after pull is refused before anything is written', async () => {
    const b = await build();
    const bytes = readFileSync(b.layerPath);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    writeFileSync(b.layerPath, bytes);
    await refusedUnpack(b, 'DIGEST_MISMATCH');
  });

  test('a foreign --layout with a lying blob gets the same checks', async () => {
    const b = await build();
    const bytes = readFileSync(b.layerPath);
    writeFileSync(b.layerPath, Buffer.concat([bytes, Buffer.from('x')]));
    await refusedUnpack(b, 'SIZE_MISMATCH', true);
  });

  test('a config whose diff_ids count disagrees with the layers is refused', async () => {
    await refusedUnpack(await build({ diffIds: [] }), 'CONFIG_INVALID_IMAGE');
  });

  test('a diff_id that does not match the decompressed layer fails the unpack', async () => {
    await refusedUnpack(await build({ diffIds: [sha('another layer')] }), 'DIGEST_MISMATCH');
  });

  test('an unknown layer media type is refused, never sniffed', async () => {
    await refusedUnpack(
      await build({ layerMediaType: 'application/vnd.example.layer.v1.tar+xz' }),
      'MEDIA_TYPE_UNSUPPORTED',
    );
  });
});
