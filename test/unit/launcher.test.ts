// The installed `customs` launcher (src/cli/launcher.ts) and the code cache it compiles the CLI with: the cache
// is only ever used for the exact cli.js it was made from (docs/security.md "The installed program").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../integration/helpers/repo-root.js';
import { run } from '../integration/helpers/run.js';

const BUNDLE = join(REPO_ROOT, 'dist', 'bundle');
const FILES = ['customs.js', 'cli.js', 'cli.js.cache', 'package.json', 'undici-agent.js', 'worker.js'];

/** A copy of the built bundle in a temp dir, to edit freely. */
async function bundleCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'customs-launcher-'));
  for (const f of FILES) await copyFile(join(BUNDLE, f), join(dir, f));
  return dir;
}

async function version(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await run(process.execPath, [join(dir, 'customs.js'), '--version'], { timeoutMs: 30_000 });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

test('the build made a code cache for the bundled CLI, headed by the SHA-256 of cli.js', async () => {
  const cli = await readFile(join(BUNDLE, 'cli.js'));
  const cache = await readFile(join(BUNDLE, 'cli.js.cache'));
  assert.ok(cache.length > 32 + 1024, `cache of ${cache.length} bytes`);
  assert.deepEqual(cache.subarray(0, 32), createHash('sha256').update(cli).digest());
});

test('V8 accepts the code cache as the launcher compiles it: no flag differs from the training run', async () => {
  // V8 embeds a hash of its flags in a code cache and rejects the cache when they differ. A flag set at start-up
  // (the launcher used to set --liftoff-only) also makes V8 reject Node's own cache for every built-in module
  // loaded after it; the training run must load nothing that sets one (undici does, src/internal/undici-agent.ts).
  const probe = [
    "const { readFileSync } = require('node:fs');",
    "const { Script } = require('node:vm');",
    "const Module = require('node:module');",
    `const dir = ${JSON.stringify(BUNDLE)};`,
    "const src = readFileSync(dir + '/cli.js', 'utf8');",
    "const cachedData = readFileSync(dir + '/cli.js.cache').subarray(32);",
    "const s = new Script(Module.wrap(src), { filename: dir + '/cli.js', cachedData });",
    'process.stdout.write(String(s.cachedDataRejected));',
  ].join('\n');
  const r = await run(process.execPath, ['-e', probe], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'false', 'the code cache was rejected: made under other V8 flags than a plain start');
});

test('an edited cli.js of the same length never runs the cached bytecode of the old one', async () => {
  // V8 accepts a cache for any source of the same length; only the launcher's digest check tells them apart.
  const dir = await bundleCopy();
  try {
    const before = await version(dir);
    assert.equal(before.code, 0, before.stderr);
    const m = /^customs (\S+)\n$/.exec(before.stdout);
    assert.ok(m?.[1] !== undefined, before.stdout);
    const old = m[1];
    const edited = old.replace(/[0-9]/g, (d) => String((Number(d) + 1) % 10));
    assert.equal(edited.length, old.length);
    const source = await readFile(join(dir, 'cli.js'), 'utf8');
    assert.ok(source.includes(`"${old}"`), 'the version literal is in cli.js');
    await writeFile(join(dir, 'cli.js'), source.replace(`"${old}"`, `"${edited}"`));
    assert.equal((await stat(join(dir, 'cli.js'))).size, Buffer.byteLength(source));
    const after = await version(dir);
    assert.equal(after.code, 0, after.stderr);
    assert.equal(after.stdout, `customs ${edited}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a damaged, truncated, empty or missing cache only costs start-up time', async () => {
  const dir = await bundleCopy();
  try {
    const cli = await readFile(join(dir, 'cli.js'));
    const digest = createHash('sha256').update(cli).digest();
    const cache = await readFile(join(dir, 'cli.js.cache'));
    const variants: [string, Buffer | undefined][] = [
      ['right header, random payload', Buffer.concat([digest, randomBytes(cache.length - 32)])],
      ['right header, payload truncated', cache.subarray(0, 32 + Math.floor((cache.length - 32) / 2))],
      ['header only', digest],
      ['empty', Buffer.alloc(0)],
      ['missing', undefined],
    ];
    for (const [what, bytes] of variants) {
      if (bytes === undefined) await rm(join(dir, 'cli.js.cache'));
      else await writeFile(join(dir, 'cli.js.cache'), bytes);
      const r = await version(dir);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      assert.match(r.stdout, /^customs \S+\n$/, what);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
