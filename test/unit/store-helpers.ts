/** Shared fixtures for the store tests (not a test file itself). */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { MediaTypes, type Descriptor } from '../../src/oci/index.js';
import { parseDigest } from '../../src/ref/index.js';
import { openStore, type ContentStore } from '../../src/store/index.js';

export async function tempDir(prefix = 'customs-store-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A fresh store in a new temp directory. */
export async function freshStore(): Promise<ContentStore> {
  return openStore(join(await tempDir(), 'store'), { create: true });
}

export function descriptorOf(
  bytes: Uint8Array,
  mediaType: string = MediaTypes.ociLayer,
  alg: 'sha256' | 'sha512' = 'sha256',
): Descriptor {
  return {
    mediaType,
    digest: parseDigest(`${alg}:${createHash(alg).update(bytes).digest('hex')}`),
    size: bytes.length,
  };
}

/** Deterministic pseudo-random bytes (no fixtures on disk). */
export function bytesOf(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A Readable giving `bytes` in `chunk`-sized pieces. */
export function chunked(bytes: Buffer, chunk: number): Readable {
  let off = 0;
  return new Readable({
    read() {
      if (off >= bytes.length) {
        this.push(null);
        return;
      }
      this.push(bytes.subarray(off, off + chunk));
      off += chunk;
    },
  });
}

/**
 * Every file and directory under `root` with its size, plus the bytes of index.json: two snapshots are equal
 * exactly when a failed operation left no trace.
 */
export async function snapshot(root: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        lines.push(`${relative(root, p)}/`);
        await walk(p);
      } else {
        lines.push(`${relative(root, p)} ${(await lstat(p)).size}`);
      }
    }
  };
  await walk(root);
  lines.push(`index.json: ${await readFile(join(root, 'index.json'), 'utf8')}`);
  return lines.join('\n');
}

export async function quarantineFiles(root: string): Promise<string[]> {
  return readdir(join(root, '.customs', 'quarantine')).catch(() => []);
}

/** A minimal OCI image (config + one layer + manifest) ingested into `store`; returns the manifest descriptor. */
export async function ingestTinyImage(
  store: ContentStore,
  layer: Buffer = bytesOf(1000, 7),
): Promise<{
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
}> {
  const layerDesc = descriptorOf(layer, MediaTypes.ociLayer);
  const configBytes = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layerDesc.digest] } }),
  );
  const configDesc = descriptorOf(configBytes, MediaTypes.ociConfig);
  const manifestBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: [layerDesc] }),
  );
  const manifestDesc = descriptorOf(manifestBytes, MediaTypes.ociManifest);
  await store.ingestBytes(layerDesc, layer);
  await store.ingestBytes(configDesc, configBytes);
  await store.ingestBytes(manifestDesc, manifestBytes);
  return { manifest: manifestDesc, config: configDesc, layer: layerDesc };
}
