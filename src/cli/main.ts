#!/usr/bin/env node
/** The `customs` executable: wires process streams into the in-process CLI. */
import { setFlagsFromString } from 'node:v8';
import { run } from './run.js';

// undici's HTTP parser is WebAssembly. V8 compiles it with its baseline compiler (Liftoff) and then recompiles
// the whole module with TurboFan on a background thread, and a process cannot exit until that job ends: it added
// 30-190 ms to every command that made a request, after the command was done (bench/README.md). The parser
// only reads response heads and small bodies here (blob bodies bypass it: src/registry/bulk-get.ts), so the
// baseline code is plenty. Set before anything compiles the module (the first connection does).
setFlagsFromString('--liftoff-only');

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
