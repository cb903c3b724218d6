/** `customs verify` and `customs verify-blob` */
import { verifyBlobFile, verifyChecksums, verifyImage } from '../../ops/verify.js';
import { stringFlag, usage, type Command } from '../command.js';

export const verifyCommand: Command = {
  options: {
    'signatures-from': { type: 'string' },
    checksums: { type: 'string' },
    signature: { type: 'string' },
    key: { type: 'string' },
  },
  positionals: [1, 1],
  help: `Usage: customs verify REF [--signatures-from DIR|URL] [--policy FILE] [--registries.d DIR]
       customs verify --checksums SHA256SUMS [--signature SIG] --key KEY FILE.tar

The first form re-evaluates the policy for an image already in the store, over the manifest digest the store
holds: signatures are fetched again from the registry (cosign .sig tag, OCI 1.1 referrers, registries.d
lookaside, the signature extension), or read only from --signatures-from (a lookaside directory or URL).

The second form checks a GPG-signed checksum file (clearsigned, or --signature for a detached signature) by a
key in KEY, and that it lists FILE's name once with FILE's sha256 — before customs load.

Exit 0 only when verified; 6 when a signature requirement is not met, 7 when the policy forbids the image.
`,
  async run(ctx, [target], values, io, out) {
    const checksums = stringFlag(values, 'checksums');
    if (checksums !== undefined) {
      const key = stringFlag(values, 'key');
      if (key === undefined) throw usage('verify --checksums: expected --key KEY (a GPG public key file)');
      const r = await verifyChecksums({
        file: target ?? '',
        sums: checksums,
        signature: stringFlag(values, 'signature'),
        key,
        signal: io.signal,
      });
      out.result(r, `verified ${r.file}: sha256 ${r.sha256}, checksum file signed by ${r.keyFingerprint}\n`, true);
      return;
    }
    if (values.signature !== undefined || values.key !== undefined) {
      throw usage('verify: --signature and --key go with --checksums');
    }
    const r = await verifyImage(ctx, target ?? '', {
      signaturesFrom: stringFlag(values, 'signatures-from'),
      signal: io.signal,
    });
    out.result(r, `verified ${r.name} ${r.digest}\n${r.reasons.map((x) => `  ${x}\n`).join('')}`, true);
  },
};

export const verifyBlobCommand: Command = {
  options: {
    bundle: { type: 'string' },
    'trusted-root': { type: 'string' },
    key: { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
  },
  positionals: [1, 1],
  help: `Usage: customs verify-blob FILE --bundle BUNDLE --trusted-root trusted_root.json
         (--key cosign.pub | --certificate-identity ID --certificate-oidc-issuer ISSUER)

Verify a sigstore bundle over FILE offline, as cosign verify-blob does: the signature, the transparency-log
entry (against the log keys in the trusted root) and, for keyless bundles, the Fulcio certificate chain, its
validity at signing time and its exact identity and issuer. Exit 0 only when verified, 6 otherwise.
`,
  async run(_ctx, [file], values, io, out) {
    const bundle = stringFlag(values, 'bundle');
    const trustedRoot = stringFlag(values, 'trusted-root');
    if (bundle === undefined || trustedRoot === undefined) {
      throw usage('verify-blob: expected --bundle and --trusted-root');
    }
    const r = await verifyBlobFile({
      file: file ?? '',
      bundle,
      trustedRoot,
      key: stringFlag(values, 'key'),
      certificateIdentity: stringFlag(values, 'certificate-identity'),
      certificateIssuer: stringFlag(values, 'certificate-oidc-issuer'),
      signal: io.signal,
    });
    out.result(
      r,
      `verified ${r.file} (${r.artifactDigest}) signed by ${r.identity?.subjectAlternativeName ?? r.keyId}\n`,
      true,
    );
  },
};
