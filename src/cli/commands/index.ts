/** The command table. Each command lives in its own file; adding one means adding it here and to help.ts. */
import type { Command } from '../command.js';
import { loginCommand, logoutCommand } from './login.js';
import { pullCommand } from './pull.js';
import { fsckCommand, gcCommand, imagesCommand, inspectCommand, rmCommand } from './store.js';

export const COMMANDS: Readonly<Record<string, Command>> = {
  pull: pullCommand,
  images: imagesCommand,
  inspect: inspectCommand,
  rm: rmCommand,
  gc: gcCommand,
  fsck: fsckCommand,
  login: loginCommand,
  logout: logoutCommand,
};
