/** `customs policy init|show` */
import { policyInit, policyShow } from '../../ops/trust.js';
import { usage, type Command } from '../command.js';

export const policyCommand: Command = {
  options: { force: { type: 'boolean' } },
  positionals: [1, 2],
  help: `Usage: customs policy init [--force] [--policy FILE]
       customs policy show [REF] [--policy FILE] [--registries.d DIR]

init writes a starter policy that rejects every image (then open scopes with customs trust add) to
--policy FILE or $CUSTOMS_CONFIG/policy.json; it refuses to replace an existing file without --force.
show prints the policy file in force, the registries.d files read and, for REF, the scope and the
requirements that apply to it.
`,
  async run(ctx, args, values, _io, out) {
    const [verb, name] = args;
    if (verb === 'init') {
      if (name !== undefined) throw usage('policy init: expected no REF');
      const r = await policyInit(ctx, values.force === true);
      out.result(r, `wrote ${r.policyPath} (rejects every image until customs trust add opens a scope)\n`);
      return;
    }
    if (verb !== 'show') throw usage(`policy: expected init or show, got ${JSON.stringify(verb)}`);
    const r = await policyShow(ctx, name);
    const lines = [
      `policy ${r.policyFile}`,
      `registries.d ${r.registriesD.length === 0 ? '(none)' : r.registriesD.join(', ')}`,
      ...(r.image === undefined
        ? r.scopes.flatMap((e) => [`scope ${e.scope === '' ? '""' : e.scope}`, ...e.descriptions.map((d) => `  ${d}`)])
        : [
            `${r.image.name}: scope ${r.image.scope}`,
            ...r.image.requirements.map((d) => `  ${d}`),
            ...(r.image.lookaside === undefined ? [] : [`  lookaside ${r.image.lookaside}`]),
          ]),
    ];
    out.result(r, `${lines.join('\n')}\n`, true);
  },
};
