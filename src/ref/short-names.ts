/**
 * Short-name resolution (containers-registries.conf(5), "Short-Name Aliasing"; the short-name-aliasing
 * design in containers/image pkg/shortnames).
 *
 * customs' rule is simpler than containers': a short name (`alpine:3`, `library/alpine:3`) is accepted only
 * through an `[aliases]` entry in registries.conf; every other short name is refused with SHORT_NAME_REFUSED,
 * whatever `short-name-mode` says and however many `unqualified-search-registries` are configured. customs
 * never prompts, never tries registries in turn (the first registry to answer would win, which is how
 * squatting on a search registry takes over a name), and never adds `docker.io`, `library/` or `:latest`.
 * The search registries only appear in the refusal message, as candidates for the user to choose from.
 */
import { CustomsError } from '../errors.js';
import { parseReference, referenceSubject, type ShortName } from './parse.js';
import type { Reference } from './reference.js';
import type { RegistriesConf } from './registries-conf.js';

function pinSuffix(name: Pick<ShortName, 'tag' | 'digest'>): string {
  return `${name.tag === undefined ? '' : `:${name.tag}`}${name.digest === undefined ? '' : `@${name.digest}`}`;
}

/** How a short name would be written for `registry`: Docker Hub puts one-component names under `library/`. */
function qualifiedRepository(registry: string, name: ShortName): string {
  const repository =
    registry === 'docker.io' && !name.repository.includes('/') ? `library/${name.repository}` : name.repository;
  return `${registry}/${repository}`;
}

/**
 * Resolve an untrusted reference to a fully qualified Reference.
 *
 * A qualified reference is returned as parsed. A short name is replaced by its `[aliases]` entry (looked up by
 * the repository exactly as written, tag and digest kept). Any other short name throws SHORT_NAME_REFUSED
 * (exit 3) whose message names a fully qualified form to type, plus `unqualified-search-registries`
 * candidates when configured; nothing is guessed.
 *
 * Verifies everything `parseReference` does. Does not check `blocked` (call `assertNotBlocked`), apply
 * `location` rewriting (call `rewriteToLocation`), or contact any registry.
 */
export function resolveName(untrusted: string, conf: RegistriesConf): Reference {
  const parsed = parseReference(untrusted);
  if (parsed.kind === 'qualified') return parsed.reference;
  const name = parsed.name;
  const alias = conf.aliases.get(name.repository);
  if (alias !== undefined) {
    return {
      registry: alias.registry,
      repository: alias.repository,
      ...(name.tag === undefined ? {} : { tag: name.tag }),
      ...(name.digest === undefined ? {} : { digest: name.digest }),
    };
  }
  const repositories = conf.unqualifiedSearchRegistries.map((r) => qualifiedRepository(r, name));
  const exampleRepository = repositories[0] ?? qualifiedRepository('docker.io', name);
  const candidates = repositories.map((r) => `${r}${pinSuffix(name)}`);
  const example = `${exampleRepository}${pinSuffix(name)}`;
  const fromSearch =
    candidates.length === 0 ? '' : `; candidates from unqualified-search-registries: ${candidates.join(', ')}`;
  const aliasExample = `"${name.repository}" = "${exampleRepository}"`;
  throw new CustomsError(
    'SHORT_NAME_REFUSED',
    `${referenceSubject(untrusted)}: short name refused: expected a fully qualified name such as ${example}, got no registry${fromSearch}`,
    {
      hint: `Write the registry explicitly (customs never guesses one), or add ${aliasExample} under [aliases] in registries.conf.`,
      details: {
        shortName: name.repository,
        example,
        candidates,
        ...(conf.sourcePath === undefined ? {} : { sourcePath: conf.sourcePath }),
      },
    },
  );
}
