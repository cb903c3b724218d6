/**
 * bench/unpack: `customs unpack` vs `umoci unpack --rootless` on the same stored image, side by side in one run,
 * plus the floor: decompressing the layers to /dev/null with pigz, gzip and Node's zlib. Prints medians, ratios
 * and peak RSS (GNU time). Not a test: nothing here asserts a time.
 *
 * usage: node dist/bench/unpack.js [--runs N] [--scale S] [--images debian,synth]
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parseArgs } from 'node:util';
import { pushImages, requirePeer, run, startRegistry } from '../test/integration/helpers/registry.js';
import { CLI } from '../test/integration/helpers/customs.js';
import { alternating, median, timed, type Sample } from './measure.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    scale: { type: 'string', default: '1' },
    images: { type: 'string', default: 'debian,synth' },
  },
});
const RUNS = Number(values.runs);
const SCALE = Number(values.scale);

async function nodeGunzip(paths: string[]): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  for (const p of paths) {
    await pipeline(createReadStream(p), createGunzip(), new Writable({ write: (_c, _e, cb) => cb() }));
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, rssKiB: 0 };
}

async function main(): Promise<void> {
  requirePeer('docker-registry');
  requirePeer('umoci');
  requirePeer('pigz');
  const reg = await startRegistry();
  const work = await mkdtemp(join(tmpdir(), 'customs-bench-unpack-'));
  try {
    const wanted = (values.images ?? '').split(',').filter(Boolean) as ('debian' | 'synth')[];
    const pushed = await pushImages(reg, wanted, { synthScale: SCALE });
    // The caller's environment (NODE_EXTRA_CA_CERTS included: see bin/customs), with a fresh HOME and config.
    const env = { ...process.env, HOME: join(work, 'home'), CUSTOMS_CONFIG: join(work, 'cfg') };
    const store = join(work, 'store');
    const rows: string[] = [];
    for (const img of pushed.filter((p) => p.name === 'debian:bookworm' || p.name === 'synth:big')) {
      const pulled = await run(CLI, ['pull', img.reference, '--store', store, '-q', '--insecure-policy'], { env });
      if (pulled.code !== 0) throw new Error(pulled.stderr);
      const manifest = JSON.parse(
        (await run(CLI, ['inspect', img.reference, '--raw', '--store', store], { env })).stdout,
      ) as { layers: { digest: string }[] };
      const layerPaths = manifest.layers.map((l) => join(store, 'blobs', 'sha256', l.digest.slice(7)));
      const bytes = (await Promise.all(layerPaths.map((p) => readFile(p)))).reduce((n, b) => n + b.length, 0);
      const s: Record<'customs' | 'umoci' | 'pigz' | 'gzip' | 'zlib', Sample[]> = {
        customs: [],
        umoci: [],
        pigz: [],
        gzip: [],
        zlib: [],
      };
      for (let i = 0; i < RUNS; i++) {
        const d = join(work, `${img.repository}-run-${i}`);
        await mkdir(d, { recursive: true });
        // Alternate which tool goes first, and keep every tree until the end: on ext4 without a journal, creating
        // files right after a large delete is slow (the inode allocator skips recently freed inodes), so deleting
        // between runs would penalise whichever tool runs next.
        const customs = async () =>
          s.customs.push(await timed(CLI, ['unpack', img.reference, join(d, 'c'), '--store', store, '-q'], env));
        const umoci = async () =>
          s.umoci.push(
            await timed('umoci', ['unpack', '--rootless', '--image', `${store}:${img.reference}`, join(d, 'u')]),
          );
        await alternating(i, customs, umoci);
        s.pigz.push(await timed('sh', ['-c', `pigz -dc ${layerPaths.join(' ')} > /dev/null`]));
        s.gzip.push(await timed('sh', ['-c', `gzip -dc ${layerPaths.join(' ')} > /dev/null`]));
        s.zlib.push(await nodeGunzip(layerPaths));
      }
      const med = (k: keyof typeof s) => median(s[k].map((x) => x.seconds));
      const rss = (k: keyof typeof s) => Math.max(...s[k].map((x) => x.rssKiB)) / 1024;
      rows.push(
        `${img.name.padEnd(16)} ${(bytes / 1e6).toFixed(0)} MB compressed  customs ${med('customs').toFixed(2)}s (${rss('customs').toFixed(0)} MiB)  umoci ${med('umoci').toFixed(2)}s (${rss('umoci').toFixed(0)} MiB)  pigz -dc ${med('pigz').toFixed(2)}s  gzip -dc ${med('gzip').toFixed(2)}s  node zlib ${med('zlib').toFixed(2)}s  customs/umoci ${(med('customs') / med('umoci')).toFixed(2)}`,
      );
    }
    process.stdout.write(
      `bench/unpack: ${RUNS} run(s) each, median wall time, peak RSS of the parent process; synth scale ${SCALE}\n${rows.join('\n')}\n`,
    );
  } finally {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
