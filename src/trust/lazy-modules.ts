/**
 * Heavy verification libraries are loaded on first use, not at start-up: openpgp and sigstore-js together cost
 * ~0.3 s of module compilation, which every `customs` command (images, inspect, a pull under an accept-anything
 * policy) would otherwise pay without ever verifying a signature.
 */
import type * as OpenPgpModule from 'openpgp';

let openpgpPromise: Promise<typeof OpenPgpModule> | undefined;

/** The `openpgp` module, imported once on first use. */
export function openpgpModule(): Promise<typeof OpenPgpModule> {
  openpgpPromise ??= import('openpgp');
  return openpgpPromise;
}
