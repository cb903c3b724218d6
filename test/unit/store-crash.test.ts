import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import { quarantineFiles, tempDir } from './store-helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'store-child.js');
const ROUNDS = 4;

/** Start the child, wait until it prints `line`, let it run `extraMs` more, then SIGKILL it and reap it. */
async function killWhen(args: string[], line: string, extraMs: number): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(`${line}\n`)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${String(code)}): ${stderr}`)));
  });
  await sleep(extraMs);
  child.kill('SIGKILL');
  await exited; // reaped: its pid is no longer alive, not a zombie
}

describe('crash safety', () => {
  it('kill -9 during ingest and during index updates leaves a store fsck calls clean, and gc removes the garbage', async () => {
    const root = join(await tempDir(), 'store');
    await openStore(root, { create: true });
    for (let round = 0; round < ROUNDS; round++) {
      await killWhen(['ingest-forever', root], 'writing', 10 + round * 15);
      await killWhen(['tag-forever', root], 'ready', 5 + round * 20);
    }
    const store = await openStore(root, { create: false });
    const report = await store.fsck();
    assert.deepEqual(report.problems, [], JSON.stringify(report.problems));
    assert.ok(
      report.garbage.filter((g) => g.startsWith('.customs/quarantine/')).length >= ROUNDS,
      `expected the killed ingests' quarantine files as garbage, got ${JSON.stringify(report.garbage)}`,
    );
    assert.ok((await store.list()).length > 0);

    const gc = await store.gc();
    assert.ok(gc.removedTempFiles >= ROUNDS);
    assert.deepEqual(await quarantineFiles(root), []);
    const after = await store.fsck();
    assert.deepEqual(after.problems, []);
    assert.deepEqual(after.garbage, []);
    // The store still works after all that.
    const [first] = await store.list();
    assert.ok(first !== undefined);
    await store.tag('after-crash', first.descriptor);
    assert.equal((await store.resolve('after-crash'))?.digest, first.descriptor.digest);
  });
});
