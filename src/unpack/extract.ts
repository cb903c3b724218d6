/**
 * The worker's job: for each layer, take exactly `size` compressed bytes from the input, decompress, meter (size
 * cap, expansion ratio, sha256 for the diff_id), parse strictly and apply. Runs inside the sandbox.
 */
import { createHash } from 'node:crypto';
import { CustomsError } from '../errors.js';
import { Applier } from './apply.js';
import { ByteSource, TruncatedError } from './byte-source.js';
import { decompress } from './decompress.js';
import type { UnpackLimits } from './limits.js';
import type { WorkerJob, WorkerMessage } from './protocol.js';
import { ReportBuilder } from './report.js';
import { StrictTarReader } from './tar-reader.js';

interface Meter {
  compressed: number;
  uncompressed: number;
}

/** Exactly `size` bytes from `src`, counting them. */
async function* window(src: ByteSource, size: number, meter: Meter): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of src.stream(size)) {
      meter.compressed += chunk.length;
      yield chunk;
    }
  } catch (err) {
    if (err instanceof TruncatedError) {
      throw new CustomsError('ARCHIVE_INVALID', `layer: input ended after ${err.got} of ${size} bytes`);
    }
    throw err;
  }
}

/** Hash and bound the decompressed stream (issue 4 item 4). */
async function* metered(
  decompressed: AsyncIterable<Buffer>,
  meter: Meter,
  hash: ReturnType<typeof createHash>,
  limits: UnpackLimits,
): AsyncGenerator<Buffer> {
  for await (const chunk of decompressed) {
    meter.uncompressed += chunk.length;
    if (meter.uncompressed > limits.maxLayerBytes) {
      throw new CustomsError(
        'LIMIT_EXCEEDED',
        `layer: uncompressed size: expected at most ${limits.maxLayerBytes} bytes, got more`,
        { details: { limitBytes: limits.maxLayerBytes } },
      );
    }
    if (
      meter.uncompressed > limits.ratioGraceBytes &&
      meter.uncompressed > limits.maxExpansionRatio * Math.max(meter.compressed, 1)
    ) {
      throw new CustomsError(
        'LIMIT_EXCEEDED',
        `layer: expansion ratio: expected at most ${limits.maxExpansionRatio}:1 after ${limits.ratioGraceBytes} bytes, got ${meter.uncompressed}:${meter.compressed}`,
        {
          details: { ratio: limits.maxExpansionRatio, uncompressed: meter.uncompressed, compressed: meter.compressed },
        },
      );
    }
    hash.update(chunk);
    yield chunk;
  }
}

/** Run a whole job; `send` gets progress and the final report. Throws on any failure. */
export async function extractLayers(
  job: WorkerJob,
  input: AsyncIterable<Buffer>,
  send: (m: WorkerMessage) => void,
): Promise<void> {
  const report = new ReportBuilder();
  const applier = new Applier(
    {
      root: job.root,
      maxPathDepth: job.limits.maxPathDepth,
      maxSymlinkHops: job.limits.maxSymlinkHops,
      ownerUid: job.ownerUid,
      ownerGid: job.ownerGid,
      mkfifoPath: job.mkfifoPath,
    },
    report,
  );
  const src = new ByteSource(input);
  for (const [index, layer] of job.layers.entries()) {
    applier.startLayer(index);
    const meter: Meter = { compressed: 0, uncompressed: 0 };
    const hash = createHash('sha256');
    const tar = new StrictTarReader(
      metered(decompress(layer.compression, window(src, layer.size, meter), job.zstdPath), meter, hash, job.limits),
      { maxMetaHeaderBytes: job.limits.maxMetaHeaderBytes },
    );
    let entries = 0;
    for (;;) {
      const entry = await tar.next();
      if (entry === null) break;
      entries++;
      await applier.apply(entry, () => tar.body());
      await tar.skipBody(); // no-op when apply consumed the body
    }
    if (meter.compressed !== layer.size) {
      // The decompressor stopped before the end of the blob (trailing data after the compressed stream).
      throw new CustomsError('ARCHIVE_INVALID', `layer ${index}: data after the end of the compressed stream`, {
        details: { expected: layer.size, got: meter.compressed },
      });
    }
    const got = hash.digest('hex');
    if (got !== layer.diffIdHex) {
      throw new CustomsError(
        'DIGEST_MISMATCH',
        `layer ${index}: diff_id: expected sha256:${layer.diffIdHex}, got sha256:${got}`,
        {
          details: { expected: `sha256:${layer.diffIdHex}`, got: `sha256:${got}`, layer: index },
          hint: 'The uncompressed layer does not match the image config rootfs.diff_ids; the image is inconsistent.',
        },
      );
    }
    send({ t: 'layer', index, diffId: `sha256:${got}`, entries, uncompressedBytes: meter.uncompressed });
  }
  const rest = await src.readExact(1);
  if (rest !== null) throw new CustomsError('ARCHIVE_INVALID', 'layer input: more bytes than the layers declare');
  applier.finish();
  send({
    t: 'done',
    skipped: report.skipped,
    changed: report.changed,
    ownersDropped: report.ownersDropped,
    omitted: report.omitted,
  });
}
