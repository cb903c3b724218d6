/**
 * Strict parsing of image references: `[registry/]repository[:tag][@digest]`.
 *
 * The grammar is the distribution reference grammar (github.com/distribution/reference, regexp.go and
 * reference.go), with customs' refusals on top:
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain "/"] remote-name            ; at most NameTotalLengthMax = 255 characters
 *   domain           := host [":" port-number]
 *   host             := domain-name | "[" IPv6address "]"
 *   domain-name      := domain-component ["." domain-component]*
 *   domain-component := (?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])
 *   remote-name      := path-component ["/" path-component]*
 *   path-component   := [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
 *   tag              := [\w][\w.-]{0,127}
 *
 * Deviations, all of them refusals (customs never accepts what the grammar refuses):
 * - No implicit `:latest`: a reference with neither tag nor digest is refused.
 * - No implicit `docker.io` or `library/`: a name without a registry comes back as a short name for
 *   short-names.ts to refuse or alias; `docker.io/alpine` is refused rather than rewritten to
 *   `docker.io/library/alpine` (distribution normalize.go does that rewrite silently).
 * - Digests go through `parseDigest`: sha256/sha512 with exact lowercase hex only.
 * - Hosts are compared case-insensitively (RFC 4343) and kept lowercased, so one registry has one spelling.
 * - Ports must be 1-65535 without leading zeros; `localhost:05000` and `localhost:5000` would otherwise be two
 *   spellings of one origin, and a policy written for one would miss the other.
 * - A host whose last label is numeric must be a canonical dotted-quad IPv4 address. The WHATWG URL parser
 *   treats `0x7f.1` or `2130706433` as IPv4 (URL standard, "ends in a number"), so such a name would connect
 *   to 127.0.0.1 while every policy and message saw a different string.
 * - IPv6 literals must satisfy both the grammar's `[a-fA-F0-9:]+` and `net.isIPv6`.
 *
 * The registry rule is docker's (normalize.go splitDockerDomain): the first `/`-separated component is a
 * registry iff it contains `.` or `:` or is exactly `localhost`. Newer distribution releases also treat an
 * uppercase first component as a registry; customs does not, so `Foo/bar:1` is refused as an uppercase
 * repository instead of being sent to a host named `foo`.
 */
import { isIPv6 } from 'node:net';
import { CustomsError } from '../errors.js';
import { parseDigest, type Digest } from './digest.js';
import type { Reference } from './reference.js';

/** distribution/reference NameTotalLengthMax: `registry/repository` (or the short name) in characters. */
export const MAX_NAME_LENGTH_CHARS = 255;

/** distribution/reference tag grammar: one word character then at most 127 more. */
export const MAX_TAG_LENGTH_CHARS = 128;

/** How much of an untrusted string a message repeats; enough to recognise it, not enough to flood a log. */
const MAX_QUOTED_CHARS = 300;

const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_LITERAL = /^\[([a-fA-F0-9:]+)\]$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const PATH_COMPONENT_GRAMMAR = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
// `\w` without the `u` flag is ASCII [A-Za-z0-9_], as in Go's RE2.
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST_CHARS = /^[A-Za-z0-9:=_+.-]*$/;
const PORT = /^[1-9][0-9]{0,4}$/;
const MAX_PORT = 65535;
const LOOKS_NUMERIC_LABEL = /^(?:[0-9]+|0[xX][0-9a-fA-F]*)$/;
const DOTTED_QUAD =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;

/** A name with no registry component (`alpine:3`, `library/alpine@sha256:…`). Not usable until resolved. */
export interface ShortName {
  /** The repository path exactly as written, e.g. `library/alpine`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/** Result of `parseReference`: a fully qualified reference, or a short name that short-names.ts must resolve. */
export type ParsedName =
  { readonly kind: 'qualified'; readonly reference: Reference } | { readonly kind: 'short'; readonly name: ShortName };

/** A repository name without tag or digest, split into its parts. */
export type ParsedRepositoryName =
  | { readonly kind: 'qualified'; readonly registry: string; readonly repository: string }
  | { readonly kind: 'short'; readonly repository: string };

/**
 * Quote an untrusted string for a message: JSON-style quotes, truncated, and every character outside printable
 * ASCII escaped, so terminal control sequences and bidi overrides (Trojan Source, CVE-2021-42574) never reach a
 * terminal through an error message. Internal to src/ref (not re-exported by index.ts).
 */
export function quoteUntrusted(untrusted: string): string {
  const cut = untrusted.length > MAX_QUOTED_CHARS ? untrusted.slice(0, MAX_QUOTED_CHARS) : untrusted;
  let out = '"';
  for (const ch of cut) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\u{${cp.toString(16)}}`;
  }
  return `${out}"${cut.length < untrusted.length ? `…(${untrusted.length} characters)` : ''}`;
}

/** `reference "X"`, the subject of every message about a reference. */
export function referenceSubject(untrusted: string): string {
  return `reference ${quoteUntrusted(untrusted)}`;
}

function invalid(subject: string, what: string, expected: string, got: string, hint?: string): CustomsError {
  return new CustomsError('REFERENCE_INVALID', `${subject}: ${what}: expected ${expected}, got ${got}`, {
    ...(hint === undefined ? {} : { hint }),
    details: { expected, got },
  });
}

/** True iff `component` (text before the first `/`) names a registry, by docker's rule (normalize.go). */
function isRegistryComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/**
 * Validate `host[:port]` (the grammar's `domain`, with the refusals listed above) and return it lowercased.
 * Throws REFERENCE_INVALID naming the faulty part. Exported for registries.conf, whose prefixes and locations
 * use the same grammar.
 */
export function parseRegistryHost(untrusted: string, subject: string): string {
  let host: string;
  let port: string | undefined;
  if (untrusted.startsWith('[')) {
    const close = untrusted.indexOf(']');
    if (close === -1) throw invalid(subject, 'invalid registry', '[IPv6]:port', quoteUntrusted(untrusted));
    host = untrusted.slice(0, close + 1);
    const rest = untrusted.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':'))
        throw invalid(subject, 'invalid registry', '[IPv6] or [IPv6]:port', quoteUntrusted(untrusted));
      port = rest.slice(1);
    }
    const m = IPV6_LITERAL.exec(host);
    if (m === null || !isIPv6(m[1] ?? '')) {
      throw invalid(
        subject,
        'invalid IPv6 registry address',
        'a bracketed IPv6 address such as [::1]',
        quoteUntrusted(host),
      );
    }
  } else {
    const colon = untrusted.indexOf(':');
    host = colon === -1 ? untrusted : untrusted.slice(0, colon);
    if (colon !== -1) port = untrusted.slice(colon + 1);
    const labels = host.split('.');
    for (const label of labels) {
      if (!DOMAIN_COMPONENT.test(label)) {
        throw invalid(
          subject,
          'invalid registry host',
          'dot-separated labels of letters, digits and inner hyphens',
          label === '' ? `an empty label in ${quoteUntrusted(host)}` : quoteUntrusted(label),
        );
      }
    }
    const last = labels[labels.length - 1] ?? '';
    if (LOOKS_NUMERIC_LABEL.test(last) && !DOTTED_QUAD.test(host)) {
      throw invalid(
        subject,
        'ambiguous numeric registry host',
        'a DNS name or a dotted-quad IPv4 address such as 127.0.0.1',
        quoteUntrusted(host),
        'URL parsers read hosts ending in a number as IPv4 in several spellings; write the address as four decimal octets.',
      );
    }
  }
  if (port !== undefined) {
    const n = Number(port);
    if (!PORT.test(port) || n > MAX_PORT) {
      throw invalid(subject, 'invalid registry port', 'a port 1-65535 without leading zeros', quoteUntrusted(port));
    }
  }
  return (port === undefined ? host : `${host}:${port}`).toLowerCase();
}

/** Validate a repository path against the path-component grammar, naming the faulty component. */
function assertRepositoryPath(path: string, subject: string): void {
  if (path === '') throw invalid(subject, 'missing repository', 'registry/repository', 'nothing after the registry');
  const components = path.split('/');
  for (const [i, c] of components.entries()) {
    if (c === '') {
      const where =
        i === components.length - 1 ? 'a trailing "/"' : i === 0 ? 'a leading "/"' : 'an empty component ("//")';
      throw invalid(subject, 'invalid repository path', `components matching ${PATH_COMPONENT_GRAMMAR}`, where);
    }
    if (!PATH_COMPONENT.test(c)) {
      if (PATH_COMPONENT.test(c.toLowerCase())) {
        throw invalid(
          subject,
          'repository must be lowercase',
          quoteUntrusted(c.toLowerCase()),
          quoteUntrusted(c),
          'Repository names are lowercase in the distribution grammar; only the registry host may use capitals.',
        );
      }
      throw invalid(subject, 'invalid repository path component', PATH_COMPONENT_GRAMMAR, quoteUntrusted(c));
    }
  }
}

/**
 * Validate a repository path (`library/alpine`) against the path-component grammar and return it. Throws
 * REFERENCE_INVALID naming the faulty component (empty, uppercase, or outside the grammar). Does not check
 * the total name length, which depends on the registry it is joined to.
 */
export function parseRepositoryPath(untrusted: string, subject: string): string {
  assertRepositoryPath(untrusted, subject);
  return untrusted;
}

/**
 * Split and validate a name (no tag, no digest). The name length limit applies to the whole name as written.
 * `docker.io/<one component>` is refused with SHORT_NAME_REFUSED: customs never adds `library/`.
 */
function parseNameParts(name: string, subject: string, pinSuffix = ''): ParsedRepositoryName {
  if (name.length > MAX_NAME_LENGTH_CHARS) {
    throw invalid(subject, 'name too long', `at most ${MAX_NAME_LENGTH_CHARS} characters`, `${name.length}`);
  }
  const slash = name.indexOf('/');
  const first = slash === -1 ? name : name.slice(0, slash);
  if (slash === -1 || !isRegistryComponent(first)) {
    assertRepositoryPath(name, subject);
    return { kind: 'short', repository: name };
  }
  const registry = parseRegistryHost(first, subject);
  const repository = name.slice(slash + 1);
  assertRepositoryPath(repository, subject);
  if (registry === 'docker.io' && !repository.includes('/')) {
    const suggestion = `docker.io/library/${repository}${pinSuffix}`;
    throw new CustomsError(
      'SHORT_NAME_REFUSED',
      `${subject}: implicit library/ namespace refused: expected ${suggestion}, got docker.io/${repository}${pinSuffix}`,
      {
        hint: `Write ${suggestion} explicitly; customs never adds library/ to a Docker Hub name.`,
        details: { expected: suggestion, got: `docker.io/${repository}${pinSuffix}` },
      },
    );
  }
  return { kind: 'qualified', registry, repository };
}

/**
 * Parse a repository name without tag or digest (`registry/repository` or a short `repository`), as used by
 * `[aliases]` values and policy scopes. Verifies the grammar and length; does not consult registries.conf and
 * does not check that the repository exists. Throws REFERENCE_INVALID, or SHORT_NAME_REFUSED for
 * `docker.io/<single component>`.
 */
export function parseRepositoryName(untrusted: string, subjectOrUndefined?: string): ParsedRepositoryName {
  if (typeof untrusted !== 'string') {
    throw new CustomsError('REFERENCE_INVALID', `repository name: expected a string, got ${typeof untrusted}`);
  }
  const subject = subjectOrUndefined ?? referenceSubject(untrusted);
  if (untrusted.includes('@') || tagSeparatorIndex(untrusted) !== -1) {
    throw invalid(
      subject,
      'unexpected tag or digest',
      'a repository name without :tag or @digest',
      quoteUntrusted(untrusted),
    );
  }
  return parseNameParts(untrusted, subject);
}

/** Index of the `:` that starts a tag (the last `:` after the last `/`), or -1. Ports come before a `/`. */
function tagSeparatorIndex(nameAndTag: string): number {
  const colon = nameAndTag.lastIndexOf(':');
  return colon > nameAndTag.lastIndexOf('/') && !nameAndTag.slice(colon).includes(']') ? colon : -1;
}

/**
 * Parse an untrusted reference string.
 *
 * Verifies: the distribution reference grammar (see the file comment), name length ≤ 255, tag grammar and
 * length, digest via `parseDigest`, and that a tag or a digest is present (customs never assumes `:latest`).
 * Returns `{kind: 'qualified'}` when the first component is a registry (contains `.` or `:`, or is `localhost`),
 * otherwise `{kind: 'short'}`; it never fills in a registry.
 *
 * Does not: resolve short names (see `resolveName`), consult registries.conf (aliases, blocked registries,
 * locations), or contact any registry. Throws CustomsError REFERENCE_INVALID, or SHORT_NAME_REFUSED for
 * `docker.io/<single component>`; never any other error.
 */
export function parseReference(untrusted: string): ParsedName {
  if (typeof untrusted !== 'string') {
    throw new CustomsError('REFERENCE_INVALID', `reference: expected a string, got ${typeof untrusted}`);
  }
  const subject = referenceSubject(untrusted);
  if (untrusted === '') throw invalid(subject, 'empty reference', 'registry/repository:tag', 'an empty string');

  let nameAndTag = untrusted;
  let digest: Digest | undefined;
  const at = untrusted.indexOf('@');
  if (at !== -1) {
    nameAndTag = untrusted.slice(0, at);
    const untrustedDigest = untrusted.slice(at + 1);
    // parseDigest echoes what it got; keep anything but digest characters out of that echo.
    if (!DIGEST_CHARS.test(untrustedDigest)) {
      throw invalid(subject, 'invalid digest', 'sha256:<64 lowercase hex>', quoteUntrusted(untrustedDigest));
    }
    digest = parseDigest(untrustedDigest, subject);
  }

  let name = nameAndTag;
  let tag: string | undefined;
  const colon = tagSeparatorIndex(nameAndTag);
  if (colon !== -1) {
    name = nameAndTag.slice(0, colon);
    tag = nameAndTag.slice(colon + 1);
    if (tag.length > MAX_TAG_LENGTH_CHARS) {
      throw invalid(subject, 'tag too long', `at most ${MAX_TAG_LENGTH_CHARS} characters`, `${tag.length}`);
    }
    if (!TAG.test(tag)) {
      throw invalid(
        subject,
        'invalid tag',
        '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}',
        tag === '' ? 'an empty tag' : quoteUntrusted(tag),
      );
    }
  }
  if (name === '')
    throw invalid(subject, 'missing repository', 'registry/repository', 'nothing before the tag or digest');

  // Tag and digest are validated by now, so they are safe to repeat in a suggestion.
  const parts = parseNameParts(name, subject, untrusted.slice(name.length));

  if (tag === undefined && digest === undefined) {
    throw invalid(
      subject,
      'missing tag or digest',
      `${name}:TAG or ${name}@sha256:…`,
      'neither',
      parts.kind === 'short'
        ? 'Add :TAG or @sha256:… and a registry host (e.g. docker.io/library/NAME:TAG); customs never assumes :latest or a registry.'
        : 'Add :TAG or @sha256:… to the name; customs never assumes :latest.',
    );
  }
  const pin = { ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
  if (parts.kind === 'short') return { kind: 'short', name: { repository: parts.repository, ...pin } };
  return { kind: 'qualified', reference: { registry: parts.registry, repository: parts.repository, ...pin } };
}

/**
 * Parse an untrusted reference that must already be fully qualified (no registries.conf involved), e.g. a
 * reference read from a lock file. Same checks as `parseReference`; a short name throws SHORT_NAME_REFUSED.
 */
export function parseQualifiedReference(untrusted: string): Reference {
  const parsed = parseReference(untrusted);
  if (parsed.kind === 'qualified') return parsed.reference;
  throw new CustomsError(
    'SHORT_NAME_REFUSED',
    `${referenceSubject(untrusted)}: short name refused: expected registry/repository, got no registry`,
    { hint: 'Write the registry host explicitly, e.g. docker.io/library/alpine:3.' },
  );
}

/**
 * The host customs connects to for a registry name. Docker Hub's name is `docker.io` but its registry API is
 * served at `registry-1.docker.io` (the host docker and containers/image dial); every other registry is its own
 * API host. Identity and policy decisions keep using the name, never this host.
 */
export function apiHostFor(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}
