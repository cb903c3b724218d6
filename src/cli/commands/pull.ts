/** `customs pull` */
import type { ProgressSink } from '../../oci/index.js';
import { parsePlatform } from '../../oci/index.js';
import { pull } from '../../ops/pull.js';
import { positiveInt, stringFlag, usage, type Command } from '../command.js';
import { formatBytes, plainProgress, ttyProgress } from '../progress.js';

export const pullCommand: Command = {
  options: { platform: { type: 'string' }, 'all-platforms': { type: 'boolean' }, jobs: { type: 'string' } },
  positionals: [1, 1],
  help: `Usage: customs pull REF [--store DIR] [--platform OS/ARCH[/VARIANT] | --all-platforms] [--jobs N] [--json] [-q]

Fetch REF (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:...) into the store. Every manifest and blob is
streamed into quarantine while hashed, capped at its declared size, and enters the store only on an exact
digest match. Nothing is decompressed. The reference is tagged only after every blob is verified; a
refused pull leaves the store as it was.

  --platform P       image to select from a multi-platform index (default: this host's platform)
  --all-platforms    keep the whole index and every platform's image
  --jobs N           blobs fetched in parallel (default 3)
`,
  async run(ctx, [name], values, io, out) {
    const platformFlag = stringFlag(values, 'platform');
    if (platformFlag !== undefined && values['all-platforms'] === true) {
      throw usage('--platform and --all-platforms: expected at most one of them, got both');
    }
    const platform = platformFlag === undefined ? undefined : parsePlatform(platformFlag);
    let sink: ProgressSink | undefined;
    let finish = (): void => undefined;
    if (!out.json && !out.quiet) {
      if (io.isTTY) ({ sink, finish } = ttyProgress(io.stderr));
      else sink = plainProgress(io.stderr);
    }
    const result = await pull(ctx, name ?? '', {
      platform,
      allPlatforms: values['all-platforms'] === true,
      jobs: positiveInt(values.jobs, '--jobs'),
      signal: io.signal,
      onEvent: sink,
    });
    finish();
    const lines = [
      `pulled ${result.name}`,
      `digest ${result.descriptor.digest} (${result.descriptor.mediaType})`,
      ...result.images.map((i) => `  ${i.platform ?? 'image'} ${i.digest} ${i.layers} layer(s) ${formatBytes(i.size)}`),
      `fetched ${result.blobsFetched} blob(s), ${formatBytes(result.bytesFetched)}; ${result.blobsPresent} already present`,
    ];
    out.result(result, `${lines.join('\n')}\n`, true);
  },
};
