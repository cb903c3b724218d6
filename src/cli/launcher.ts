#!/usr/bin/env node
/**
 * The installed `customs` executable (dist/bundle/customs.js): compiles the bundled CLI (dist/bundle/cli.js)
 * with the V8 code cache the build made for it, then runs it.
 *
 * Why: Node 20 has no compile cache for user code (`module.enableCompileCache` arrived in Node 22). Parsing and
 * compiling the CLI's code took ~10-20 ms of every command, a large share of a small pull (bench/README.md).
 * The cache holds V8's bytecode for the code a `pull` runs while it starts; anything else compiles lazily as
 * it would without a cache.
 *
 * The cache is trusted no more than the code beside it, and only for exactly that code:
 * - it is used only when its first 32 bytes are the SHA-256 of cli.js as read now. V8's own check compares the
 *   source length, Node/V8 version and flags, not the text: an edited cli.js of the same length would otherwise
 *   run the old bytecode;
 * - V8 rejects a cache made by another Node version or flag set (`cachedDataRejected`); the script then
 *   compiles from source, as it would with no cache;
 * - it is written by the build (scripts/code-cache.mjs runs one pull from a throw-away registry on 127.0.0.1
 *   with CUSTOMS_BUILD_CODE_CACHE=1), into the install directory, never by an ordinary command.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

// No V8 flag is set here (nor anywhere before a pull's modules load). A flag changed at run time makes V8 reject
// every code cache made without it: this file's, and Node's own for its built-in modules, which then compile from
// source (node:net, node:fs/promises and the rest loaded ~2x slower). undici sets the one it needs when it loads
// (src/internal/undici-agent.ts), and the build's training run never loads it (test/unit/launcher.test.ts).

const DIGEST_BYTES = 32;

const here = dirname(fileURLToPath(import.meta.url));
const cliFile = join(here, 'cli.js');
const cacheFile = `${cliFile}.cache`;

const sourceBytes = readFileSync(cliFile);
const sourceDigest = createHash('sha256').update(sourceBytes).digest();

/** The V8 cache for exactly these source bytes, or undefined (missing, or made for other bytes). */
function cachedDataFor(): Buffer | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  if (cache.length <= DIGEST_BYTES || !cache.subarray(0, DIGEST_BYTES).equals(sourceDigest)) return undefined;
  return cache.subarray(DIGEST_BYTES);
}

/** The build's training run (scripts/code-cache.mjs): compile from source, and write the cache at exit. */
const training = process.env.CUSTOMS_BUILD_CODE_CACHE === '1';
const cachedData = training ? undefined : cachedDataFor();
// Module.wrap: the same function wrapper require() gives a CommonJS file (exports, require, module, paths).
const script = new Script(Module.wrap(sourceBytes.toString('utf8')), {
  filename: cliFile,
  ...(cachedData === undefined ? {} : { cachedData }),
});

if (training) {
  // After the command ran (process.exit included), so the cache holds the functions it compiled on the way.
  process.once('exit', () => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([sourceDigest, script.createCachedData()]));
    renameSync(tmp, cacheFile);
  });
}

const cliModule = { exports: {} };
const compiled = script.runInThisContext() as (
  exports: unknown,
  require: NodeJS.Require,
  module: unknown,
  filename: string,
  dirname: string,
) => void;
compiled(cliModule.exports, createRequire(cliFile), cliModule, cliFile, here);
