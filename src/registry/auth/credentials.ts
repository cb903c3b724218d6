/**
 * Registry credentials and where they come from.
 *
 * A Credential's secret lives in a `#private` field behind a getter, so `console.log`, `util.inspect`,
 * `JSON.stringify` and structured-clone of a credential show the username and never the secret. Code that needs
 * the secret (building an Authorization header) reads the getter explicitly. Messages about a credential use
 * `describeCredential`, which returns the username only.
 */
import { inspect } from 'node:util';

/**
 * A username/password pair (HTTP Basic, distribution token spec "Requesting a Token") or a refresh token
 * (`identitytoken` in auth.json; docker-credential-helpers `Username: "<token>"`) exchanged through the OAuth2
 * refresh-token grant (distribution docs/spec/auth/oauth.md).
 *
 * Structural, so tests may write literals; sources in this module always return the class instances below,
 * whose secrets do not show up when printed.
 */
export type Credential =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'identity-token'; readonly username: string; readonly token: string };

/** Where one credential lookup can be answered from (an auth file, a credential helper). */
export interface CredentialSource {
  /** Human-readable and secret-free: a file path or `docker-credential-<name>`. */
  readonly name: string;
  /**
   * The credential for `registry` (`host` or `host:port`, as in a reference), optionally narrowed to
   * `repository` (path without the registry) where the source supports per-repository entries. Undefined when
   * the source has none; throws CustomsError (CONFIG_INVALID, CREDENTIAL_HELPER) when the source is broken.
   */
  lookup(registry: string, signal?: AbortSignal, repository?: string): Promise<Credential | undefined>;
}

/** Username and password; the password is readable through the getter but never printed. */
export class BasicCredential {
  readonly kind = 'basic' as const;
  readonly username: string;
  readonly #password: string;

  constructor(username: string, password: string) {
    this.username = username;
    this.#password = password;
  }

  get password(): string {
    return this.#password;
  }

  toJSON(): Record<string, string> {
    return { kind: this.kind, username: this.username };
  }

  [inspect.custom](): string {
    return `BasicCredential { username: ${JSON.stringify(this.username)} }`;
  }
}

/** A refresh ("identity") token, with the username it was issued to when known (else ''). */
export class IdentityTokenCredential {
  readonly kind = 'identity-token' as const;
  readonly username: string;
  readonly #token: string;

  constructor(username: string, token: string) {
    this.username = username;
    this.#token = token;
  }

  get token(): string {
    return this.#token;
  }

  toJSON(): Record<string, string> {
    return { kind: this.kind, username: this.username };
  }

  [inspect.custom](): string {
    return `IdentityTokenCredential { username: ${JSON.stringify(this.username)} }`;
  }
}

/** A secret-free description of a credential for messages and `--json`: the username only. */
export function describeCredential(c: Credential): string {
  if (c.username !== '') return c.username;
  return c.kind === 'identity-token' ? '(identity token)' : '(empty username)';
}

/** The secret of a credential, for redaction lists (`scrubSecrets`) and header building. */
export function credentialSecret(c: Credential): string {
  return c.kind === 'basic' ? c.password : c.token;
}

/** A credential found by `findCredential`, with the name of the source that supplied it. */
export interface FoundCredential {
  readonly credential: Credential;
  readonly source: string;
}

/**
 * Ask each source in order; the first that has a credential wins (containers-auth.json(5): first file that has
 * an entry). A broken source throws rather than being skipped: silently falling through to the next source
 * could authenticate as a different user than the one configured.
 */
export async function findCredential(
  sources: readonly CredentialSource[],
  registry: string,
  options: { repository?: string; signal?: AbortSignal } = {},
): Promise<FoundCredential | undefined> {
  for (const source of sources) {
    options.signal?.throwIfAborted();
    const credential = await source.lookup(registry, options.signal, options.repository);
    if (credential !== undefined) return { credential, source: source.name };
  }
  return undefined;
}
