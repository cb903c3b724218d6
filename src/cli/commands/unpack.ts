/** `customs unpack` */
import { parsePlatform } from '../../oci/index.js';
import { unpackImage } from '../../ops/unpack.js';
import { sanitizeForDisplay } from '../../internal/redact.js';
import { stringFlag, usage, type Command } from '../command.js';

/** One report line; paths come from the image and are shown sanitized (no control or bidi characters). */
function item(verb: string, i: { kind: string; layer: number; path: string; detail?: string }): string {
  const detail = i.detail === undefined ? '' : ` (${sanitizeForDisplay(i.detail, 200)})`;
  return `  ${verb} ${i.kind} layer ${i.layer}: ${JSON.stringify(sanitizeForDisplay(i.path, 300))}${detail}`;
}

export const unpackCommand: Command = {
  options: { platform: { type: 'string' }, layout: { type: 'string' }, ref: { type: 'string' } },
  positionals: [1, 2],
  help: `Usage: customs unpack REF DEST [--store DIR] [--platform OS/ARCH[/VARIANT]] [--json]
       customs unpack --layout DIR --ref NAME DEST

Turn a stored image (or any OCI image layout, e.g. one written by skopeo) into a root filesystem at DEST.
Every blob is re-verified before anything is written; decompression and tar parsing run in an unprivileged,
resource-limited worker; no path, link or whiteout can leave DEST. DEST must not exist or be empty; on any
failure it is left that way. The report lists what was skipped or changed (devices, setuid bits, xattrs).
`,
  async run(ctx, args, values, io, out) {
    const layout = stringFlag(values, 'layout');
    const refFlag = stringFlag(values, 'ref');
    let name: string;
    let dest: string;
    if (layout !== undefined) {
      if (refFlag === undefined || args.length !== 1) throw usage('unpack --layout DIR: expected --ref NAME and DEST');
      name = refFlag;
      dest = args[0] ?? '';
    } else {
      if (args.length !== 2) throw usage('unpack: expected REF and DEST');
      name = args[0] ?? '';
      dest = args[1] ?? '';
    }
    const platformFlag = stringFlag(values, 'platform');
    const r = await unpackImage(ctx, name, dest, {
      layout,
      platform: platformFlag === undefined ? undefined : parsePlatform(platformFlag),
      signal: io.signal,
    });
    const lines = [
      `unpacked ${r.name} (${r.manifest}) into ${r.dest}`,
      `sandbox: ${r.report.sandbox.mechanism}${r.report.sandbox.note === undefined ? '' : ` (${r.report.sandbox.note})`}`,
      ...r.report.skipped.map((s) => item('skipped', s)),
      ...r.report.changed.map((c) => item('changed', c)),
      ...(r.report.omitted > 0 ? [`  … ${r.report.omitted} more (see --json)`] : []),
    ];
    // --quiet keeps the one line that says what happened; the report stays available with --json.
    out.result(r, `${(out.quiet ? lines.slice(0, 1) : lines).join('\n')}\n`, true);
  },
};
