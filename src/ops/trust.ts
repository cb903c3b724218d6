/**
 * `customs trust add|list|rm` and `customs policy init|show`: the trust store (policy.json + keys directory)
 * as verbs. The edits themselves (atomic, re-parsed before replacing the file) live in src/policy/trust-store.ts;
 * this module reads the user's key files and resolves where the files are.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { mkdir, readFile, stat } from '../internal/fsp.js';
import { dirname } from 'node:path';
import { CustomsError, isCustomsError } from '../errors.js';
import { writeFileAtomic } from '../internal/atomic.js';
import { isJsonObject, parseStrictJsonBytes } from '../internal/json.js';
import {
  addTrust,
  describeRequirement,
  listTrust,
  loadPolicy,
  loadRegistriesD,
  lookasideFor,
  policyPaths,
  removeTrust,
  requirementsFor,
  starterPolicy,
  type TrustEntry,
  type TrustKey,
} from '../policy/index.js';
import { resolveName } from '../ref/index.js';
import { keysDir, writablePolicyPath, type Context } from './context.js';

/** What `customs trust add` was given on the command line. */
export type TrustKeyInput =
  | { readonly kind: 'cosign'; readonly path: string }
  | { readonly kind: 'gpg'; readonly path: string }
  | { readonly kind: 'keyless'; readonly issuer: string; readonly subject: string; readonly trustedRoot: string }
  | {
      readonly kind: 'notary-root';
      readonly path: string;
      /** Notary server the requirement fetches from (`--notary-server`). */
      readonly server?: string | undefined;
      /** PEM CA for the server's TLS certificate (`--notary-ca`), copied into the keys dir. */
      readonly caPath?: string | undefined;
    };

/** Key files given to `trust add` are small; a larger one is a mistake (or not a key). */
const MAX_TRUST_INPUT_BYTES = 1024 * 1024;

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size > MAX_TRUST_INPUT_BYTES) {
      throw new CustomsError('USAGE', `${what} ${JSON.stringify(path)}: expected a regular file of at most 1 MiB`);
    }
    return await readFile(path);
  } catch (err) {
    if (isCustomsError(err)) throw err;
    throw new CustomsError(
      'USAGE',
      `${what} ${JSON.stringify(path)}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: err },
    );
  }
}

function pem(label: string, der: Buffer): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/**
 * The Fulcio CA certificate and Rekor public key of a sigstore `trusted_root.json`, as PEM: the last
 * certificate of the first certificate authority's chain (the root) and the first transparency log's key.
 */
export function keylessMaterialFromTrustedRoot(untrustedJson: Uint8Array): {
  fulcioCaPem: string;
  rekorPublicKeyPem: string;
} {
  const fail = (what: string): CustomsError =>
    new CustomsError('USAGE', `--trusted-root: ${what}`, {
      hint: 'Give a sigstore trusted_root.json (cosign trusted-root create, or the TUF target).',
    });
  const doc = parseStrictJsonBytes(untrustedJson, '--trusted-root');
  if (!isJsonObject(doc)) throw fail('expected a JSON object');
  const cas = doc['certificateAuthorities'];
  const tlogs = doc['tlogs'];
  if (!Array.isArray(cas) || cas.length === 0) throw fail('expected certificateAuthorities, got none');
  if (!Array.isArray(tlogs) || tlogs.length === 0) throw fail('expected tlogs, got none');
  const ca: unknown = cas[0];
  const chain = isJsonObject(ca) && isJsonObject(ca['certChain']) ? ca['certChain']['certificates'] : undefined;
  if (!Array.isArray(chain) || chain.length === 0)
    throw fail('certificateAuthorities[0].certChain: expected certificates');
  const last: unknown = chain[chain.length - 1];
  const raw = isJsonObject(last) ? last['rawBytes'] : undefined;
  if (typeof raw !== 'string') throw fail('certificate rawBytes: expected base64');
  const certDer = Buffer.from(raw, 'base64');
  try {
    new X509Certificate(certDer);
  } catch (err) {
    throw new CustomsError('USAGE', '--trusted-root: Fulcio certificate does not parse', { cause: err });
  }
  const log: unknown = tlogs[0];
  const keyRaw = isJsonObject(log) && isJsonObject(log['publicKey']) ? log['publicKey']['rawBytes'] : undefined;
  if (typeof keyRaw !== 'string') throw fail('tlogs[0].publicKey.rawBytes: expected base64');
  let keyDer: Buffer;
  try {
    keyDer = createPublicKey({ key: Buffer.from(keyRaw, 'base64'), format: 'der', type: 'spki' }).export({
      type: 'spki',
      format: 'der',
    });
  } catch (err) {
    throw new CustomsError('USAGE', '--trusted-root: Rekor public key does not parse', { cause: err });
  }
  return { fulcioCaPem: pem('CERTIFICATE', certDer), rekorPublicKeyPem: pem('PUBLIC KEY', keyDer) };
}

async function trustKeyOf(input: TrustKeyInput): Promise<TrustKey> {
  switch (input.kind) {
    case 'cosign':
      return { kind: 'cosign', pem: (await readInput(input.path, '--cosign-key')).toString('utf8') };
    case 'gpg':
      return { kind: 'gpg', armored: (await readInput(input.path, '--gpg-key')).toString('utf8') };
    case 'notary-root':
      return {
        kind: 'notary-root',
        json: (await readInput(input.path, '--notary-root')).toString('utf8'),
        server: input.server,
        caPem: input.caPath === undefined ? undefined : (await readInput(input.caPath, '--notary-ca')).toString('utf8'),
      };
    case 'keyless': {
      const m = keylessMaterialFromTrustedRoot(await readInput(input.trustedRoot, '--trusted-root'));
      return { kind: 'keyless', issuer: input.issuer, subject: input.subject, ...m };
    }
  }
}

/** `customs trust add SCOPE …`: copy the key into the keys dir and require it for SCOPE. Returns the scope's entry. */
export async function trustAdd(
  ctx: Context,
  scope: string,
  input: TrustKeyInput,
): Promise<{ policyPath: string; entry: TrustEntry | undefined }> {
  const policyPath = writablePolicyPath(ctx);
  const policy = await addTrust(policyPath, keysDir(ctx), scope, await trustKeyOf(input));
  return { policyPath, entry: listTrust(policy).find((e) => e.scope === scope) };
}

/** `customs trust list`: every docker scope of the policy in force. */
export async function trustList(ctx: Context): Promise<{ policyPath: string; entries: TrustEntry[] }> {
  const policy = await loadPolicy({ flag: ctx.policyFile, env: ctx.env });
  return { policyPath: policy.sourcePath, entries: listTrust(policy) };
}

/** `customs trust rm SCOPE`: drop the scope and the key files it referenced inside the keys directory. */
export async function trustRemove(ctx: Context, scope: string): Promise<{ policyPath: string }> {
  const policyPath = writablePolicyPath(ctx);
  await removeTrust(policyPath, scope, keysDir(ctx));
  return { policyPath };
}

/**
 * `customs policy init`: write the starter policy (reject by default). Refuses to replace an existing file
 * unless `force`.
 */
export async function policyInit(ctx: Context, force: boolean): Promise<{ policyPath: string }> {
  const policyPath = writablePolicyPath(ctx);
  if (!force) {
    const exists = await stat(policyPath).then(
      () => true,
      (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      },
    );
    if (exists) {
      throw new CustomsError('USAGE', `policy init: ${policyPath}: already exists`, {
        hint: 'Pass --force to replace it with the starter policy (reject by default).',
      });
    }
  }
  await mkdir(dirname(policyPath), { recursive: true, mode: 0o755 });
  await writeFileAtomic(policyPath, starterPolicy(), 0o644);
  return { policyPath };
}

export interface PolicyShow {
  readonly policyFile: string;
  readonly searched: readonly string[];
  readonly registriesD: readonly string[];
  readonly scopes: readonly TrustEntry[];
  readonly image?: {
    readonly name: string;
    readonly scope: string;
    readonly isDefault: boolean;
    readonly requirements: readonly string[];
    readonly lookaside?: string;
  };
}

/** `customs policy show [REF]`: the files in force and, for REF, the requirement set that applies. */
export async function policyShow(ctx: Context, untrustedName?: string): Promise<PolicyShow> {
  const policy = await loadPolicy({ flag: ctx.policyFile, env: ctx.env });
  const regD = await loadRegistriesD({ flag: ctx.registriesDDir, env: ctx.env });
  const out: PolicyShow = {
    policyFile: policy.sourcePath,
    searched: policyPaths({ flag: ctx.policyFile, env: ctx.env }),
    registriesD: regD.sources,
    scopes: listTrust(policy),
  };
  if (untrustedName === undefined) return out;
  const ref = resolveName(untrustedName, ctx.registriesConf);
  const set = requirementsFor(policy, ref);
  const look = lookasideFor(regD, ref).read;
  return {
    ...out,
    image: {
      name: untrustedName,
      scope: set.isDefault ? 'default' : set.scope,
      isDefault: set.isDefault,
      requirements: set.requirements.map(describeRequirement),
      ...(look === undefined ? {} : { lookaside: look }),
    },
  };
}
