/** `customs login` / `customs logout` */
import { login, logout } from '../../ops/login.js';
import { stringFlag, usage, type Command } from '../command.js';

export const loginCommand: Command = {
  options: {
    username: { type: 'string', short: 'u' },
    'password-stdin': { type: 'boolean' },
    password: { type: 'string', short: 'p' },
  },
  positionals: [1, 1],
  help: `Usage: customs login REGISTRY --username USER --password-stdin

Check the credentials against REGISTRY and save them to $CUSTOMS_CONFIG/auth.json (mode 0600).
Credentials are only ever sent to the registry's own origin or its HTTPS token realm, never over plain
HTTP to a non-loopback host, and never printed.
`,
  async run(ctx, [registry], values, io, out) {
    const username = stringFlag(values, 'username');
    if (username === undefined || username === '') throw usage('login: expected --username USER');
    let password: string;
    const passwordFlag = stringFlag(values, 'password');
    if (values['password-stdin'] === true) {
      password = (await io.readStdin()).replace(/\r?\n$/, '');
    } else if (passwordFlag !== undefined) {
      password = passwordFlag;
    } else {
      throw usage('login: expected --password-stdin (or --password, which leaves the secret in shell history)');
    }
    if (password === '') throw usage('login: expected a non-empty password');
    const host = await login(ctx, registry ?? '', username, password, io.signal);
    out.result({ registry: host, username }, `logged in to ${host} as ${username}\n`);
  },
};

export const logoutCommand: Command = {
  options: {},
  positionals: [1, 1],
  help: `Usage: customs logout REGISTRY

Remove the credentials customs saved for REGISTRY.
`,
  async run(ctx, [registry], _values, _io, out) {
    const removed = await logout(ctx, registry ?? '');
    const r = registry ?? '';
    out.result(
      { registry: r, removed },
      removed ? `removed credentials for ${r}\n` : `no saved credentials for ${r}\n`,
    );
  },
};
