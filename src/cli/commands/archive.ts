/** `customs export` / `customs load` */
import { parsePlatform } from '../../oci/index.js';
import { exportArchive, parseArchiveFormat } from '../../ops/export.js';
import { loadArchive } from '../../ops/load.js';
import { stringFlag, usage, type Command } from '../command.js';
import { formatBytes } from '../progress.js';

export const exportCommand: Command = {
  options: { output: { type: 'string', short: 'o' }, format: { type: 'string' }, platform: { type: 'string' } },
  positionals: [1, 1],
  help: `Usage: customs export REF -o FILE --format docker-archive|oci-archive [--platform OS/ARCH] [--store DIR]

Write a stored image to FILE. Every manifest, config and layer is re-hashed from the bytes written; the
archive appears under FILE only when complete (temp file + rename). Foreign-layer urls are never fetched.

  --format docker-archive   for docker load / podman load (manifest.json, repositories; blobs as stored,
                            laid out as an OCI layout too, like Docker 25's docker save)
  --format oci-archive      a tar of an OCI image layout (skopeo copy oci-archive:FILE ...)
  --platform P              docker-archive of a multi-platform index: the platform to write (default: host)
`,
  async run(ctx, [name], values, io, out) {
    const output = stringFlag(values, 'output');
    if (output === undefined || output === '') throw usage('export: expected -o FILE');
    const format = parseArchiveFormat(stringFlag(values, 'format'));
    const platformFlag = stringFlag(values, 'platform');
    const result = await exportArchive(ctx, name ?? '', output, {
      format,
      platform: platformFlag === undefined ? undefined : parsePlatform(platformFlag),
      signal: io.signal,
    });
    out.result(
      result,
      `exported ${result.name} (${result.descriptor.digest}) to ${result.file}: ${result.format}, ${result.blobs} blob(s), ${formatBytes(result.bytes)}\n`,
    );
  },
};

export const loadCommand: Command = {
  options: { input: { type: 'string', short: 'i' }, tag: { type: 'string' } },
  positionals: [0, 0],
  help: `Usage: customs load -i FILE [--tag REGISTRY/REPO:TAG] [--policy FILE] [--registries.d DIR]
                   [--insecure-policy] [--store DIR]

Import a docker-archive (docker save, podman save, skopeo) or an oci-archive into the store. The archive is
untrusted: its tar is read strictly (no links, devices, absolute or .. names, duplicates), paths inside
manifest.json are only looked up as archive members, and every blob must match its digest (docker-archive
layers: the config's diff_ids) before anything is tagged. A refused load leaves the store as it was.

Every name to be tagged must pass the policy, as for pull: a rejecting scope or no policy file refuses with
exit 7 before anything is stored; the signatures the scope requires are checked before tagging (exit 6).
GPG signatures come from the registries.d lookaside for the name (a file:// lookaside works offline);
cosign, sigstore and Notary signatures live in the registry the name points at, which must be reachable.

  --tag NAME   tag the (single) image as NAME instead of the names in the archive; needed when the archive
               carries short names (docker save writes busybox:latest) or none
`,
  async run(ctx, _args, values, io, out) {
    const input = stringFlag(values, 'input');
    if (input === undefined || input === '') throw usage('load: expected -i FILE');
    const result = await loadArchive(ctx, input, { tag: stringFlag(values, 'tag'), signal: io.signal });
    const lines = [
      ...result.images.map((i) => `loaded ${i.names.join(', ')} ${i.descriptor.digest}`),
      `${result.format}: ${result.blobsAdded} blob(s) added, ${result.blobsPresent} already present`,
    ];
    out.result(result, `${lines.join('\n')}\n`, true);
  },
};
