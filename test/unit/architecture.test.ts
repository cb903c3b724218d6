// Keeps the module graph as STYLE.md draws it (go-containerregistry's depcheck_test.go does the same):
// imports flow internal ← ref, oci ← registry, store ← trust, policy, unpack, scan, export ← ops ← cli, gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/unit → repo root
const repo = resolve(here, '..', '..', '..');
const src = join(repo, 'src');

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  internal: [],
  ref: ['internal'],
  oci: ['internal', 'ref'],
  registry: ['internal', 'ref', 'oci'],
  store: ['internal', 'ref', 'oci'],
  trust: ['internal', 'ref', 'oci', 'store'],
  policy: ['internal', 'ref', 'oci', 'store', 'trust'],
  unpack: ['internal', 'ref', 'oci', 'store'],
  scan: ['internal', 'ref', 'oci', 'store', 'unpack'],
  export: ['internal', 'ref', 'oci', 'store'],
  ops: ['internal', 'ref', 'oci', 'registry', 'store', 'trust', 'policy', 'unpack', 'scan', 'export'],
  cli: ['internal', 'ref', 'oci', 'ops'],
  gateway: ['internal', 'ref', 'oci', 'store', 'ops'],
};

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

test('modules import only the modules below them', () => {
  const violations: string[] = [];
  for (const file of tsFiles(src)) {
    const rel = relative(src, file);
    const mod = rel.includes('/') ? rel.split('/')[0]! : '(root)';
    if (mod === '(root)') continue; // src/errors.ts and src/index.ts
    const allowed = ALLOWED[mod];
    assert.ok(allowed !== undefined, `src/${mod} is not in the architecture table; add it with its allowed imports`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(src, resolve(dirname(file), m[1]!));
      const targetMod = target.includes('/') ? target.split('/')[0]! : '(root)';
      if (targetMod === '(root)' || targetMod === mod) continue;
      if (!allowed.includes(targetMod)) violations.push(`${rel} imports ${targetMod} (${m[1]})`);
    }
  }
  assert.deepEqual(violations, []);
});

/**
 * Files a module's index.ts re-exports whole (`export * from './x.js'`): importing one of them gives nothing the
 * index does not. CLI commands import their own ops verb this way, so a command loads only the operations it
 * runs (src/cli/commands/index.ts), not every verb the ops index pulls in.
 */
function reExportedWhole(mod: string): Set<string> {
  const index = readFileSync(join(src, mod, 'index.ts'), 'utf8');
  return new Set([...index.matchAll(/^export \* from '\.\/([^']+)';$/gm)].map((m) => `${mod}/${m[1]!}`));
}

test('modules import each other only through index.ts', () => {
  const violations: string[] = [];
  const opsVerbs = reExportedWhole('ops');
  assert.ok(opsVerbs.has('ops/pull.js'), 'ops/index.ts re-exports ops/pull.js');
  for (const file of tsFiles(src)) {
    const rel = relative(src, file);
    const isCommand = rel.startsWith('cli/commands/');
    const mod = rel.split('/')[0]!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(src, resolve(dirname(file), m[1]!));
      const parts = target.split('/');
      if (parts.length < 2 || parts[0] === mod || parts[0] === 'internal') continue;
      if (isCommand && opsVerbs.has(target)) continue;
      if (parts.length !== 2 || parts[1] !== 'index.js') violations.push(`${rel} reaches into ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});
