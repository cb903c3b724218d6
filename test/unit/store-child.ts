/**
 * Child process for the store's concurrency and crash tests (not a test file itself):
 *   store-child.js tag <root> <prefix> <count>   open the store and tag <count> names
 *   store-child.js ingest-forever <root>          ingest an endless body; prints "writing" once bytes hit disk
 *   store-child.js tag-forever <root>             tag and untag in a loop; prints "ready" first
 * With no arguments it does nothing, so a test runner that picks it up sees a clean exit.
 */
import { Readable } from 'node:stream';
import { MediaTypes } from '../../src/oci/index.js';
import { parseDigest } from '../../src/ref/index.js';
import { openStore } from '../../src/store/index.js';
import { descriptorOf, ingestTinyImage } from './store-helpers.js';

const [mode, root, prefix, count] = process.argv.slice(2);

async function main(): Promise<void> {
  if (mode === undefined || root === undefined) return;
  const store = await openStore(root, { create: true });
  if (mode === 'tag') {
    const { manifest } = await ingestTinyImage(store);
    for (let i = 0; i < Number(count); i++) await store.tag(`${prefix ?? 'p'}-${i}`, manifest);
    return;
  }
  if (mode === 'ingest-forever') {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    function* endless(): Generator<Buffer> {
      for (;;) yield chunk;
    }
    let announced = false;
    await store.ingest(
      { mediaType: MediaTypes.ociLayer, digest: parseDigest(`sha256:${'ab'.repeat(32)}`), size: 64 * 1024 ** 3 },
      Readable.from(endless()),
      {
        onProgress: () => {
          if (!announced) process.stdout.write('writing\n');
          announced = true;
        },
      },
    );
    return;
  }
  if (mode === 'tag-forever') {
    const { manifest } = await ingestTinyImage(store);
    const extra = Buffer.from(`extra-${process.pid}`);
    await store.ingestBytes(descriptorOf(extra), extra);
    process.stdout.write('ready\n');
    for (let i = 0; ; i++) {
      await store.tag(`loop-${i % 7}`, manifest);
      if (i % 3 === 0) await store.untag(`loop-${(i + 2) % 7}`);
    }
  }
  throw new Error(`store-child: unknown mode ${mode}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
