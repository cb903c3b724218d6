/** The command table. Each command lives in its own file; adding one means adding it here and to help.ts. */
import type { Command } from '../command.js';
import { exportCommand, loadCommand } from './archive.js';
import { loginCommand, logoutCommand } from './login.js';
import { notaryCommand } from './notary.js';
import { policyCommand } from './policy.js';
import { pullCommand } from './pull.js';
import { generateKeyCommand, signCommand } from './sign.js';
import { fsckCommand, gcCommand, imagesCommand, inspectCommand, rmCommand } from './store.js';
import { trustCommand } from './trust.js';
import { unpackCommand } from './unpack.js';
import { verifyBlobCommand, verifyCommand } from './verify.js';

export const COMMANDS: Readonly<Record<string, Command>> = {
  pull: pullCommand,
  images: imagesCommand,
  inspect: inspectCommand,
  rm: rmCommand,
  gc: gcCommand,
  fsck: fsckCommand,
  login: loginCommand,
  logout: logoutCommand,
  verify: verifyCommand,
  'verify-blob': verifyBlobCommand,
  sign: signCommand,
  'generate-key': generateKeyCommand,
  trust: trustCommand,
  policy: policyCommand,
  unpack: unpackCommand,
  export: exportCommand,
  load: loadCommand,
  notary: notaryCommand,
};
