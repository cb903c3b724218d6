/** `customs sign` and `customs generate-key` */
import { readFile } from '../../internal/fsp.js';
import { CustomsError } from '../../errors.js';
import { generateKeyFiles, signCosignImage, signGpgImage } from '../../ops/sign.js';
import { stringFlag, usage, type CliIo, type Command, type Values } from '../command.js';

async function readKeyArg(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CustomsError(
      'USAGE',
      `${flag} ${JSON.stringify(path)}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: err },
    );
  }
}

/** `--password-stdin`, else `$COSIGN_PASSWORD` (cosign's variable), else none. */
async function password(values: Values, io: CliIo): Promise<string | undefined> {
  if (values['password-stdin'] === true) return (await io.readStdin()).replace(/\r?\n$/, '');
  const env = io.env['COSIGN_PASSWORD'];
  return env === undefined || env === '' ? undefined : env;
}

export const signCommand: Command = {
  options: {
    key: { type: 'string' },
    referrers: { type: 'boolean' },
    'gpg-key': { type: 'string' },
    'gpg-key-file': { type: 'string' },
    'password-stdin': { type: 'boolean' },
  },
  positionals: [1, 1],
  help: `Usage: customs sign REF --key cosign.key [--referrers] [--password-stdin]
       customs sign REF (--gpg-key FINGERPRINT | --gpg-key-file KEY.asc) [--password-stdin] [--registries.d DIR]

Sign the manifest digest the store holds for REF (pull it first).

  --key K          cosign-compatible key-based signature, pushed to the registry at the tag cosign uses
                   (sha256-<hex>.sig; existing signatures there are kept). PKCS#8 PEM keys; the password
                   comes from $COSIGN_PASSWORD or --password-stdin.
  --referrers      also push it as an OCI 1.1 referrer (artifact manifest with subject) and update the
                   sha256-<hex> referrers tag for registries without the referrers API
  --gpg-key FPR    GPG simple signing with a key from $GNUPGHOME, written as signature-N into the
                   lookaside-staging directory registries.d names for REF (file:// only), as skopeo does
  --gpg-key-file F the same with an armored secret key file
`,
  async run(ctx, [name], values, io, out) {
    const key = stringFlag(values, 'key');
    const gpgKey = stringFlag(values, 'gpg-key');
    const gpgKeyFile = stringFlag(values, 'gpg-key-file');
    const chosen = [key, gpgKey, gpgKeyFile].filter((v) => v !== undefined).length;
    if (chosen !== 1) throw usage('sign: expected exactly one of --key, --gpg-key, --gpg-key-file');
    const pw = await password(values, io);
    if (key !== undefined) {
      const r = await signCosignImage(ctx, name ?? '', {
        keyPem: await readKeyArg(key, '--key'),
        password: pw,
        referrers: values.referrers === true,
        signal: io.signal,
      });
      out.result(
        r,
        `signed ${r.name} ${r.digest} with key ${r.keyId}\n  pushed ${r.signatureTag} (${r.signatureManifest})\n${r.referrer === undefined ? '' : `  pushed referrer ${r.referrer}\n`}`,
      );
      return;
    }
    if (values.referrers === true) throw usage('sign: --referrers goes with --key');
    const r = await signGpgImage(ctx, name ?? '', {
      fingerprint: gpgKey,
      privateKeyArmored: gpgKeyFile === undefined ? undefined : await readKeyArg(gpgKeyFile, '--gpg-key-file'),
      passphrase: pw,
      signal: io.signal,
    });
    out.result(r, `signed ${r.name} ${r.digest}\n  wrote ${r.path}\n`);
  },
};

export const generateKeyCommand: Command = {
  options: { 'output-key-prefix': { type: 'string' } },
  positionals: [0, 0],
  help: `Usage: customs generate-key [--output-key-prefix cosign]

Write a new ECDSA P-256 key pair: PREFIX.key (mode 0600) and PREFIX.pub (give it to customs trust add
--cosign-key). With $COSIGN_PASSWORD set, PREFIX.key is in cosign's encrypted format (ENCRYPTED SIGSTORE
PRIVATE KEY: scrypt + NaCl secretbox), which cosign sign --key reads; without it, plain PKCS#8 PEM.
Never overwrites.
`,
  async run(_ctx, _args, values, io, out) {
    const prefix = stringFlag(values, 'output-key-prefix') ?? 'cosign';
    const pw = io.env['COSIGN_PASSWORD'];
    const r = await generateKeyFiles(prefix, pw === '' ? undefined : pw);
    out.result(
      r,
      `wrote ${r.privateKeyPath}${r.encrypted ? ' (encrypted)' : ''} and ${r.publicKeyPath}\n  key ${r.keyId}\n`,
    );
  },
};
