/** Measuring helpers shared by the benches: timed peer runs under GNU time, and medians. */
import { run } from '../test/integration/helpers/registry.js';

export interface Sample {
  seconds: number;
  /** Maximum resident set size GNU time reports (0 when measured in-process). */
  rssKiB: number;
}

/** Run a command under GNU time; returns wall seconds and max RSS in KiB. Throws on a non-zero exit. */
export async function timed(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  const r = await run('/usr/bin/time', ['-f', '__RSS__%M', cmd, ...args], {
    timeoutMs: 900_000,
    ...(env === undefined ? {} : { env }),
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return { seconds, rssKiB: Number(/__RSS__(\d+)/.exec(r.stderr)?.[1] ?? 0) };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** Run `a` then `b` in even iterations, `b` then `a` in odd ones: neither peer always runs first. */
export async function alternating(i: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<void> {
  const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
  await first();
  await second();
}
