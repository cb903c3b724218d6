// Attack: a hostile docker-archive / oci-archive given to `customs load` (CVE-2014-9358: docker load used image IDs
// from the archive as filesystem paths, so `../../etc/x` escaped; CVE-2014-9356: symlinks in the archive followed
// on extraction). Each test crafts one attack with a raw tar writer, asserts the stable error code and exit code,
// that nothing outside the store was touched (a canary beside it), and that the store listing is identical.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CustomsError, type ErrorCode } from '../../src/errors.js';
import { loadArchiveInto, MAX_ARCHIVE_METADATA_BYTES } from '../../src/ops/load.js';
import { createContext, loadArchive } from '../../src/ops/index.js';
import { openStore, type ContentStore } from '../../src/store/index.js';
import { snapshot } from '../unit/store-helpers.js';
import { dir, entry, file, gzip, hardlink, symlink, tar } from './unpack/tar-builder.js';

const NAME = 'registry.test/app:1';
let work: string;
let store: ContentStore;
const canary = (): string => join(work, 'canary');

function sha256Hex(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** An uncompressed layer tar and a config whose diff_ids name it. */
function goodImage(content = 'hello\n'): { layer: Buffer; config: Buffer; configHex: string; layerHex: string } {
  const layer = tar(file('hello.txt', content));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256Hex(layer)}`] },
    }),
  );
  return { layer, config, configHex: sha256Hex(config), layerHex: sha256Hex(layer) };
}

function manifestJson(config: string, layers: string[], repoTags: string[] = [NAME]): Buffer {
  return Buffer.from(JSON.stringify([{ Config: config, RepoTags: repoTags, Layers: layers }]));
}

async function archive(name: string, bytes: Buffer): Promise<string> {
  const p = join(work, name);
  await writeFile(p, bytes);
  return p;
}

/** Load `bytes`; it must fail with `code`, and leave the store and the canary exactly as they were. */
async function assertRefused(bytes: Buffer, code: ErrorCode, message?: RegExp): Promise<CustomsError> {
  const before = await snapshot(store.root);
  const p = await archive(`a-${Math.random().toString(16).slice(2)}.tar`, bytes);
  let caught: unknown;
  await assert.rejects(
    loadArchiveInto(store, p).catch((err: unknown) => {
      caught = err;
      throw err;
    }),
  );
  assert.ok(caught instanceof CustomsError, `expected a CustomsError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message !== undefined) assert.match(caught.message, message);
  assert.equal(await snapshot(store.root), before, 'the store is unchanged');
  assert.equal(await readFile(canary(), 'utf8'), 'canary\n', 'nothing outside the store was touched');
  return caught;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'customs-load-adv-'));
  await writeFile(canary(), 'canary\n');
  store = await openStore(join(work, 'store'), { create: true });
  // A valid load first, so the "before" snapshot has content (and the quarantine dir) to compare.
  const g = goodImage();
  const ok = tar(
    file(`${g.configHex}.json`, g.config),
    file(`${g.layerHex}/layer.tar`, g.layer),
    file('manifest.json', manifestJson(`${g.configHex}.json`, [`${g.layerHex}/layer.tar`])),
  );
  const r = await loadArchiveInto(store, await archive('ok.tar', ok));
  assert.deepEqual(r.images[0]?.names, [NAME]);
});

describe('customs load refuses hostile archives and leaves the store unchanged', () => {
  it('CVE-2014-9358: a Layers path climbing out with ../../ is refused, never resolved on disk', async () => {
    const g = goodImage();
    const err = await assertRefused(
      tar(
        file(`${g.configHex}.json`, g.config),
        file('manifest.json', manifestJson(`${g.configHex}.json`, ['../../canary'])),
      ),
      'UNSAFE_PATH',
    );
    assert.equal(err.exitCode, 8);
  });

  it('CVE-2014-9358: a Config path that is absolute is refused', async () => {
    const g = goodImage();
    await assertRefused(
      tar(file(`${g.layerHex}.tar`, g.layer), file('manifest.json', manifestJson(canary(), [`${g.layerHex}.tar`]))),
      'UNSAFE_PATH',
    );
  });

  it('absolute member names in the tar are refused (tar path traversal)', async () => {
    await assertRefused(tar(file('/etc/x', 'x'), file('manifest.json', '[]')), 'UNSAFE_PATH');
  });

  it('member names with .. are refused even when nothing references them', async () => {
    await assertRefused(tar(file('a/../../x', 'x'), file('manifest.json', '[]')), 'UNSAFE_PATH');
  });

  it('CVE-2014-9356: a symlink member pointing out of the archive is refused', async () => {
    const g = goodImage();
    await assertRefused(
      tar(
        file(`${g.configHex}.json`, g.config),
        symlink(`${g.layerHex}/layer.tar`, '../../canary'),
        file('manifest.json', manifestJson(`${g.configHex}.json`, [`${g.layerHex}/layer.tar`])),
      ),
      'UNSAFE_PATH',
    );
  });

  it('CVE-2014-9356: an absolute symlink member is refused', async () => {
    await assertRefused(tar(symlink('layer.tar', '/etc/passwd'), file('manifest.json', '[]')), 'UNSAFE_PATH');
  });

  it('a hard link member to something that is not an earlier regular file is refused', async () => {
    await assertRefused(tar(hardlink('layer.tar', 'nowhere.tar'), file('manifest.json', '[]')), 'UNSAFE_PATH');
  });

  it('device members are refused', async () => {
    await assertRefused(tar(entry({ name: 'dev', typeflag: '3' }), file('manifest.json', '[]')), 'UNSAFE_PATH');
  });

  it('a duplicate member whose second copy differs is refused (which one would another reader take?)', async () => {
    const g = goodImage();
    await assertRefused(
      tar(
        file(`${g.configHex}.json`, g.config),
        file(`${g.layerHex}.tar`, g.layer),
        file('manifest.json', manifestJson(`${g.configHex}.json`, [`${g.layerHex}.tar`])),
        file(`${g.layerHex}.tar`, tar(file('evil', 'x'))),
      ),
      'ARCHIVE_INVALID',
      /duplicate member/,
    );
  });

  it('manifest.json pointing at a missing member is refused', async () => {
    const g = goodImage();
    await assertRefused(
      tar(
        file(`${g.configHex}.json`, g.config),
        file('manifest.json', manifestJson(`${g.configHex}.json`, ['missing/layer.tar'])),
      ),
      'ARCHIVE_INVALID',
      /not a member/,
    );
  });

  it('a config whose name is not its sha256 is refused (image ID substitution)', async () => {
    const g = goodImage();
    const other = sha256Hex('something else');
    await assertRefused(
      tar(
        file(`${other}.json`, g.config),
        file(`${g.layerHex}.tar`, g.layer),
        file('manifest.json', manifestJson(`${other}.json`, [`${g.layerHex}.tar`])),
      ),
      'DIGEST_MISMATCH',
    );
  });

  it('a config named like anything but a digest is refused', async () => {
    const g = goodImage();
    await assertRefused(
      tar(
        file('config.json', g.config),
        file(`${g.layerHex}.tar`, g.layer),
        file('manifest.json', manifestJson('config.json', [`${g.layerHex}.tar`])),
      ),
      'ARCHIVE_INVALID',
    );
  });

  it('a layer that does not match its diff_id is refused, and nothing it brought stays', async () => {
    // A layer not yet in the store (a blob already present with that digest is reused, never re-read).
    const g = goodImage('a layer this store has never seen\n');
    const evil = tar(file('evil', 'x'));
    await assertRefused(
      tar(
        file(`${g.configHex}.json`, g.config),
        file('l.tar', evil),
        file('manifest.json', manifestJson(`${g.configHex}.json`, ['l.tar'])),
      ),
      'DIGEST_MISMATCH',
    );
  });

  it('a gzip layer in a legacy docker-archive is refused, never decompressed outside the unpack worker', async () => {
    const g = goodImage();
    const err = await assertRefused(
      tar(
        file(`${g.configHex}.json`, g.config),
        file('l.tar.gz', gzip(g.layer)),
        file('manifest.json', manifestJson(`${g.configHex}.json`, ['l.tar.gz'])),
      ),
      'DIGEST_MISMATCH',
    );
    assert.match(err.hint ?? '', /uncompressed/);
  });

  it('an oversized manifest.json is refused before it is read', async () => {
    const big = Buffer.alloc(MAX_ARCHIVE_METADATA_BYTES + 1, 0x20);
    await assertRefused(tar(file('manifest.json', big)), 'TOO_LARGE');
  });

  it('a short name in RepoTags is refused with a hint to use --tag', async () => {
    const g = goodImage();
    const err = await assertRefused(
      tar(
        file(`${g.configHex}.json`, g.config),
        file(`${g.layerHex}.tar`, g.layer),
        file('manifest.json', manifestJson(`${g.configHex}.json`, [`${g.layerHex}.tar`], ['busybox:latest'])),
      ),
      'SHORT_NAME_REFUSED',
    );
    assert.match(err.hint ?? '', /--tag/);
  });

  it('non-tar input is refused', async () => {
    await assertRefused(Buffer.from('{"this is": "not a tar"}\n'.repeat(100)), 'ARCHIVE_INVALID', /not a tar|checksum/);
  });

  it('a truncated tar (cut inside a member) is refused', async () => {
    const g = goodImage();
    const whole = tar(
      file(`${g.configHex}.json`, g.config),
      file(`${g.layerHex}.tar`, g.layer),
      file('manifest.json', manifestJson(`${g.configHex}.json`, [`${g.layerHex}.tar`])),
    );
    await assertRefused(whole.subarray(0, 512 + 100), 'ARCHIVE_INVALID', /truncated/);
  });

  it('a tar cut at a member boundary (no end-of-archive marker) is refused', async () => {
    const g = goodImage();
    const body = Buffer.concat([
      file(`${g.configHex}.json`, g.config),
      file('manifest.json', manifestJson(`${g.configHex}.json`, [])),
    ]);
    await assertRefused(body, 'ARCHIVE_INVALID', /end-of-archive/);
  });

  it('data after the end-of-archive marker is refused (a second archive appended)', async () => {
    await assertRefused(
      Buffer.concat([tar(file('manifest.json', '[]')), file('manifest.json', '[]')]),
      'ARCHIVE_INVALID',
      /after the end/,
    );
  });

  it('an oci-archive blob whose bytes do not hash to its name is refused', async () => {
    const g = goodImage();
    const fakeHex = sha256Hex('not the manifest');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${g.configHex}`,
          size: g.config.length,
        },
        layers: [],
      }),
    );
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${fakeHex}`,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': NAME },
        },
      ],
    });
    await assertRefused(
      tar(
        dir('blobs'),
        dir('blobs/sha256'),
        file(`blobs/sha256/${fakeHex}`, manifest),
        file('index.json', index),
        file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'),
      ),
      'DIGEST_MISMATCH',
    );
  });

  it('an archive with neither manifest.json nor an OCI layout is refused', async () => {
    await assertRefused(tar(file('hello', 'x')), 'ARCHIVE_INVALID', /neither/);
  });
});

describe('a store the refused load created', () => {
  it('a refused load into a store that did not exist leaves no store behind', async () => {
    // "Bad input leaves the store as it was": for a store that was not there, as it was means absent.
    const fresh = join(work, 'fresh-store');
    const ctx = await createContext({
      env: { HOME: join(work, 'home'), CUSTOMS_CONFIG: join(work, 'cfg'), CUSTOMS_STORE: fresh },
      insecurePolicy: true,
    });
    const p = await archive('garbage.tar', Buffer.from('not a tar at all, just text\n'.repeat(40)));
    await assert.rejects(loadArchive(ctx, p), (err: unknown) => err instanceof CustomsError);
    await assert.rejects(stat(fresh), /ENOENT/);
    // A store that holds something is never removed, whatever fails.
    const existing = await createContext({
      env: { HOME: join(work, 'home'), CUSTOMS_CONFIG: join(work, 'cfg'), CUSTOMS_STORE: store.root },
      insecurePolicy: true,
    });
    await assert.rejects(loadArchive(existing, p));
    assert.ok((await stat(join(store.root, 'index.json'))).isFile());
  });
});
