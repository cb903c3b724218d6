/** Commands over the local store only: images, inspect, rm, gc, fsck. */
import { CustomsError } from '../../errors.js';
import { formatPlatform } from '../../oci/index.js';
import { checkStore, collectGarbage, inspectImage, listImages, removeImage } from '../../ops/local.js';
import type { Command } from '../command.js';
import { formatBytes } from '../progress.js';

export const imagesCommand: Command = {
  options: {},
  positionals: [0, 0],
  help: `Usage: customs images [--store DIR] [--json]

List the references in the store's index.json with their digests.
`,
  async run(ctx, _args, _values, _io, out) {
    const entries = await listImages(ctx);
    const rows = entries.map((e) => ({
      name: e.name ?? '<none>',
      digest: e.descriptor.digest,
      mediaType: e.descriptor.mediaType,
      ...(e.descriptor.platform === undefined ? {} : { platform: formatPlatform(e.descriptor.platform) }),
    }));
    const width = Math.max(4, ...rows.map((r) => r.name.length));
    const text = [`${'NAME'.padEnd(width)}  DIGEST`, ...rows.map((r) => `${r.name.padEnd(width)}  ${r.digest}`)].join(
      '\n',
    );
    out.result(rows, `${text}\n`, true);
  },
};

export const inspectCommand: Command = {
  options: { raw: { type: 'boolean' }, config: { type: 'boolean' } },
  positionals: [1, 1],
  help: `Usage: customs inspect REF [--raw | --config] [--store DIR]

Show a stored image: digest, media type, platforms, config summary and layers.
  --raw      print the manifest bytes exactly as stored
  --config   print the image config bytes exactly as stored
`,
  async run(ctx, [name], values, io, out) {
    const r = await inspectImage(ctx, name ?? '', { raw: values.raw === true, config: values.config === true });
    if ('raw' in r) {
      const text = r.raw.toString('utf8');
      io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      return;
    }
    out.result(r, `${JSON.stringify(r, null, 2)}\n`, true);
  },
};

export const rmCommand: Command = {
  options: {},
  positionals: [1, 1],
  help: `Usage: customs rm REF [--store DIR]

Remove REF's tag from the store. Blobs stay until customs gc.
`,
  async run(ctx, [name], _values, _io, out) {
    const removed = await removeImage(ctx, name ?? '');
    out.result({ removed }, `removed ${removed} (blobs are freed by customs gc)\n`);
  },
};

export const gcCommand: Command = {
  options: {},
  positionals: [0, 0],
  help: `Usage: customs gc [--store DIR]

Delete blobs that no reference reaches and temp files left by interrupted runs.
`,
  async run(ctx, _args, _values, _io, out) {
    const r = await collectGarbage(ctx);
    out.result(
      r,
      `removed ${r.removedBlobs.length} blob(s), ${formatBytes(r.removedBytes)}; ${r.removedTempFiles} stale temp file(s)\n`,
    );
  },
};

export const fsckCommand: Command = {
  options: {},
  positionals: [0, 0],
  help: `Usage: customs fsck [--store DIR] [--json]

Re-hash every blob and check that every reference resolves to present, parseable content. Changes nothing.
Exits 9 when a problem is found; leftover temp files are reported as garbage, not problems.
`,
  async run(ctx, _args, _values, io, out) {
    const r = await checkStore(ctx, io.signal);
    const lines = [
      `checked ${r.blobsChecked} blob(s), ${r.refsChecked} reference(s): ${r.problems.length === 0 ? 'clean' : `${r.problems.length} problem(s)`}`,
      ...r.problems.map((p) => `  ${p.kind}: ${p.path}: ${p.message}`),
      ...(r.garbage.length === 0
        ? []
        : [`  ${r.garbage.length} leftover temp file(s) (garbage from an interrupted run; customs gc removes them)`]),
    ];
    out.result(r, `${lines.join('\n')}\n`, true);
    if (r.problems.length > 0) {
      throw new CustomsError('STORE_CORRUPT', `store ${ctx.storeDir}: fsck found ${r.problems.length} problem(s)`, {
        hint: 'Remove the affected images (customs rm) and pull them again; run customs gc afterwards.',
      });
    }
  },
};
