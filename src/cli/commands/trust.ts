/** `customs trust add|list|rm` */
import { trustAdd, trustList, trustRemove, type TrustKeyInput } from '../../ops/trust.js';
import { stringFlag, usage, type Command } from '../command.js';

export const trustCommand: Command = {
  options: {
    'cosign-key': { type: 'string' },
    'gpg-key': { type: 'string' },
    keyless: { type: 'string' },
    'trusted-root': { type: 'string' },
    'notary-root': { type: 'string' },
    'notary-server': { type: 'string' },
    'notary-ca': { type: 'string' },
  },
  positionals: [1, 3],
  help: `Usage: customs trust add SCOPE (--cosign-key KEY.pub | --gpg-key KEY.asc |
                                --keyless ISSUER SUBJECT --trusted-root trusted_root.json |
                                --notary-root ROOT.json [--notary-server URL [--notary-ca CA.pem]])
       customs trust list
       customs trust rm SCOPE

Map a key to the registry or repository prefix it may vouch for (SCOPE: host[:port] or host[:port]/path),
by copying it into $CUSTOMS_CONFIG/keys and adding a requirement to transports.docker[SCOPE] of the policy
(--policy FILE, else $CUSTOMS_CONFIG/policy.json; created from the starter policy if missing). The key is
then valid for that scope and nothing else. Keys in one scope are ANDed: a second key requires both.

--notary-root pins a Notary v1 (Docker Content Trust) root.json; pull and verify fetch the repository's
metadata from --notary-server (https, or http to a loopback address), trusting --notary-ca for its TLS
certificate. Without --notary-server the requirement is written but cannot be met (exit 6).
`,
  async run(ctx, args, values, _io, out) {
    const [verb, scope, extra] = args;
    if (verb === 'list') {
      if (args.length !== 1) throw usage('trust list: expected no arguments');
      const r = await trustList(ctx);
      const lines = r.entries.flatMap((e) => [e.scope === '' ? '""' : e.scope, ...e.descriptions.map((d) => `  ${d}`)]);
      out.result(r, `policy ${r.policyPath}\n${lines.map((l) => `${l}\n`).join('')}`, true);
      return;
    }
    if (verb === 'rm') {
      if (scope === undefined || args.length !== 2) throw usage('trust rm: expected SCOPE');
      const r = await trustRemove(ctx, scope);
      out.result({ ...r, scope }, `removed ${scope} from ${r.policyPath}\n`);
      return;
    }
    if (verb !== 'add') throw usage(`trust: expected add, list or rm, got ${JSON.stringify(verb)}`);
    if (scope === undefined) throw usage('trust add: expected SCOPE');
    const forms: TrustKeyInput[] = [];
    const cosign = stringFlag(values, 'cosign-key');
    const gpg = stringFlag(values, 'gpg-key');
    const keyless = stringFlag(values, 'keyless');
    const notary = stringFlag(values, 'notary-root');
    if (cosign !== undefined) forms.push({ kind: 'cosign', path: cosign });
    if (gpg !== undefined) forms.push({ kind: 'gpg', path: gpg });
    const notaryServer = stringFlag(values, 'notary-server');
    const notaryCa = stringFlag(values, 'notary-ca');
    if (notary !== undefined) forms.push({ kind: 'notary-root', path: notary, server: notaryServer, caPath: notaryCa });
    else if (notaryServer !== undefined || notaryCa !== undefined) {
      throw usage('trust add: --notary-server and --notary-ca go with --notary-root');
    }
    if (keyless !== undefined) {
      const trustedRoot = stringFlag(values, 'trusted-root');
      if (extra === undefined || trustedRoot === undefined) {
        throw usage('trust add --keyless: expected ISSUER SUBJECT and --trusted-root trusted_root.json');
      }
      forms.push({ kind: 'keyless', issuer: keyless, subject: extra, trustedRoot });
    } else if (extra !== undefined) {
      throw usage('trust add: expected SCOPE and one key option, got an extra argument');
    }
    const form = forms[0];
    if (form === undefined || forms.length !== 1) {
      throw usage('trust add: expected exactly one of --cosign-key, --gpg-key, --keyless, --notary-root');
    }
    const r = await trustAdd(ctx, scope, form);
    out.result(
      r,
      `trusted for ${scope} (${r.policyPath}):\n${(r.entry?.descriptions ?? []).map((d) => `  ${d}\n`).join('')}`,
    );
  },
};
