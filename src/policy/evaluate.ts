/**
 * Policy evaluation: a pure, synchronous function from (requirements, image reference, verified signature
 * facts) to a Decision. No I/O, no clock, no key material: the trust layer verifies signatures
 * cryptographically and reports facts; this module decides whether those facts satisfy the policy
 * (containers/image policy_eval.go, whose rule is the one kept here: every requirement must accept, and any
 * doubt is a denial).
 *
 * Fail closed, in code:
 * - an empty requirement list denies;
 * - a signature counts only if it names this image's manifest digest and its reference satisfies the
 *   requirement's signedIdentity — a valid signature over another digest or for another name is invalid;
 * - facts that point at a requirement that does not exist, or at the wrong kind of requirement, count for
 *   nothing;
 * - a threshold counts distinct keys, so one key signing twice (or listed twice) counts once.
 */
import { CustomsError } from '../errors.js';
import { formatReference, type Reference } from '../ref/index.js';
import { dockerNameOf, type DockerName } from './docker-name.js';
import { describeIdentity, identityMatches } from './identity.js';
import type {
  Decision,
  DecisionCode,
  PolicyRequirement,
  RequirementSet,
  SignatureFacts,
  SignatureFailure,
  SignatureRequirement,
  VerifiedSignature,
} from './types.js';

/** Outcome of one requirement. */
interface Verdict {
  readonly ok: boolean;
  readonly code?: DecisionCode;
  readonly why: string;
}

/** Which verified signatures and failures belong to requirement `index` (and `subIndex` for thresholds). */
function factsFor<T extends { requirementIndex: number; subIndex?: number }>(
  list: readonly T[],
  index: number,
  subIndex: number | undefined,
): T[] {
  return list.filter((f) => f.requirementIndex === index && f.subIndex === subIndex);
}

/** Why a verified signature does not count for `req`, or undefined when it does. */
function signatureProblem(
  sig: VerifiedSignature,
  req: SignatureRequirement,
  image: DockerName,
  manifestDigest: string,
): string | undefined {
  const expectedFormats: Readonly<Record<SignatureRequirement['type'], readonly string[]>> = {
    signedBy: ['gpg'],
    sigstoreSigned: ['cosign', 'sigstore-bundle'],
    customsNotarySigned: ['notary'],
  };
  if (!expectedFormats[req.type].includes(sig.format)) {
    return `a ${sig.format} signature cannot satisfy ${req.type}`;
  }
  if (sig.manifestDigest !== manifestDigest) {
    return `signature is for manifest ${sig.manifestDigest}, expected ${manifestDigest}`;
  }
  if (!identityMatches(req.signedIdentity, image, sig.dockerReference)) {
    return `signature names ${JSON.stringify(sig.dockerReference)}, which does not satisfy signedIdentity ${describeIdentity(req.signedIdentity)} for ${JSON.stringify(image.name)}`;
  }
  return undefined;
}

/** Why `req` cannot be evaluated at all (unimplemented forms), or undefined. */
function unsupported(req: SignatureRequirement): string | undefined {
  if (req.type === 'signedBy' && req.keyType !== 'GPGKeys') {
    return `signedBy keyType ${req.keyType} is not implemented (containers/image rejects it too)`;
  }
  return undefined;
}

/** Evaluate one signature requirement; returns the key ids that satisfied it. */
function evaluateSignature(
  req: SignatureRequirement,
  verified: readonly VerifiedSignature[],
  failures: readonly SignatureFailure[],
  image: DockerName,
  manifestDigest: string,
): { keyIds: Set<string>; verdict: Verdict } {
  const keyIds = new Set<string>();
  const notSupported = unsupported(req);
  if (notSupported !== undefined) {
    return { keyIds, verdict: { ok: false, code: 'POLICY_REJECTED', why: notSupported } };
  }
  const problems: string[] = [];
  for (const sig of verified) {
    const problem = signatureProblem(sig, req, image, manifestDigest);
    if (problem === undefined) keyIds.add(sig.keyId);
    else problems.push(problem);
  }
  for (const f of failures) problems.push(f.reason);
  if (keyIds.size > 0) {
    return { keyIds, verdict: { ok: true, why: `accepted: signed by ${[...keyIds].join(', ')}` } };
  }
  if (problems.length === 0) {
    return { keyIds, verdict: { ok: false, code: 'SIGNATURE_MISSING', why: 'no signature found' } };
  }
  return {
    keyIds,
    verdict: { ok: false, code: 'SIGNATURE_INVALID', why: `no valid signature: ${problems.join('; ')}` },
  };
}

function describeRequirementShort(req: PolicyRequirement): string {
  switch (req.type) {
    case 'customsThreshold':
      return `customsThreshold ${req.threshold} of ${req.requirements.length}`;
    case 'signedBy':
    case 'sigstoreSigned':
    case 'customsNotarySigned':
      return `${req.type} (signedIdentity ${describeIdentity(req.signedIdentity)})`;
    default:
      return req.type;
  }
}

function evaluateOne(req: PolicyRequirement, index: number, facts: SignatureFacts, image: DockerName): Verdict {
  switch (req.type) {
    case 'insecureAcceptAnything':
      return { ok: true, why: 'accepted without checking signatures' };
    case 'reject':
      return { ok: false, code: 'POLICY_REJECTED', why: 'the policy rejects every image in this scope' };
    case 'signedBaseLayer':
      return {
        ok: false,
        code: 'POLICY_REJECTED',
        why: 'signedBaseLayer is not implemented (containers/image rejects it too)',
      };
    case 'customsThreshold': {
      const keys = new Set<string>();
      const notes: string[] = [];
      let sawAnything = false;
      let rejected = false;
      req.requirements.forEach((sub, subIndex) => {
        const v = factsFor(facts.verified, index, subIndex);
        const f = factsFor(facts.failures, index, subIndex);
        if (v.length > 0 || f.length > 0) sawAnything = true;
        const r = evaluateSignature(sub, v, f, image, facts.manifestDigest);
        if (r.verdict.code === 'POLICY_REJECTED') rejected = true;
        for (const k of r.keyIds) keys.add(k);
        notes.push(`[${subIndex}] ${r.verdict.why}`);
      });
      // Facts aimed at the threshold itself rather than one of its members count for nothing.
      const stray =
        factsFor(facts.verified, index, undefined).length + factsFor(facts.failures, index, undefined).length;
      if (stray > 0) {
        sawAnything = true;
        notes.push(`${stray} signature fact(s) without a member index ignored`);
      }
      const summary = `${keys.size} distinct key(s) of ${req.threshold} required; ${notes.join('; ')}`;
      if (keys.size >= req.threshold) return { ok: true, why: `accepted: ${summary}` };
      if (rejected && !sawAnything) return { ok: false, code: 'POLICY_REJECTED', why: summary };
      return { ok: false, code: sawAnything ? 'SIGNATURE_INVALID' : 'SIGNATURE_MISSING', why: summary };
    }
    case 'signedBy':
    case 'sigstoreSigned':
    case 'customsNotarySigned': {
      const v = factsFor(facts.verified, index, undefined);
      const f = factsFor(facts.failures, index, undefined);
      const strayMembers = facts.verified.filter((s) => s.requirementIndex === index && s.subIndex !== undefined);
      const r = evaluateSignature(req, v, f, image, facts.manifestDigest);
      if (!r.verdict.ok && strayMembers.length > 0 && r.verdict.code === 'SIGNATURE_MISSING') {
        return {
          ok: false,
          code: 'SIGNATURE_INVALID',
          why: 'signature facts carry a member index this requirement does not have',
        };
      }
      return r.verdict;
    }
  }
}

/** Denial precedence: a policy rejection outranks an invalid signature, which outranks a missing one. */
const CODE_RANK: Readonly<Record<DecisionCode, number>> = {
  POLICY_REJECTED: 3,
  SIGNATURE_INVALID: 2,
  SIGNATURE_MISSING: 1,
};

/**
 * Decide whether the image `ref` (whose manifest digest is `facts.manifestDigest`) is allowed by `set`.
 * Pure and synchronous. Allowed only when every requirement is satisfied; an empty list denies. The Decision
 * names the scope and gives one reason per requirement. When denied, `code` is POLICY_REJECTED if any
 * requirement rejects outright (reject, signedBaseLayer, unimplemented keyType), else SIGNATURE_INVALID if
 * signatures were found but none counted, else SIGNATURE_MISSING.
 *
 * Does not verify signatures (facts must come from the trust layer), read keys or touch the store.
 */
export function evaluate(set: RequirementSet, ref: Reference, facts: SignatureFacts): Decision {
  const scopeName = set.isDefault
    ? 'default policy'
    : set.scope === ''
      ? 'docker transport default ""'
      : `scope ${JSON.stringify(set.scope)}`;
  const image = dockerNameOf(ref);
  const subject = `${formatReference(ref)} (${scopeName})`;
  if (set.requirements.length === 0) {
    return {
      allowed: false,
      code: 'POLICY_REJECTED',
      scope: set.scope,
      reasons: [`${subject}: denied: no requirements`],
    };
  }
  if (ref.digest !== undefined && ref.digest !== facts.manifestDigest) {
    return {
      allowed: false,
      code: 'SIGNATURE_INVALID',
      scope: set.scope,
      reasons: [`${subject}: denied: reference pins ${ref.digest} but the manifest digest is ${facts.manifestDigest}`],
    };
  }
  const reasons: string[] = [];
  let code: DecisionCode | undefined;
  set.requirements.forEach((req, index) => {
    const v = evaluateOne(req, index, facts, image);
    reasons.push(
      `${subject}: requirement ${index} ${describeRequirementShort(req)}: ${v.ok ? '' : 'denied: '}${v.why}`,
    );
    if (!v.ok) {
      const c = v.code ?? 'POLICY_REJECTED';
      if (code === undefined || CODE_RANK[c] > CODE_RANK[code]) code = c;
    }
  });
  const stray = [...facts.verified, ...facts.failures].filter(
    (f) =>
      !Number.isInteger(f.requirementIndex) || f.requirementIndex < 0 || f.requirementIndex >= set.requirements.length,
  );
  if (stray.length > 0) reasons.push(`${subject}: ${stray.length} signature fact(s) for no requirement ignored`);
  return code === undefined
    ? { allowed: true, scope: set.scope, reasons }
    : { allowed: false, code, scope: set.scope, reasons };
}

/**
 * The CustomsError for a denied Decision: POLICY_REJECTED (exit 7), SIGNATURE_INVALID or SIGNATURE_MISSING
 * (exit 6), with every reason in the message and details. Throws INTERNAL if called with an allowed Decision:
 * turning an allowance into an error is a caller bug, and reporting it as a denial would hide it.
 */
export function decisionError(decision: Decision): CustomsError {
  if (decision.allowed || decision.code === undefined) {
    return new CustomsError('INTERNAL', 'policy decision: expected a denial, got an allowed decision');
  }
  const hint =
    decision.code === 'POLICY_REJECTED'
      ? 'The policy forbids this image; see `customs policy show` for the requirement in force.'
      : decision.code === 'SIGNATURE_MISSING'
        ? 'No signature was found; check the registries.d lookaside configuration or sign the image.'
        : 'Signatures were found but none satisfies the policy; check the key, the digest and the signed reference.';
  const denials = decision.reasons.filter((r) => r.includes(': denied'));
  return new CustomsError(
    decision.code,
    `policy: image refused: ${(denials.length > 0 ? denials : decision.reasons).join(' | ')}`,
    { hint, details: { scope: decision.scope, reasons: decision.reasons } },
  );
}

/** One signature requirement the trust layer should try to satisfy, with the indexes its facts must carry. */
export interface SignatureCheck {
  readonly requirementIndex: number;
  /** Present for members of a `customsThreshold`. */
  readonly subIndex?: number;
  readonly requirement: SignatureRequirement;
}

/**
 * The signature requirements in `set` that verified facts can satisfy, in order, with the
 * `requirementIndex`/`subIndex` each VerifiedSignature or SignatureFailure must carry. Requirements that
 * deny without looking at signatures (reject, signedBaseLayer, non-GPGKeys keyType) are left out.
 */
export function signatureChecks(set: RequirementSet): SignatureCheck[] {
  const out: SignatureCheck[] = [];
  set.requirements.forEach((req, requirementIndex) => {
    if (req.type === 'customsThreshold') {
      req.requirements.forEach((requirement, subIndex) => {
        if (unsupported(requirement) === undefined) out.push({ requirementIndex, subIndex, requirement });
      });
    } else if (req.type === 'signedBy' || req.type === 'sigstoreSigned' || req.type === 'customsNotarySigned') {
      if (unsupported(req) === undefined) out.push({ requirementIndex, requirement: req });
    }
  });
  return out;
}
