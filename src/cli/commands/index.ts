/**
 * The command table. Each command lives in its own file; adding one means adding it here and to help.ts.
 *
 * Commands load on demand: a process runs one command, and parsing and linking the code of every other one (trust,
 * unpack, export, notary…) and the Node built-ins they use was most of a small pull's start-up (bench/README.md).
 */
import type { Command } from '../command.js';

type Loader = () => Promise<Command>;

export const COMMANDS: Readonly<Record<string, Loader>> = {
  pull: async () => (await import('./pull.js')).pullCommand,
  images: async () => (await import('./store.js')).imagesCommand,
  inspect: async () => (await import('./store.js')).inspectCommand,
  rm: async () => (await import('./store.js')).rmCommand,
  gc: async () => (await import('./store.js')).gcCommand,
  fsck: async () => (await import('./store.js')).fsckCommand,
  login: async () => (await import('./login.js')).loginCommand,
  logout: async () => (await import('./login.js')).logoutCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  'verify-blob': async () => (await import('./verify.js')).verifyBlobCommand,
  sign: async () => (await import('./sign.js')).signCommand,
  'generate-key': async () => (await import('./sign.js')).generateKeyCommand,
  trust: async () => (await import('./trust.js')).trustCommand,
  policy: async () => (await import('./policy.js')).policyCommand,
  unpack: async () => (await import('./unpack.js')).unpackCommand,
  export: async () => (await import('./archive.js')).exportCommand,
  load: async () => (await import('./archive.js')).loadCommand,
  notary: async () => (await import('./notary.js')).notaryCommand,
};

/** The command named `name`, or undefined for an unknown name (never a property of Object.prototype). */
export async function loadCommand(name: string): Promise<Command | undefined> {
  const loader = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  return loader === undefined ? undefined : loader();
}
