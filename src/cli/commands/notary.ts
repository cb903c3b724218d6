/** `customs notary verify` */
import { notaryVerify, type NotarySource } from '../../ops/notary.js';
import { stringFlag, usage, type Command } from '../command.js';

// RFC 3339 with a zone; Date.parse alone would accept local-time forms whose meaning depends on the host.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

function parseNow(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const t = RFC3339.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t))
    throw usage(`--now: expected an RFC 3339 time like 2026-12-01T00:00:00Z, got ${JSON.stringify(v)}`);
  return new Date(t);
}

export const notaryCommand: Command = {
  options: {
    gun: { type: 'string' },
    tag: { type: 'string' },
    digest: { type: 'string' },
    now: { type: 'string' },
    'trusted-state': { type: 'string' },
    root: { type: 'string' },
    'root-key-id': { type: 'string', multiple: true },
    server: { type: 'string' },
    ca: { type: 'string' },
  },
  positionals: [1, 2],
  help: `Usage: customs notary verify DIR --gun GUN --tag TAG [--root FILE | --root-key-id ID...]
                             [--digest sha256:...] [--now RFC3339] [--trusted-state FILE] [--json] [-q]
       customs notary verify --server URL --gun GUN --tag TAG (--root FILE | --root-key-id ID...) [--ca FILE] ...

Verify the manifest digest a tag is bound to by Notary v1 / Docker Content Trust metadata, with TUF's
checks: signature thresholds (each key counted once), root pinning and rotation, expiry (freeze attack),
versions (rollback), lengths and hashes (mix-and-match, endless data) and delegation paths. The tag is
looked up in targets/releases (docker trust sign) first, then targets. Prints the digest.

  DIR                   root.json, timestamp.json, snapshot.json, targets.json (and targets/releases.json)
                        as a Notary server serves them or ~/.docker/trust/tuf/GUN/metadata/ keeps them
  --server URL          fetch the metadata from a Notary server instead (https; http only to loopback)
  --ca FILE             PEM CA for the Notary server's certificate
  --gun GUN             the repository's globally unique name, e.g. docker.io/library/alpine
  --tag TAG             the tag to verify
  --root FILE           the root.json you trust; a newer root must chain from it (required with --server).
                        Without it, DIR/root.json is trusted as found (trust on first use)
  --root-key-id ID      pin root key IDs instead of a root.json (repeatable)
  --digest D            exit 0 only if the tag is bound to D (else exit 6)
  --now T               check expiry against T instead of the clock (verify old signatures)
  --trusted-state FILE  {"root": v, "timestamp": v, "snapshot": v, "targets": v}: versions already trusted;
                        an older version is a rollback and is refused (missing roles = none)

Exit codes: 0 verified, 2 usage, 4 server unreachable, 6 not signed or not verifiable.
`,
  async run(ctx, args, values, io, out) {
    const [verb, dir] = args;
    if (verb !== 'verify')
      throw usage(`notary: unknown subcommand ${JSON.stringify(verb)}: expected verify`, 'Run customs notary --help.');
    const gun = stringFlag(values, 'gun');
    const tag = stringFlag(values, 'tag');
    if (gun === undefined || gun === '') throw usage('notary verify: expected --gun GUN');
    if (tag === undefined || tag === '') throw usage('notary verify: expected --tag TAG');
    const server = stringFlag(values, 'server');
    const ca = stringFlag(values, 'ca');
    let source: NotarySource;
    if (server !== undefined) {
      if (dir !== undefined) throw usage('notary verify: expected DIR or --server URL, got both');
      source = { kind: 'server', url: server, caPath: ca };
    } else {
      if (dir === undefined) throw usage('notary verify: expected DIR or --server URL, got neither');
      if (ca !== undefined) throw usage('notary verify: --ca applies only with --server');
      source = { kind: 'dir', dir };
    }
    const rootKeyIds = values['root-key-id'];
    const result = await notaryVerify(ctx, {
      source,
      gun,
      tag,
      rootPath: stringFlag(values, 'root'),
      rootKeyIds: Array.isArray(rootKeyIds) ? rootKeyIds : undefined,
      expectedDigest: stringFlag(values, 'digest'),
      now: parseNow(stringFlag(values, 'now')),
      trustedStatePath: stringFlag(values, 'trusted-state'),
      signal: io.signal,
    });
    if (!out.json && !out.quiet) {
      const v = result.versions;
      const dels = Object.entries(v.delegations)
        .map(([r, n]) => ` ${r}=${n}`)
        .join('');
      io.stderr.write(
        `verified ${gun}:${tag} (role ${result.role}; root=${v.root} timestamp=${v.timestamp} snapshot=${v.snapshot} targets=${v.targets}${dels}; valid until ${result.expires.toISOString()})\n`,
      );
      if (!result.rootPinned) {
        io.stderr.write(
          "warning: root not pinned: trusted the directory's root.json as found; pass --root to pin it\n",
        );
      }
    }
    out.result(result, `${result.digest}\n`, true);
  },
};
