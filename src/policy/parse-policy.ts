/**
 * containers-policy.json(5) parsing, as strict as containers/image (signature/policy_config.go and
 * policy_config_sigstore.go): unknown fields, unknown requirement or identity types, duplicate keys, wrong
 * types and contradictory key sources refuse the whole file (POLICY_INVALID, exit 7), naming the JSON path.
 * A policy that parses here means what it means to skopeo; where customs is stricter it refuses, never guesses:
 *
 * - `transports.docker` scopes must be canonical names customs could ever match (`host[:port]`,
 *   `host[:port]/path`, `…:tag`, `…@digest`, `*.domain`, or `""`). containers/image accepts any string there and
 *   silently never matches a typo such as `docker.io/busybox` (it normalizes to `docker.io/library/busybox`),
 *   which would let the image fall through to a weaker default.
 * - `null` is refused where a string, array or object is expected (Go would silently read it as empty).
 * - Base64 fields (`keyData`, `caData`, …) must be canonical padded base64 without line breaks.
 * - `remapIdentity` prefixes must be `host[:port]` or `host[:port]/path`; `exactReference`/`exactRepository`
 *   must use a lowercase registry host.
 *
 * customs extensions (skopeo refuses files that use them): `customsThreshold` {threshold, requirements} for
 * N-of-M keys, and `customsNotarySigned` {rootPath | rootData, server?, caPath?, signedIdentity} for Notary v1 roots.
 */
import { CustomsError, isCustomsError } from '../errors.js';
import { parseStrictJson, isJsonObject } from '../internal/json.js';
import { sanitizeForDisplay } from '../internal/redact.js';
import { MAX_NAME_LENGTH_CHARS, parseRegistryHost, parseRepositoryPath } from '../ref/index.js';
import { parseNormalizedDockerName } from './docker-name.js';
import { validateDockerScope } from './scope.js';
import type {
  FulcioTrust,
  KeySource,
  Policy,
  PolicyRequirement,
  SignatureRequirement,
  SignedByKeyType,
  SignedIdentity,
} from './types.js';

/** A policy with more requirements than this in one list is not something a person wrote. */
export const MAX_REQUIREMENTS_PER_SCOPE = 256;

const SIGNED_BY_KEY_TYPES: readonly SignedByKeyType[] = [
  'GPGKeys',
  'signedByGPGKeys',
  'X509Certificates',
  'signedByX509CAs',
];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function quote(untrusted: string): string {
  return JSON.stringify(sanitizeForDisplay(untrusted, 200));
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** Parsing context: the file and the JSON path of the value being read. */
class Ctx {
  constructor(
    readonly sourcePath: string,
    readonly path: string,
  ) {}

  key(k: string): Ctx {
    return new Ctx(
      this.sourcePath,
      /^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? `${this.path}.${k}` : `${this.path}[${quote(k)}]`,
    );
  }

  index(i: number): Ctx {
    return new Ctx(this.sourcePath, `${this.path}[${i}]`);
  }

  fail(what: string, expected: string, got: string, hint?: string): CustomsError {
    return new CustomsError(
      'POLICY_INVALID',
      `policy ${quote(this.sourcePath)}: ${this.path}: ${what}: expected ${expected}, got ${got}`,
      {
        hint: hint ?? 'Fix the policy file; customs refuses a policy it cannot read exactly, as skopeo does.',
        details: { sourcePath: this.sourcePath, jsonPath: this.path, expected, got },
      },
    );
  }
}

function object(v: unknown, ctx: Ctx, known: readonly string[]): Record<string, unknown> {
  if (!isJsonObject(v)) throw ctx.fail('wrong type', 'an object', typeName(v));
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) {
      throw ctx.key(k).fail('unknown field', `one of ${known.join(', ')}`, quote(k));
    }
  }
  return v;
}

function string(v: unknown, ctx: Ctx, nonEmpty = true): string {
  if (typeof v !== 'string') throw ctx.fail('wrong type', 'a string', typeName(v));
  if (nonEmpty && v === '') throw ctx.fail('empty value', 'a non-empty string', 'an empty string');
  return v;
}

function stringArray(v: unknown, ctx: Ctx): string[] {
  if (!Array.isArray(v)) throw ctx.fail('wrong type', 'an array of strings', typeName(v));
  if (v.length === 0) throw ctx.fail('empty list', 'at least one entry', 'an empty array');
  return v.map((item, i) => string(item, ctx.index(i)));
}

function base64(v: unknown, ctx: Ctx): Uint8Array {
  const s = string(v, ctx, false);
  if (!BASE64.test(s)) throw ctx.fail('invalid base64', 'padded standard base64 (RFC 4648 §4)', 'other text');
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function base64Array(v: unknown, ctx: Ctx): Uint8Array[] {
  if (!Array.isArray(v)) throw ctx.fail('wrong type', 'an array of base64 strings', typeName(v));
  if (v.length === 0) throw ctx.fail('empty list', 'at least one entry', 'an empty array');
  return v.map((item, i) => base64(item, ctx.index(i)));
}

/** Exactly one of the named key-source fields; `extra` names further alternatives for the message. */
function keySource(
  o: Record<string, unknown>,
  ctx: Ctx,
  names: { path: string; paths?: string; data: string; datas?: string },
  extraCount: number,
  extraNames: readonly string[],
  required: boolean,
): KeySource | undefined {
  const present = [names.path, names.paths, names.data, names.datas].filter(
    (n): n is string => n !== undefined && n in o,
  );
  const all = [names.path, names.paths, names.data, names.datas, ...extraNames].filter(
    (n): n is string => n !== undefined,
  );
  const count = present.length + extraCount;
  if (count > 1 || (required && count === 0)) {
    throw ctx.fail(
      'key source',
      `exactly one of ${all.join(', ')}`,
      count === 0 ? 'none' : [...present, ...extraNames.filter((n) => n in o)].join(' and '),
    );
  }
  const which = present[0];
  if (which === undefined) return undefined;
  if (which === names.path) return { kind: 'path', path: string(o[which], ctx.key(which)) };
  if (which === names.paths) return { kind: 'paths', paths: stringArray(o[which], ctx.key(which)) };
  if (which === names.data) return { kind: 'data', data: base64(o[which], ctx.key(which)) };
  return { kind: 'datas', datas: base64Array(o[which], ctx.key(which)) };
}

function requireType(o: Record<string, unknown>, ctx: Ctx): string {
  if (!('type' in o)) throw ctx.fail('missing field', 'a "type" field', 'none');
  return string(o['type'], ctx.key('type'), false);
}

function registryPrefix(v: unknown, ctx: Ctx): string {
  const s = string(v, ctx);
  const slash = s.indexOf('/');
  const host = slash === -1 ? s : s.slice(0, slash);
  let ok = host.includes('.') || host.includes(':') || host === 'localhost';
  try {
    ok &&= parseRegistryHost(host, 'prefix') === host;
    if (slash !== -1) parseRepositoryPath(s.slice(slash + 1), 'prefix');
  } catch (err) {
    if (!isCustomsError(err)) throw err;
    ok = false;
  }
  if (!ok || s.length > MAX_NAME_LENGTH_CHARS) {
    throw ctx.fail('invalid prefix', 'host[:port] or host[:port]/path in canonical form', quote(s));
  }
  return s;
}

/** containers/image newPolicyReferenceMatchFromJSON. */
function parseSignedIdentity(v: unknown, ctx: Ctx): SignedIdentity {
  if (!isJsonObject(v)) throw ctx.fail('wrong type', 'an object', typeName(v));
  const type = requireType(v, ctx);
  switch (type) {
    case 'matchExact':
    case 'matchRepoDigestOrExact':
    case 'matchRepository':
      object(v, ctx, ['type']);
      return { type };
    case 'exactReference': {
      const o = object(v, ctx, ['type', 'dockerReference']);
      const ref = string(o['dockerReference'], ctx.key('dockerReference'));
      const n = parseNormalizedDockerName(ref);
      if (n === undefined || (n.tag === undefined && n.digest === undefined)) {
        throw ctx
          .key('dockerReference')
          .fail('invalid reference', 'a docker reference with a tag or digest and a lowercase registry', quote(ref));
      }
      return { type, dockerReference: ref };
    }
    case 'exactRepository': {
      const o = object(v, ctx, ['type', 'dockerRepository']);
      const repo = string(o['dockerRepository'], ctx.key('dockerRepository'));
      if (parseNormalizedDockerName(repo) === undefined) {
        throw ctx
          .key('dockerRepository')
          .fail('invalid repository', 'a docker repository name with a lowercase registry', quote(repo));
      }
      return { type, dockerRepository: repo };
    }
    case 'remapIdentity': {
      const o = object(v, ctx, ['type', 'prefix', 'signedPrefix']);
      return {
        type,
        prefix: registryPrefix(o['prefix'], ctx.key('prefix')),
        signedPrefix: registryPrefix(o['signedPrefix'], ctx.key('signedPrefix')),
      };
    }
    default:
      throw ctx
        .key('type')
        .fail(
          'unknown signedIdentity type',
          'matchExact, matchRepoDigestOrExact, matchRepository, exactReference, exactRepository or remapIdentity',
          quote(type),
        );
  }
}

function signedIdentityOrDefault(o: Record<string, unknown>, ctx: Ctx): SignedIdentity {
  return 'signedIdentity' in o
    ? parseSignedIdentity(o['signedIdentity'], ctx.key('signedIdentity'))
    : { type: 'matchRepoDigestOrExact' };
}

function parseFulcio(v: unknown, ctx: Ctx): FulcioTrust {
  const o = object(v, ctx, ['caPath', 'caData', 'oidcIssuer', 'subjectEmail']);
  const hasPath = 'caPath' in o;
  const hasData = 'caData' in o;
  if (hasPath === hasData) {
    throw ctx.fail('CA source', 'exactly one of caPath, caData', hasPath ? 'caPath and caData' : 'none');
  }
  const ca = hasPath
    ? { kind: 'path' as const, path: string(o['caPath'], ctx.key('caPath')) }
    : { kind: 'data' as const, data: base64(o['caData'], ctx.key('caData')) };
  if (!('oidcIssuer' in o)) throw ctx.fail('missing field', 'oidcIssuer', 'none');
  if (!('subjectEmail' in o)) throw ctx.fail('missing field', 'subjectEmail', 'none');
  return {
    ca,
    oidcIssuer: string(o['oidcIssuer'], ctx.key('oidcIssuer')),
    subjectEmail: string(o['subjectEmail'], ctx.key('subjectEmail')),
  };
}

/** A Notary server URL: https://HOST[:PORT][/path], or http:// to a loopback address; no userinfo/query. */
function notaryServer(v: unknown, ctx: Ctx): string {
  const s = string(v, ctx);
  let u: URL | undefined;
  try {
    u = new URL(s);
  } catch {
    u = undefined;
  }
  const loopback = u !== undefined && /^(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname);
  if (
    u === undefined ||
    !(u.protocol === 'https:' || (u.protocol === 'http:' && loopback)) ||
    u.username !== '' ||
    u.password !== '' ||
    u.search !== '' ||
    u.hash !== ''
  ) {
    throw ctx.fail(
      'invalid Notary server',
      'https://HOST[:PORT] (plain http only to a loopback address, no credentials, query or fragment)',
      quote(s),
    );
  }
  return s;
}

function parseSignatureRequirement(v: unknown, ctx: Ctx, type: string): SignatureRequirement | undefined {
  if (!isJsonObject(v)) throw ctx.fail('wrong type', 'an object', typeName(v));
  switch (type) {
    case 'signedBy': {
      const o = object(v, ctx, ['type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity']);
      if (!('keyType' in o)) throw ctx.fail('missing field', 'keyType', 'none');
      const keyType = string(o['keyType'], ctx.key('keyType'), false);
      if (!(SIGNED_BY_KEY_TYPES as readonly string[]).includes(keyType)) {
        throw ctx.key('keyType').fail('unknown keyType', SIGNED_BY_KEY_TYPES.join(', '), quote(keyType));
      }
      const signedIdentity = signedIdentityOrDefault(o, ctx);
      const keys = keySource(o, ctx, { path: 'keyPath', paths: 'keyPaths', data: 'keyData' }, 0, [], true);
      if (keys === undefined) throw ctx.fail('key source', 'keyPath, keyPaths or keyData', 'none');
      return { type, keyType: keyType as SignedByKeyType, keys, signedIdentity };
    }
    case 'sigstoreSigned': {
      const o = object(v, ctx, [
        'type',
        'keyPath',
        'keyPaths',
        'keyData',
        'keyDatas',
        'fulcio',
        'rekorPublicKeyPath',
        'rekorPublicKeyPaths',
        'rekorPublicKeyData',
        'rekorPublicKeyDatas',
        'signedIdentity',
      ]);
      const signedIdentity = signedIdentityOrDefault(o, ctx);
      const hasFulcio = 'fulcio' in o;
      const keySrc = keySource(
        o,
        ctx,
        { path: 'keyPath', paths: 'keyPaths', data: 'keyData', datas: 'keyDatas' },
        hasFulcio ? 1 : 0,
        ['fulcio'],
        true,
      );
      const rekorPublicKeys = keySource(
        o,
        ctx,
        {
          path: 'rekorPublicKeyPath',
          paths: 'rekorPublicKeyPaths',
          data: 'rekorPublicKeyData',
          datas: 'rekorPublicKeyDatas',
        },
        0,
        [],
        false,
      );
      if (hasFulcio && rekorPublicKeys === undefined) {
        throw ctx.fail(
          'missing Rekor key',
          'one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData, rekorPublicKeyDatas with fulcio',
          'none',
        );
      }
      const keys = hasFulcio
        ? { kind: 'fulcio' as const, fulcio: parseFulcio(o['fulcio'], ctx.key('fulcio')) }
        : (keySrc as KeySource);
      return { type, keys, rekorPublicKeys, signedIdentity };
    }
    case 'customsNotarySigned': {
      const o = object(v, ctx, ['type', 'rootPath', 'rootData', 'server', 'caPath', 'signedIdentity']);
      const signedIdentity = signedIdentityOrDefault(o, ctx);
      const hasPath = 'rootPath' in o;
      if (hasPath === 'rootData' in o) {
        throw ctx.fail('root source', 'exactly one of rootPath, rootData', hasPath ? 'both' : 'none');
      }
      const root = hasPath
        ? { kind: 'path' as const, path: string(o['rootPath'], ctx.key('rootPath')) }
        : { kind: 'data' as const, data: base64(o['rootData'], ctx.key('rootData')) };
      const server = 'server' in o ? notaryServer(o['server'], ctx.key('server')) : undefined;
      if ('caPath' in o && server === undefined) {
        throw ctx.key('caPath').fail('caPath without server', 'a "server" field with caPath', 'caPath alone');
      }
      const caPath = 'caPath' in o ? string(o['caPath'], ctx.key('caPath')) : undefined;
      return {
        type,
        root,
        ...(server === undefined ? {} : { server }),
        ...(caPath === undefined ? {} : { caPath }),
        signedIdentity,
      };
    }
    default:
      return undefined;
  }
}

const REQUIREMENT_TYPES =
  'insecureAcceptAnything, reject, signedBy, sigstoreSigned, signedBaseLayer, customsThreshold or customsNotarySigned';

function parseRequirement(v: unknown, ctx: Ctx): PolicyRequirement {
  if (!isJsonObject(v)) throw ctx.fail('wrong type', 'a requirement object', typeName(v));
  const type = requireType(v, ctx);
  switch (type) {
    case 'insecureAcceptAnything':
    case 'reject':
      object(v, ctx, ['type']);
      return { type };
    case 'signedBaseLayer': {
      const o = object(v, ctx, ['type', 'baseLayerIdentity']);
      if (!('baseLayerIdentity' in o)) throw ctx.fail('missing field', 'baseLayerIdentity', 'none');
      return { type, baseLayerIdentity: parseSignedIdentity(o['baseLayerIdentity'], ctx.key('baseLayerIdentity')) };
    }
    case 'customsThreshold': {
      const o = object(v, ctx, ['type', 'threshold', 'requirements']);
      const list = o['requirements'];
      const lctx = ctx.key('requirements');
      if (!Array.isArray(list)) throw lctx.fail('wrong type', 'an array of requirements', typeName(list));
      if (list.length === 0 || list.length > MAX_REQUIREMENTS_PER_SCOPE) {
        throw lctx.fail('requirement count', `1 to ${MAX_REQUIREMENTS_PER_SCOPE}`, `${list.length}`);
      }
      const requirements = list.map((item, i) => {
        const ictx = lctx.index(i);
        if (!isJsonObject(item)) throw ictx.fail('wrong type', 'a requirement object', typeName(item));
        const t = requireType(item, ictx);
        const r = parseSignatureRequirement(item, ictx, t);
        if (r === undefined) {
          throw ictx
            .key('type')
            .fail(
              'requirement type',
              'signedBy, sigstoreSigned or customsNotarySigned inside customsThreshold',
              quote(t),
            );
        }
        return r;
      });
      const threshold = o['threshold'];
      if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1 || threshold > list.length) {
        throw ctx
          .key('threshold')
          .fail(
            'invalid threshold',
            `an integer from 1 to ${list.length}`,
            typeof threshold === 'number' ? String(threshold) : typeName(threshold),
          );
      }
      return { type, threshold, requirements };
    }
    default: {
      const r = parseSignatureRequirement(v, ctx, type);
      if (r === undefined) throw ctx.key('type').fail('unknown requirement type', REQUIREMENT_TYPES, quote(type));
      return r;
    }
  }
}

function parseRequirementList(v: unknown, ctx: Ctx): PolicyRequirement[] {
  if (!Array.isArray(v)) throw ctx.fail('wrong type', 'an array of requirements', typeName(v));
  if (v.length === 0) {
    throw ctx.fail('empty requirement list', 'at least one requirement', 'an empty array');
  }
  if (v.length > MAX_REQUIREMENTS_PER_SCOPE) {
    throw ctx.fail('too many requirements', `at most ${MAX_REQUIREMENTS_PER_SCOPE}`, `${v.length}`);
  }
  return v.map((item, i) => parseRequirement(item, ctx.index(i)));
}

/**
 * Parse policy.json text. Verifies the whole containers-policy.json(5) structure (all transports, not only
 * docker) and the customs rules in the file comment; does not read key files or check that they exist.
 * Throws CustomsError POLICY_INVALID naming the file and JSON path; never any other error.
 */
export function parsePolicy(text: string, sourcePath: string): Policy {
  const root = new Ctx(sourcePath, '$');
  let json: unknown;
  try {
    json = parseStrictJson(text, `policy ${quote(sourcePath)}`);
  } catch (err) {
    if (!isCustomsError(err)) throw err;
    throw new CustomsError('POLICY_INVALID', err.message, {
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      details: { sourcePath, ...err.details },
      cause: err,
    });
  }
  const o = object(json, root, ['default', 'transports']);
  if (!('default' in o)) {
    throw root.fail(
      'missing field',
      '"default"',
      'none',
      'Add "default": [{"type": "reject"}] to refuse unlisted images.',
    );
  }
  const def = parseRequirementList(o['default'], root.key('default'));
  const transports = new Map<string, ReadonlyMap<string, readonly PolicyRequirement[]>>();
  if ('transports' in o) {
    const tctx = root.key('transports');
    const t = o['transports'];
    if (!isJsonObject(t)) throw tctx.fail('wrong type', 'an object', typeName(t));
    for (const [transport, scopesJson] of Object.entries(t)) {
      const sctx = tctx.key(transport);
      if (!isJsonObject(scopesJson)) throw sctx.fail('wrong type', 'an object of scopes', typeName(scopesJson));
      const scopes = new Map<string, readonly PolicyRequirement[]>();
      for (const [scope, reqs] of Object.entries(scopesJson)) {
        const rctx = sctx.key(scope);
        if (transport === 'docker' && scope !== '') {
          const problem = validateDockerScope(scope);
          if (problem !== undefined)
            throw rctx.fail('invalid docker scope', problem.expected, quote(scope), problem.hint);
        }
        scopes.set(scope, parseRequirementList(reqs, rctx));
      }
      transports.set(transport, scopes);
    }
  }
  return { sourcePath, default: def, transports };
}
