/**
 * Heavy verification libraries are loaded on first use, not at start-up: openpgp and sigstore-js together cost
 * ~0.3 s of module compilation, which every `customs` command (images, inspect, a pull under an accept-anything
 * policy or a key-based cosign policy) would otherwise pay without ever needing them.
 *
 * openpgp is ESM and its callers are async, so it comes through `import()`. sigstore-js (`@sigstore/bundle`,
 * `@sigstore/protobuf-specs`, `@sigstore/verify`) and `tweetnacl` are CommonJS and their callers are the
 * synchronous verification cores (bundle.ts, encrypted-key.ts): they come through a synchronous `require` on
 * first call, so verification stays a pure synchronous function and no caller changes.
 */
import { createRequire } from 'node:module';
import type * as OpenPgpModule from 'openpgp';
import type * as SigstoreBundleModule from '@sigstore/bundle';
import type * as SigstoreProtobufModule from '@sigstore/protobuf-specs';
import type * as SigstoreVerifyModule from '@sigstore/verify';
import type TweetNaclModule from 'tweetnacl';

const require = createRequire(import.meta.url);

let openpgpPromise: Promise<typeof OpenPgpModule> | undefined;

/** The `openpgp` module, imported once on first use. */
export function openpgpModule(): Promise<typeof OpenPgpModule> {
  openpgpPromise ??= import('openpgp');
  return openpgpPromise;
}

/** The sigstore-js modules bundle verification needs. */
export interface SigstoreModules {
  readonly bundle: typeof SigstoreBundleModule;
  readonly protobuf: typeof SigstoreProtobufModule;
  readonly verify: typeof SigstoreVerifyModule;
}

let sigstore: SigstoreModules | undefined;

/** sigstore-js, required once (synchronously) on first use. */
export function sigstoreModules(): SigstoreModules {
  sigstore ??= {
    bundle: require('@sigstore/bundle') as typeof SigstoreBundleModule,
    protobuf: require('@sigstore/protobuf-specs') as typeof SigstoreProtobufModule,
    verify: require('@sigstore/verify') as typeof SigstoreVerifyModule,
  };
  return sigstore;
}

let nacl: typeof TweetNaclModule | undefined;

/** tweetnacl (cosign's encrypted key format: NaCl secretbox), required once on first use. */
export function naclModule(): typeof TweetNaclModule {
  nacl ??= require('tweetnacl') as typeof TweetNaclModule;
  return nacl;
}
