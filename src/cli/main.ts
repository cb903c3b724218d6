#!/usr/bin/env node
/** The `customs` executable: wires process streams into the in-process CLI. */
import { run } from './run.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));
process.once('SIGTERM', () => controller.abort(new Error('terminated')));

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    total += b.length;
    // A password is short; refuse to buffer an endless pipe.
    if (total > 64 * 1024) throw new Error('standard input: expected at most 64 KiB');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  isTTY: process.stderr.isTTY,
  readStdin,
  signal: controller.signal,
});
process.exitCode = code;
