/**
 * Bundle the customs CLI and its unpack worker with esbuild into dist/bundle/ (run by `npm run build`, after
 * tsc has type-checked everything and emitted dist/src for the library export and the tests), then make the
 * CLI's V8 code cache.
 *
 * Why: Node 20 resolves, reads, compiles and links every ES module file one by one. Loading the ~150 files of
 * the CLI and undici was the largest part of a small pull; one ES module bundle with chunks still spent ~50 ms
 * linking and compiling before a pull began (bench/README.md). CommonJS scripts compiled with a code cache
 * start in a fraction of that.
 *
 * Layout (all CommonJS: dist/bundle/package.json says so):
 * - customs.js: the `customs` bin, src/cli/launcher.ts. It compiles cli.js with cli.js.cache and runs it.
 * - cli.js: src/cli/main.ts and everything it imports, except what loads on demand:
 * - undici-agent.js: undici's Agent (src/internal/undici-agent.ts), required on the first request that needs
 *   it; plain-HTTP GETs and blob bodies never do (src/registry/bulk-get.ts);
 * - worker.js: the unpack worker (src/unpack/sandbox.ts finds it as ./worker.js beside cli.js), self-contained:
 *   the sandbox mounts only dist/.
 * openpgp, sigstore-js and tweetnacl are required from node_modules at first use (src/trust/lazy-modules.ts).
 */
import { build } from 'esbuild';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const outdir = 'dist/bundle';

/** `import()` of undici-agent becomes require('./undici-agent.js'): the separately bundled file beside cli.js. */
/** @type {import('esbuild').Plugin} */
const onDemand = {
  name: 'customs-on-demand',
  setup(b) {
    b.onResolve({ filter: /(^|\/)undici-agent\.js$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: './undici-agent.js', external: true } : undefined,
    );
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    customs: 'src/cli/launcher.ts',
    cli: 'src/cli/main.ts',
    'undici-agent': 'src/internal/undici-agent.ts',
    worker: 'src/unpack/worker.ts',
  },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // `import()` → `Promise.resolve().then(() => require(...))`: cli.js runs from a vm.Script, which has no
  // dynamic-import hook, and require() is all the on-demand files need.
  supported: { 'dynamic-import': false },
  // CommonJS has no import.meta; each file gets its own URL, as the ES modules had.
  define: { 'import.meta.url': '__customsModuleUrl' },
  banner: { js: "var __customsModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [onDemand],
  // Required from node_modules at first use (src/trust/lazy-modules.ts), as sigstore-js is.
  external: ['openpgp'],
  sourcemap: 'linked',
  legalComments: 'linked',
  // Whitespace and syntax only: names stay readable in stack traces, and the smaller source parses faster.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
await writeFile(join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);

// The CLI's V8 code cache (scripts/code-cache.mjs).
await import('./code-cache.mjs');
