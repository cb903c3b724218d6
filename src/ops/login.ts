/** `customs login` / `logout`: check credentials against the registry, then keep them in customs' auth.json. */
import type { Context } from './context.js';
import { parseRegistryHost } from '../ref/index.js';
import { BasicCredential, removeLogin, saveLogin } from '../registry/index.js';
import { registryClientFor } from './pull.js';

/**
 * Verify `username`/`password` against `untrustedRegistry` (GET /v2/ and the token flow it asks for), then save
 * them to `$CUSTOMS_CONFIG/auth.json` (mode 0600). Nothing is saved when the registry refuses them.
 */
export async function login(
  ctx: Context,
  untrustedRegistry: string,
  username: string,
  password: string,
  signal?: AbortSignal,
): Promise<string> {
  const registry = parseRegistryHost(untrustedRegistry, `registry ${JSON.stringify(untrustedRegistry)}`);
  const client = registryClientFor(ctx);
  try {
    await client.checkLogin(registry, new BasicCredential(username, password), signal);
  } finally {
    await client.close();
  }
  await saveLogin(ctx.configDir, registry, username, password);
  return registry;
}

/** Forget customs' saved credentials for a registry; false when there were none. */
export async function logout(ctx: Context, untrustedRegistry: string): Promise<boolean> {
  const registry = parseRegistryHost(untrustedRegistry, `registry ${JSON.stringify(untrustedRegistry)}`);
  return removeLogin(ctx.configDir, registry);
}
