/**
 * Bundle the customs CLI and its unpack worker with esbuild into dist/bundle/ (run by `npm run build`, after
 * tsc has type-checked everything and emitted dist/src for the library export and the tests).
 *
 * Why: Node 20 resolves, reads and links every ES module file one by one; the CLI and undici are ~150 files,
 * and loading them was the largest part of a small pull (customs --version: 0.26 s from dist/src, 0.16 s
 * bundled, 0.10 s for `node -e 0`; bench/README.md). One file per entry point removes that cost.
 *
 * Layout: dist/bundle/customs.js (the `customs` bin), dist/bundle/worker.js beside it (src/unpack/sandbox.ts
 * finds the worker as `./worker.js` next to the code that spawns it), and lazily loaded chunks (openpgp) that
 * load only when a command needs them. sigstore-js and tweetnacl stay `require`d from node_modules at first use
 * (src/trust/lazy-modules.ts), as in the unbundled build.
 */
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

const outdir = 'dist/bundle';
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { customs: 'src/cli/main.ts', worker: 'src/unpack/worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'linked',
  // CommonJS dependencies (undici) call require() for Node built-ins; give the ES module bundle one.
  banner: {
    js: "import { createRequire as customsCreateRequire } from 'node:module'; const require = customsCreateRequire(import.meta.url);",
  },
  // Whitespace and syntax only: names stay readable in stack traces, and the smaller source parses faster.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
