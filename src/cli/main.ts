/**
 * The CLI's entry point: wires process streams into the in-process CLI. Bundled as dist/bundle/cli.js and started
 * by the `customs` executable, launcher.ts (scripts/bundle.mjs).
 */
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

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed) resolve();
    else stream.write('', () => resolve());
  });
}

async function main(): Promise<void> {
  const code = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    isTTY: process.stderr.isTTY,
    readStdin,
    signal: controller.signal,
  });
  // Exit as soon as the command has finished and its output is flushed: nothing is left to wait for, and a natural
  // exit waited tens of milliseconds more (closing pooled sockets, V8 idle tasks) on every command.
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

// No top-level await: the bundled CLI is a CommonJS script (scripts/bundle.mjs). run() never throws.
void main();
