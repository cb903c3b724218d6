/**
 * In-memory form of a containers-policy.json(5) file. Built only by `parsePolicy`, which refuses anything it
 * cannot represent exactly; every value here has been validated. Keys are represented by path or by bytes:
 * reading key files is the caller's job (the trust layer), so evaluation stays pure and does no I/O.
 */
import type { Digest } from '../ref/index.js';

/** containers-policy.json `signedIdentity`: how a signature's claimed reference must relate to the image. */
export type SignedIdentity =
  | { readonly type: 'matchExact' }
  | { readonly type: 'matchRepoDigestOrExact' }
  | { readonly type: 'matchRepository' }
  | { readonly type: 'exactReference'; readonly dockerReference: string }
  | { readonly type: 'exactRepository'; readonly dockerRepository: string }
  | { readonly type: 'remapIdentity'; readonly prefix: string; readonly signedPrefix: string };

/** Where a requirement's public keys come from: exactly one form, as the policy file wrote it. */
export type KeySource =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'paths'; readonly paths: readonly string[] }
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | { readonly kind: 'datas'; readonly datas: readonly Uint8Array[] };

/** `keyType` values containers/image accepts. Only `GPGKeys` can ever be satisfied (as in containers/image). */
export type SignedByKeyType = 'GPGKeys' | 'signedByGPGKeys' | 'X509Certificates' | 'signedByX509CAs';

/** `signedBy`: a GPG simple-signing signature by one of the keys. */
export interface SignedByRequirement {
  readonly type: 'signedBy';
  readonly keyType: SignedByKeyType;
  readonly keys: KeySource;
  readonly signedIdentity: SignedIdentity;
}

/** `sigstoreSigned.fulcio`: keyless certificates issued by this CA to this OIDC identity. */
export interface FulcioTrust {
  readonly ca: { readonly kind: 'path'; readonly path: string } | { readonly kind: 'data'; readonly data: Uint8Array };
  readonly oidcIssuer: string;
  readonly subjectEmail: string;
}

/** `sigstoreSigned`: a cosign/sigstore signature by one of the keys, or a Fulcio certificate. */
export interface SigstoreSignedRequirement {
  readonly type: 'sigstoreSigned';
  readonly keys: KeySource | { readonly kind: 'fulcio'; readonly fulcio: FulcioTrust };
  /** Rekor public keys; required with `fulcio`, optional with keys (then the Rekor SET is required). */
  readonly rekorPublicKeys: KeySource | undefined;
  readonly signedIdentity: SignedIdentity;
}

/**
 * customs extension `customsNotarySigned`: a Notary v1 / Docker Content Trust tag→digest binding verified
 * against a pinned root. skopeo refuses policy files that use it.
 */
export interface NotarySignedRequirement {
  readonly type: 'customsNotarySigned';
  readonly root:
    { readonly kind: 'path'; readonly path: string } | { readonly kind: 'data'; readonly data: Uint8Array };
  /**
   * Notary server to fetch the repository's metadata from (`https://HOST[:PORT]`; plain http only to a
   * loopback address). The operator names it here because a server the registry (or image name) pointed at
   * would let whoever controls the registry choose who answers. Without it the requirement cannot be met.
   */
  readonly server?: string;
  /** PEM CA certificate(s) to trust for `server`'s TLS certificate instead of the system store. */
  readonly caPath?: string;
  readonly signedIdentity: SignedIdentity;
}

/** A requirement satisfied by verified signatures. */
export type SignatureRequirement = SignedByRequirement | SigstoreSignedRequirement | NotarySignedRequirement;

/**
 * customs extension `customsThreshold`: at least `threshold` of `requirements` must be met, each by a distinct
 * key (duplicate signatures by one key count once). skopeo refuses policy files that use it.
 */
export interface ThresholdRequirement {
  readonly type: 'customsThreshold';
  readonly threshold: number;
  readonly requirements: readonly SignatureRequirement[];
}

/** One entry of a requirement list. All entries of a list must be satisfied (AND). */
export type PolicyRequirement =
  | { readonly type: 'insecureAcceptAnything' }
  | { readonly type: 'reject' }
  | { readonly type: 'signedBaseLayer'; readonly baseLayerIdentity: SignedIdentity }
  | SignatureRequirement
  | ThresholdRequirement;

/** A parsed, validated policy. */
export interface Policy {
  /** The file it came from, for messages. */
  readonly sourcePath: string;
  /** Requirements for images no transport scope matches. Never empty. */
  readonly default: readonly PolicyRequirement[];
  /** transport name → scope → requirements. Only `docker` is ever evaluated by customs. */
  readonly transports: ReadonlyMap<string, ReadonlyMap<string, readonly PolicyRequirement[]>>;
}

/** The requirements that apply to one image, and the scope they came from (`""` = transport default). */
export interface RequirementSet {
  /** The matching `transports.docker` key, `""` for the docker transport default, or `default`. */
  readonly scope: string;
  /** True when no `transports.docker` key matched and the top-level `default` applies. */
  readonly isDefault: boolean;
  readonly requirements: readonly PolicyRequirement[];
}

/** Signature formats the trust layer verifies. */
export type SignatureFormat = 'gpg' | 'cosign' | 'sigstore-bundle' | 'notary';

/**
 * A signature the trust layer verified cryptographically against the keys of one requirement. The policy
 * evaluator still checks that it is over this image's manifest digest and that its identity matches.
 */
export interface VerifiedSignature {
  /** Index into `RequirementSet.requirements`. */
  readonly requirementIndex: number;
  /** For `customsThreshold`: index into its `requirements`. Must be absent for other requirements. */
  readonly subIndex?: number;
  readonly format: SignatureFormat;
  /** Fingerprint or key digest of the key that verified; one key counts once toward a threshold. */
  readonly keyId: string;
  /** The manifest digest the signature payload names. */
  readonly manifestDigest: Digest;
  /** The reference the signature payload names (`docker-reference`, or `gun:tag` for Notary). */
  readonly dockerReference: string;
}

/** A signature that was found but did not verify (bad signature, wrong key, bad certificate, bad TUF data). */
export interface SignatureFailure {
  readonly requirementIndex: number;
  readonly subIndex?: number;
  readonly reason: string;
}

/** What the trust layer learned about one image, the input of `evaluate`. */
export interface SignatureFacts {
  /** Digest of the image's manifest as held in the store (computed locally). */
  readonly manifestDigest: Digest;
  readonly verified: readonly VerifiedSignature[];
  readonly failures: readonly SignatureFailure[];
}

/** Decision codes; each maps to an ErrorCode (exit 7 for POLICY_REJECTED, 6 for the signature codes). */
export type DecisionCode = 'POLICY_REJECTED' | 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID';

/** The outcome of `evaluate`. `code` is present exactly when `allowed` is false. */
export interface Decision {
  readonly allowed: boolean;
  readonly code?: DecisionCode;
  /** The scope whose requirements were evaluated. */
  readonly scope: string;
  /** One line per requirement, naming the scope, the requirement and why it passed or failed. */
  readonly reasons: readonly string[];
}
