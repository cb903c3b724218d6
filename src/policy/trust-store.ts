/**
 * The local trust store: policy.json plus a keys directory. `addTrust` binds one key to one scope (a registry
 * `host[:port]` or a repository prefix `host[:port]/path`) by writing the key file and adding a requirement
 * to `transports.docker[scope]`; the key is then valid for that scope and nothing else, because policy
 * lookup picks exactly one scope per image (titanous: "a local keystore mapping root keys to registries").
 *
 * Requirements in one scope are ANDed (containers-policy.json semantics): adding a second key to a scope
 * requires both signatures. Every write is atomic (temp + fsync + rename) and the edited policy is re-parsed
 * before it replaces the old one, so a failed edit never leaves a policy skopeo or customs would refuse.
 */
import { createPublicKey } from 'node:crypto';
import { mkdir, unlink } from '../internal/fsp.js';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { CustomsError, isCustomsError } from '../errors.js';
import { writeFileAtomic } from '../internal/atomic.js';
import { sha256Hex } from '../internal/hash.js';
import { isJsonObject, parseStrictJson } from '../internal/json.js';
import { readConfigText } from './config-file.js';
import { describeIdentity } from './identity.js';
import { starterPolicy } from './load.js';
import { parsePolicy } from './parse-policy.js';
import { validateDockerScope } from './scope.js';
import type { Policy, PolicyRequirement } from './types.js';

/** A key to trust for a scope. */
export type TrustKey =
  | { readonly kind: 'cosign'; readonly pem: string }
  | { readonly kind: 'gpg'; readonly armored: string }
  /**
   * Sigstore keyless: certificates Fulcio issued to `subject` (an email, the only form containers-policy.json
   * can express) by `issuer`. containers-policy.json needs the Fulcio CA and a Rekor key as files; the caller
   * takes them from the user's trusted_root.json.
   */
  | {
      readonly kind: 'keyless';
      readonly issuer: string;
      readonly subject: string;
      readonly fulcioCaPem: string;
      readonly rekorPublicKeyPem: string;
    }
  /** A Notary root, optionally with the server to fetch metadata from (and the CA for its TLS certificate). */
  | {
      readonly kind: 'notary-root';
      readonly json: string;
      readonly server?: string | undefined;
      readonly caPem?: string | undefined;
    };

/** One scope of the trust store as `listTrust` reports it. */
export interface TrustEntry {
  readonly scope: string;
  readonly requirements: readonly PolicyRequirement[];
  /** One line per requirement, e.g. `sigstoreSigned key /keys/x.pub (matchRepository)`. */
  readonly descriptions: readonly string[];
}

function usage(message: string, hint: string): CustomsError {
  return new CustomsError('USAGE', message, { hint });
}

/** A trust scope: a registry or repository prefix, canonical, no tag, digest or wildcard. */
export function assertTrustScope(scope: string): void {
  const problem = validateDockerScope(scope);
  if (
    scope === '' ||
    scope.startsWith('*.') ||
    problem !== undefined ||
    scope.includes('@') ||
    scope.lastIndexOf(':') > scope.lastIndexOf('/')
  ) {
    throw usage(
      `trust scope ${JSON.stringify(scope.slice(0, 200))}: invalid scope: expected a registry (host[:port]) or repository prefix (host[:port]/path), got ${problem?.expected === undefined ? 'a tag, digest, wildcard or empty scope' : 'an invalid name'}`,
      'A key is trusted for one registry or repository prefix, e.g. quay.io/myorg.',
    );
  }
}

function scopeSlug(scope: string): string {
  return scope.replace(/[^a-z0-9.-]+/g, '_');
}

function pemBody(pem: string, label: string, subject: string): string {
  const text = pem.trim();
  if (/PRIVATE KEY/.test(text)) {
    throw usage(
      `${subject}: private key refused: expected a public key, got a private key`,
      'Give the public half (cosign.pub).',
    );
  }
  const re = new RegExp(`^-----BEGIN ${label}-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END ${label}-----$`);
  if (!re.test(text))
    throw usage(`${subject}: invalid PEM: expected a ${label} block, got other text`, 'Give a PEM file.');
  return `${text}\n`;
}

/** Validate the key, and return [file contents, extension] for each file it needs. */
function keyFiles(key: TrustKey): { role: string; ext: string; contents: string }[] {
  switch (key.kind) {
    case 'cosign': {
      const pem = pemBody(key.pem, 'PUBLIC KEY', 'cosign key');
      try {
        createPublicKey(pem);
      } catch (err) {
        throw new CustomsError(
          'USAGE',
          'cosign key: invalid public key: expected a PKIX public key, got unparsable data',
          {
            cause: err,
          },
        );
      }
      return [{ role: 'key', ext: 'pub', contents: pem }];
    }
    case 'gpg': {
      const text = key.armored.trim();
      if (/BEGIN PGP PRIVATE KEY BLOCK/.test(text)) {
        throw usage(
          'gpg key: private key refused: expected a public key, got a private key block',
          'Export with gpg --armor --export.',
        );
      }
      if (!/^-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----$/.test(text)) {
        throw usage(
          'gpg key: invalid key: expected an armored PGP PUBLIC KEY BLOCK, got other text',
          'Export with gpg --armor --export.',
        );
      }
      return [{ role: 'key', ext: 'gpg', contents: `${text}\n` }];
    }
    case 'keyless': {
      if (key.issuer === '' || key.subject === '') {
        throw usage(
          'keyless identity: empty value: expected an OIDC issuer and a subject, got an empty string',
          'Pass ISSUER and SUBJECT.',
        );
      }
      return [
        { role: 'fulcio', ext: 'pem', contents: pemBody(key.fulcioCaPem, 'CERTIFICATE', 'Fulcio CA') },
        { role: 'rekor', ext: 'pub', contents: pemBody(key.rekorPublicKeyPem, 'PUBLIC KEY', 'Rekor key') },
      ];
    }
    case 'notary-root': {
      let doc: unknown;
      try {
        doc = parseStrictJson(key.json, 'notary root');
      } catch (err) {
        if (!isCustomsError(err)) throw err;
        throw new CustomsError('USAGE', err.message, { cause: err });
      }
      const signed = isJsonObject(doc) ? doc['signed'] : undefined;
      if (!isJsonObject(signed) || signed['_type'] !== 'Root') {
        throw usage(
          'notary root: not a root: expected TUF root.json with signed._type "Root", got other JSON',
          'Give the root.json of the repository.',
        );
      }
      const root = { role: 'root', ext: 'json', contents: key.json.endsWith('\n') ? key.json : `${key.json}\n` };
      if (key.caPem === undefined) return [root];
      if (key.server === undefined) {
        throw usage('notary CA: expected --notary-server with --notary-ca, got no server', 'Name the server.');
      }
      return [root, { role: 'notary-ca', ext: 'pem', contents: pemBody(key.caPem, 'CERTIFICATE', 'Notary CA') }];
    }
  }
}

function requirementJson(key: TrustKey, paths: readonly string[]): Record<string, unknown> {
  switch (key.kind) {
    case 'cosign':
      // cosign signs the repository, not the tag: matchRepository (containers-policy.json(5) advice for cosign).
      return { type: 'sigstoreSigned', keyPath: paths[0], signedIdentity: { type: 'matchRepository' } };
    case 'gpg':
      return { type: 'signedBy', keyType: 'GPGKeys', keyPath: paths[0] };
    case 'keyless':
      return {
        type: 'sigstoreSigned',
        fulcio: { caPath: paths[0], oidcIssuer: key.issuer, subjectEmail: key.subject },
        rekorPublicKeyPath: paths[1],
        signedIdentity: { type: 'matchRepository' },
      };
    case 'notary-root':
      return {
        type: 'customsNotarySigned',
        rootPath: paths[0],
        ...(key.server === undefined ? {} : { server: key.server }),
        ...(paths[1] === undefined ? {} : { caPath: paths[1] }),
      };
  }
}

async function readPolicyJson(policyPath: string, createIfMissing: boolean): Promise<Record<string, unknown>> {
  const text =
    (await readConfigText(policyPath, `policy ${JSON.stringify(policyPath)}`, createIfMissing)) ?? starterPolicy();
  parsePolicy(text, policyPath); // refuse to edit a policy that is already invalid
  const doc = parseStrictJson(text, 'policy');
  if (!isJsonObject(doc)) throw new CustomsError('INTERNAL', 'policy: parsed policy is not an object');
  return doc;
}

async function writePolicyJson(policyPath: string, doc: Record<string, unknown>): Promise<Policy> {
  const text = `${JSON.stringify(doc, null, 4)}\n`;
  const policy = parsePolicy(text, policyPath); // never write what we could not read back
  await writeFileAtomic(policyPath, text, 0o644);
  return policy;
}

function dockerScopes(doc: Record<string, unknown>): Record<string, unknown> {
  let transports = doc['transports'];
  if (transports === undefined) {
    transports = {};
    doc['transports'] = transports;
  }
  if (!isJsonObject(transports)) throw new CustomsError('INTERNAL', 'policy: transports is not an object');
  let docker = transports['docker'];
  if (docker === undefined) {
    docker = {};
    transports['docker'] = docker;
  }
  if (!isJsonObject(docker)) throw new CustomsError('INTERNAL', 'policy: transports.docker is not an object');
  return docker;
}

/**
 * Trust `key` for `scope`: write its file(s) into `keysDir` (named `<scope>-<sha256 prefix>.<ext>`, created
 * 0755 if missing) and append a requirement to `transports.docker[scope]` of the policy at `policyPath`
 * (created from `starterPolicy()` if missing). Idempotent: a key already required for the scope is not added
 * twice. `insecureAcceptAnything` in that scope is dropped (ANDed with a key it means nothing); a scope that
 * says `reject` is refused with USAGE (remove it first). Verifies the key parses as the kind claimed and is
 * not a private key; does not check that anything is signed by it. Returns the updated policy.
 */
export async function addTrust(policyPath: string, keysDir: string, scope: string, key: TrustKey): Promise<Policy> {
  assertTrustScope(scope);
  const files = keyFiles(key);
  const doc = await readPolicyJson(policyPath, true);
  const scopes = dockerScopes(doc);
  const existing = scopes[scope];
  let list: unknown[] = Array.isArray(existing) ? [...(existing as unknown[])] : [];
  if (list.some((r) => isJsonObject(r) && r['type'] === 'reject')) {
    throw usage(
      `trust scope ${JSON.stringify(scope)}: scope rejects every image: expected a scope without "reject", got one`,
      `Run customs trust rm ${scope} first if you mean to allow signed images there.`,
    );
  }
  list = list.filter((r) => !(isJsonObject(r) && r['type'] === 'insecureAcceptAnything'));

  const absKeysDir = resolve(keysDir);
  const digest = sha256Hex(files.map((f) => f.contents).join('\0')).slice(0, 16);
  const paths = files.map((f) =>
    join(absKeysDir, `${scopeSlug(scope)}-${digest}${f.role === 'key' ? '' : `-${f.role}`}.${f.ext}`),
  );
  const requirement = requirementJson(key, paths);
  const already = list.some((r) => JSON.stringify(r) === JSON.stringify(requirement));
  await mkdir(absKeysDir, { recursive: true, mode: 0o755 });
  for (const [i, f] of files.entries()) await writeFileAtomic(paths[i] as string, f.contents, 0o644);
  if (!already) list.push(requirement);
  scopes[scope] = list;
  return writePolicyJson(policyPath, doc);
}

/**
 * Stop trusting anything for `scope`: delete `transports.docker[scope]` from the policy (images there fall
 * back to the next scope or the default, which should reject). When `keysDir` is given, key files the scope
 * referenced inside that directory are deleted too; files elsewhere are never touched. Throws USAGE if the
 * scope is not in the policy.
 */
export async function removeTrust(policyPath: string, scope: string, keysDir?: string): Promise<Policy> {
  const doc = await readPolicyJson(policyPath, false);
  const scopes = dockerScopes(doc);
  const existing = scopes[scope];
  if (existing === undefined) {
    throw usage(
      `trust scope ${JSON.stringify(scope.slice(0, 200))}: not found: expected a scope in the policy, got none`,
      'See customs trust list.',
    );
  }
  const policyBefore = parsePolicy(JSON.stringify(doc), policyPath);
  const reqs = policyBefore.transports.get('docker')?.get(scope) ?? [];
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing one validated key from parsed JSON
  delete scopes[scope];
  const policy = await writePolicyJson(policyPath, doc);
  if (keysDir !== undefined) {
    const base = resolve(keysDir);
    for (const p of keyPathsOf(reqs)) {
      const rel = relative(base, resolve(p));
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
      await unlink(resolve(p)).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      });
    }
  }
  return policy;
}

function keyPathsOf(reqs: readonly PolicyRequirement[]): string[] {
  const out: string[] = [];
  for (const r of reqs) {
    if (r.type === 'customsThreshold') out.push(...keyPathsOf(r.requirements));
    else if (r.type === 'signedBy' || r.type === 'sigstoreSigned') {
      if (r.keys.kind === 'path') out.push(r.keys.path);
      else if (r.keys.kind === 'paths') out.push(...r.keys.paths);
      else if (r.keys.kind === 'fulcio' && r.keys.fulcio.ca.kind === 'path') out.push(r.keys.fulcio.ca.path);
      if (r.type === 'sigstoreSigned' && r.rekorPublicKeys !== undefined) {
        if (r.rekorPublicKeys.kind === 'path') out.push(r.rekorPublicKeys.path);
        else if (r.rekorPublicKeys.kind === 'paths') out.push(...r.rekorPublicKeys.paths);
      }
    } else if (r.type === 'customsNotarySigned') {
      if (r.root.kind === 'path') out.push(r.root.path);
      if (r.caPath !== undefined) out.push(r.caPath);
    }
  }
  return out;
}

/** One-line description of a requirement for listings and `policy show`. */
export function describeRequirement(r: PolicyRequirement): string {
  const keys = (k: { kind: string; path?: string; paths?: readonly string[] }): string =>
    k.kind === 'path'
      ? `key ${k.path ?? ''}`
      : k.kind === 'paths'
        ? `keys ${(k.paths ?? []).join(', ')}`
        : 'inline key data';
  switch (r.type) {
    case 'signedBy':
      return `signedBy ${r.keyType} ${keys(r.keys)} (${describeIdentity(r.signedIdentity)})`;
    case 'sigstoreSigned':
      return r.keys.kind === 'fulcio'
        ? `sigstoreSigned keyless ${r.keys.fulcio.subjectEmail} from ${r.keys.fulcio.oidcIssuer} (${describeIdentity(r.signedIdentity)})`
        : `sigstoreSigned ${keys(r.keys)} (${describeIdentity(r.signedIdentity)})`;
    case 'customsNotarySigned':
      return `customsNotarySigned root ${r.root.kind === 'path' ? r.root.path : 'inline'}${r.server === undefined ? ' (no server: cannot be met online)' : ` server ${r.server}`} (${describeIdentity(r.signedIdentity)})`;
    case 'customsThreshold':
      return `customsThreshold ${r.threshold} of [${r.requirements.map(describeRequirement).join('; ')}]`;
    case 'signedBaseLayer':
      return `signedBaseLayer (${describeIdentity(r.baseLayerIdentity)})`;
    default:
      return r.type;
  }
}

/** Every `transports.docker` scope of `policy` with its requirements, in file order. Pure. */
export function listTrust(policy: Policy): TrustEntry[] {
  const scopes = policy.transports.get('docker');
  if (scopes === undefined) return [];
  return [...scopes].map(([scope, requirements]) => ({
    scope,
    requirements,
    descriptions: requirements.map(describeRequirement),
  }));
}
