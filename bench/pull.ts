/**
 * bench/pull: cold-store `customs pull` vs `skopeo copy docker://… oci:DIR:REF` vs the floor (Node: HTTP GET +
 * sha256 + write of the same blobs, no verification logic), side by side in one run against Debian's
 * docker-registry on 127.0.0.1. Prints medians, ratios and peak RSS (GNU time's maximum resident set size).
 *
 * usage: node dist/bench/pull.js [--runs N] [--scale S] [--images debian,synth] [--tls]
 *   --tls  serve the registry over HTTPS with a throw-away CA (customs gets it in certs.d, skopeo --src-cert-dir,
 *          the floor as undici's `ca`): the path real registries take
 * Not a test: nothing here asserts a time.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { pushImages, requirePeer, run, startRegistry } from '../test/integration/helpers/registry.js';
import { CLI } from '../test/integration/helpers/customs.js';
import { alternating, median, timed, type Sample } from './measure.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    scale: { type: 'string', default: '1' },
    images: { type: 'string', default: 'debian,synth' },
    tls: { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const SCALE = Number(values.scale);
const TLS = values.tls;

/** The floor: GET each blob, hash and write it, 3 in parallel, like a pull with no checks at all. */
async function floor(
  base: string,
  repo: string,
  manifestRef: string,
  dir: string,
  ca: string | undefined,
): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  const dispatcher = ca === undefined ? undefined : new Agent({ connect: { ca } });
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
  const m = await request(`${base}/v2/${repo}/manifests/${manifestRef}`, {
    headers: { accept },
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  const manifest = (await m.body.json()) as { config: { digest: string }; layers: { digest: string }[] };
  const digests = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  await mkdir(dir, { recursive: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < digests.length) {
      const d = digests[next++]!;
      const res = await request(`${base}/v2/${repo}/blobs/${d}`, dispatcher === undefined ? {} : { dispatcher });
      const h = createHash('sha256');
      const { createWriteStream } = await import('node:fs');
      const out = createWriteStream(join(dir, d.replace(':', '-')));
      for await (const chunk of res.body) {
        h.update(chunk as Buffer);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
      h.digest('hex');
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  await dispatcher?.close();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, rssKiB: Math.round(process.memoryUsage().rss / 1024) };
}

/**
 * Flush the disk work a previous run left behind (its dirty pages; the blocks a large delete freed, which an ext4
 * mounted with `discard` trims at the next journal commit) so that no run pays for another's. Measured here: a
 * pull started right after deleting three 51 MB trees took ~15 ms longer, and the bench used to delete a whole
 * iteration's output just before customs, which always ran first.
 */
async function settleDisk(): Promise<void> {
  const r = await run('sync', []);
  if (r.code !== 0) throw new Error(`sync failed (${r.code}): ${r.stderr}`);
}

async function main(): Promise<void> {
  requirePeer('docker-registry');
  requirePeer('skopeo');
  const reg = await startRegistry({ tls: TLS });
  const ca = TLS && reg.caFile !== undefined ? await readFile(reg.caFile, 'utf8') : undefined;
  try {
    const wanted = (values.images ?? '').split(',').filter(Boolean) as ('debian' | 'synth')[];
    const pushed = await pushImages(reg, wanted, { synthScale: SCALE });
    const targets = pushed.filter((p) => p.name === 'debian:bookworm' || p.name === 'synth:big');
    const rows: string[] = [];
    for (const img of targets) {
      const samples: Record<'customs' | 'skopeo' | 'floor', Sample[]> = { customs: [], skopeo: [], floor: [] };
      for (let i = 0; i < RUNS; i++) {
        const dir = await mkdtemp(join(tmpdir(), 'customs-bench-'));
        try {
          // The caller's environment, as a user's command would have it (NODE_EXTRA_CA_CERTS included: see
          // bin/customs), with a fresh HOME and config so that neither peer reads the caller's own files.
          const env = { ...process.env, HOME: join(dir, 'home'), CUSTOMS_CONFIG: join(dir, 'cfg') };
          if (ca !== undefined) {
            await mkdir(join(dir, 'cfg', 'certs.d', reg.host), { recursive: true });
            await writeFile(join(dir, 'cfg', 'certs.d', reg.host, 'ca.crt'), ca);
          }
          // Each run writes to its own empty destination, from a settled disk; outputs are kept until the end of
          // the iteration (deleting 51-709 MB costs the next writer: ext4 here trims freed blocks at the next
          // commit), and the order alternates, so neither peer always goes first after a delete.
          const customs = async (): Promise<void> => {
            await settleDisk();
            samples.customs.push(
              await timed(CLI, ['pull', img.reference, '--store', join(dir, 'c'), '-q', '--insecure-policy'], env),
            );
          };
          const skopeo = async (): Promise<void> => {
            await settleDisk();
            samples.skopeo.push(
              await timed('skopeo', [
                'copy',
                '-q',
                ...(TLS && reg.certDir !== undefined ? ['--src-cert-dir', reg.certDir] : ['--src-tls-verify=false']),
                `docker://${img.reference}`,
                `oci:${join(dir, 's')}:${img.reference}`,
              ]),
            );
          };
          await alternating(i, customs, skopeo);
          await settleDisk();
          samples.floor.push(await floor(reg.url, img.repository, img.tag, join(dir, 'f'), ca));
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
      const med = (k: keyof typeof samples) => median(samples[k].map((s) => s.seconds));
      const rss = (k: keyof typeof samples) => Math.max(...samples[k].map((s) => s.rssKiB)) / 1024;
      rows.push(
        `${img.name.padEnd(18)} customs ${med('customs').toFixed(3)}s (${rss('customs').toFixed(0)} MiB)  skopeo ${med('skopeo').toFixed(3)}s (${rss('skopeo').toFixed(0)} MiB)  floor ${med('floor').toFixed(3)}s  customs/skopeo ${(med('customs') / med('skopeo')).toFixed(3)}  customs/floor ${(med('customs') / med('floor')).toFixed(3)}`,
      );
      const runs = (k: keyof typeof samples): string => samples[k].map((x) => x.seconds.toFixed(3)).join(' ');
      rows.push(`${''.padEnd(18)} runs (s): customs ${runs('customs')} | skopeo ${runs('skopeo')}`);
    }
    const extraCas = process.env.NODE_EXTRA_CA_CERTS === undefined ? '' : '; NODE_EXTRA_CA_CERTS set';
    const report = `bench/pull: ${RUNS} run(s) each, median wall time, peak RSS; synth scale ${SCALE}${TLS ? '; HTTPS' : ''}${extraCas}\n${rows.join('\n')}\n`;
    process.stdout.write(report);
    await writeFile(join(tmpdir(), 'customs-bench-pull.txt'), report);
  } finally {
    await reg.stop();
  }
}

await main();
