/**
 * bench/verify: what signature verification adds to `customs pull` (issue 7: "verifying an image with 5
 * signatures adds < 50 ms over the pull"). Against Debian's docker-registry on 127.0.0.1:
 *
 * - `customs pull busybox` into a fresh store under a policy that accepts anything (the baseline);
 * - the same pull under a policy whose scope holds 5 `sigstoreSigned` requirements, one per key, each key having
 *   signed the image with `customs sign` (so the `.sig` manifest carries 5 layers and every requirement
 *   verifies every layer against its key);
 * - `customs verify` of the stored image as its own process (cold: verification results are cached in memory,
 *   per process, so a CLI run never sees the cache), and `verifyImage` twice in this process (cold, then the
 *   cached decision).
 *
 * usage: node dist/bench/verify.js [--runs N] [--keys K]
 * Prints medians over N runs (default 5). Not a test: nothing here asserts a time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pushImages, requirePeer, run, startRegistry } from '../test/integration/helpers/registry.js';
import { CLI } from '../test/integration/helpers/customs.js';
import { clearDecisionCache, createContext, verifyImage } from '../src/ops/index.js';
import { median } from './measure.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    keys: { type: 'string', default: '5' },
  },
});
const RUNS = Number(values.runs);
const KEYS = Number(values.keys);
if (!Number.isSafeInteger(RUNS) || RUNS < 1) throw new Error(`--runs: expected a positive integer, got ${values.runs}`);
if (!Number.isSafeInteger(KEYS) || KEYS < 1) throw new Error(`--keys: expected a positive integer, got ${values.keys}`);

/** Wall milliseconds of one customs invocation; throws when it fails. */
async function timedCustoms(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await run(CLI, args, { env, timeoutMs: 300_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.code !== 0) throw new Error(`customs ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return ms;
}

async function customsOk(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await timedCustoms(args, env);
}

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  requirePeer('docker-registry');
  requirePeer('skopeo');
  const reg = await startRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'customs-bench-verify-'));
  try {
    const pushed = await pushImages(reg, ['busybox']);
    const busybox = pushed.find((p) => p.name === 'busybox:latest');
    if (busybox === undefined) throw new Error('busybox:latest was not pushed');
    const ref = busybox.reference;
    // The caller's environment (NODE_EXTRA_CA_CERTS included: see bin/customs), with a fresh HOME and config.
    const env = { ...process.env, HOME: join(dir, 'home'), CUSTOMS_CONFIG: join(dir, 'cfg') };

    // Setup: KEYS key pairs, each signs the image (customs sign appends to the .sig manifest).
    const setupStore = join(dir, 'setup-store');
    await customsOk(['pull', ref, '-q', '--insecure-policy', '--store', setupStore], env);
    const keyPaths: string[] = [];
    for (let k = 1; k <= KEYS; k++) {
      const prefix = join(dir, `key${k}`);
      await customsOk(['generate-key', '--output-key-prefix', prefix], env);
      await customsOk(['sign', ref, '--key', `${prefix}.key`, '--store', setupStore], env);
      keyPaths.push(`${prefix}.pub`);
    }
    const acceptPolicy = join(dir, 'accept.json');
    await writeFile(acceptPolicy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const signedPolicy = join(dir, 'signed.json');
    await writeFile(
      signedPolicy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            [`${reg.host}/busybox`]: keyPaths.map((keyPath) => ({
              type: 'sigstoreSigned',
              keyPath,
              signedIdentity: { type: 'matchRepository' },
            })),
          },
        },
      }),
    );

    const samples = { accept: [] as number[], signed: [] as number[], verifyCli: [] as number[] };
    // One warm-up of each (page cache, registry's own caches), not counted.
    for (let i = 0; i < RUNS + 1; i++) {
      const a = join(dir, `a${i}`);
      const s = join(dir, `s${i}`);
      // Alternate the order so neither side always runs second.
      const order = i % 2 === 0 ? (['accept', 'signed'] as const) : (['signed', 'accept'] as const);
      for (const which of order) {
        const store = which === 'accept' ? a : s;
        const policy = which === 'accept' ? acceptPolicy : signedPolicy;
        const ms = await timedCustoms(['pull', ref, '-q', '--policy', policy, '--store', store], env);
        if (i > 0) samples[which].push(ms);
      }
      const v = await timedCustoms(['verify', ref, '--policy', signedPolicy, '--store', s], env);
      if (i > 0) samples.verifyCli.push(v);
      await rm(a, { recursive: true, force: true });
      if (i < RUNS) await rm(s, { recursive: true, force: true });
    }

    // In-process: verifyImage twice on the last signed store (the decision cache lives for the process).
    const ctx = await createContext({ env, store: join(dir, `s${RUNS}`), policy: signedPolicy });
    const inProcess = { cold: [] as number[], cached: [] as number[] };
    for (let i = 0; i < RUNS + 1; i++) {
      clearDecisionCache();
      const t0 = process.hrtime.bigint();
      await verifyImage(ctx, ref);
      const t1 = process.hrtime.bigint();
      await verifyImage(ctx, ref);
      const t2 = process.hrtime.bigint();
      if (i > 0) {
        inProcess.cold.push(Number(t1 - t0) / 1e6);
        inProcess.cached.push(Number(t2 - t1) / 1e6);
      }
    }

    const accept = median(samples.accept);
    const signed = median(samples.signed);
    const lines = [
      `bench/verify: ${ref}, ${RUNS} run(s), median wall time, ${KEYS} cosign key(s) / signature(s)`,
      `pull, accept-anything policy       ${fmt(accept)}`,
      `pull, ${KEYS} x sigstoreSigned          ${fmt(signed)}   added ${fmt(signed - accept)}   ratio ${(signed / accept).toFixed(2)}`,
      `verify (own process, cold)         ${fmt(median(samples.verifyCli))}`,
      `verifyImage in-process, 1st call   ${fmt(median(inProcess.cold))}`,
      `verifyImage in-process, 2nd call   ${fmt(median(inProcess.cached))}   (decision cache; ratio ${(median(inProcess.cached) / median(inProcess.cold)).toFixed(2)})`,
    ];
    const report = `${lines.join('\n')}\n`;
    process.stdout.write(report);
    await writeFile(join(tmpdir(), 'customs-bench-verify.txt'), report);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await reg.stop();
  }
}

await main();
