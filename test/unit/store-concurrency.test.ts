import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './store-helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'store-child.js');
const PROCESSES = 6;
const TAGS_EACH = 20;

function runChild(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('concurrent processes', () => {
  it(`${PROCESSES} processes creating and tagging one store at once lose no tag`, async () => {
    const root = join(await tempDir(), 'store');
    const results = await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) => runChild(['tag', root, `proc${i}`, String(TAGS_EACH)])),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    const names = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort();
    const expected = Array.from({ length: PROCESSES }, (_, i) =>
      Array.from({ length: TAGS_EACH }, (_, j) => `proc${i}-${j}`),
    )
      .flat()
      .sort();
    assert.deepEqual(names, expected);
    const { openStore } = await import('../../src/store/index.js');
    const report = await (await openStore(root, { create: false })).fsck();
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.garbage, []);
  });
});
