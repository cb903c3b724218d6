/**
 * argv → ops → exit code and output. No logic of its own beyond parsing flags and rendering results; every
 * command is runnable in-process (tests pass their own streams and environment).
 */
import { parseArgs } from 'node:util';
import { CustomsError, exitCodeOf, isCustomsError } from '../errors.js';
import type { ProgressSink } from '../oci/index.js';
import { formatPlatform, parsePlatform } from '../oci/index.js';
import {
  checkStore,
  collectGarbage,
  createContext,
  inspectImage,
  listImages,
  login,
  logout,
  pull,
  removeImage,
  type Context,
} from '../ops/index.js';
import { COMMAND_HELP, MAIN_HELP } from './help.js';
import { formatBytes, plainProgress, ttyProgress, type TextOutput } from './progress.js';

export interface CliIo {
  readonly stdout: TextOutput;
  readonly stderr: TextOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when stderr is a terminal (progress bars). */
  readonly isTTY: boolean;
  /** Reads all of standard input (for --password-stdin). */
  readonly readStdin: () => Promise<string>;
  readonly signal?: AbortSignal;
}

export const VERSION = '0.1.0';

const GLOBAL_OPTIONS = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | undefined>;

interface Command {
  readonly options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  readonly positionals: readonly [min: number, max: number];
  run(ctx: Context, args: readonly string[], values: Values, io: CliIo, out: Output): Promise<void>;
}

/** Output helpers bound to the invocation's flags. */
interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Print a result: JSON document with --json, otherwise the given text (suppressed by --quiet unless essential). */
  result(value: unknown, text: string, essential?: boolean): void;
}

function usage(message: string, hint?: string): CustomsError {
  return new CustomsError('USAGE', message, hint === undefined ? {} : { hint });
}

function positiveInt(v: string | boolean | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[1-9][0-9]{0,2}$/.test(v)) throw usage(`${flag}: expected an integer 1..999, got ${JSON.stringify(v)}`);
  return Number(v);
}

const COMMANDS: Readonly<Record<string, Command>> = {
  pull: {
    options: { platform: { type: 'string' }, 'all-platforms': { type: 'boolean' }, jobs: { type: 'string' } },
    positionals: [1, 1],
    async run(ctx, [name], values, io, out) {
      if (values.platform !== undefined && values['all-platforms'] === true) {
        throw usage('--platform and --all-platforms: expected at most one of them, got both');
      }
      const platform = typeof values.platform === 'string' ? parsePlatform(values.platform) : undefined;
      let sink: ProgressSink | undefined;
      let finish = (): void => undefined;
      if (!out.json && !out.quiet) {
        if (io.isTTY) ({ sink, finish } = ttyProgress(io.stderr));
        else sink = plainProgress(io.stderr);
      }
      const result = await pull(ctx, name ?? '', {
        platform,
        allPlatforms: values['all-platforms'] === true,
        jobs: positiveInt(values.jobs, '--jobs'),
        signal: io.signal,
        onEvent: sink,
      });
      finish();
      const lines = [
        `pulled ${result.name}`,
        `digest ${result.descriptor.digest} (${result.descriptor.mediaType})`,
        ...result.images.map((i) => `  ${i.platform ?? 'image'} ${i.digest} ${i.layers} layer(s) ${formatBytes(i.size)}`),
        `fetched ${result.blobsFetched} blob(s), ${formatBytes(result.bytesFetched)}; ${result.blobsPresent} already present`,
      ];
      out.result(result, `${lines.join('\n')}\n`, true);
    },
  },
  images: {
    options: {},
    positionals: [0, 0],
    async run(ctx, _args, _values, _io, out) {
      const entries = await listImages(ctx);
      const rows = entries.map((e) => ({
        name: e.name ?? '<none>',
        digest: e.descriptor.digest,
        mediaType: e.descriptor.mediaType,
        ...(e.descriptor.platform === undefined ? {} : { platform: formatPlatform(e.descriptor.platform) }),
      }));
      const width = Math.max(4, ...rows.map((r) => r.name.length));
      const text = [`${'NAME'.padEnd(width)}  DIGEST`, ...rows.map((r) => `${r.name.padEnd(width)}  ${r.digest}`)].join('\n');
      out.result(rows, `${text}\n`, true);
    },
  },
  inspect: {
    options: { raw: { type: 'boolean' }, config: { type: 'boolean' } },
    positionals: [1, 1],
    async run(ctx, [name], values, io, out) {
      const r = await inspectImage(ctx, name ?? '', { raw: values.raw === true, config: values.config === true });
      if ('raw' in r) {
        io.stdout.write(r.raw.toString('utf8'));
        if (!r.raw.toString('utf8').endsWith('\n')) io.stdout.write('\n');
        return;
      }
      out.result(r, `${JSON.stringify(r, null, 2)}\n`, true);
    },
  },
  rm: {
    options: {},
    positionals: [1, 1],
    async run(ctx, [name], _values, _io, out) {
      const removed = await removeImage(ctx, name ?? '');
      out.result({ removed }, `removed ${removed} (blobs are freed by customs gc)\n`);
    },
  },
  gc: {
    options: {},
    positionals: [0, 0],
    async run(ctx, _args, _values, _io, out) {
      const r = await collectGarbage(ctx);
      out.result(r, `removed ${r.removedBlobs.length} blob(s), ${formatBytes(r.removedBytes)}; ${r.removedTempFiles} stale temp file(s)\n`);
    },
  },
  fsck: {
    options: {},
    positionals: [0, 0],
    async run(ctx, _args, _values, io, out) {
      const r = await checkStore(ctx, io.signal);
      const lines = [
        `checked ${r.blobsChecked} blob(s), ${r.refsChecked} reference(s): ${r.problems.length === 0 ? 'clean' : `${r.problems.length} problem(s)`}`,
        ...r.problems.map((p) => `  ${p.kind}: ${p.path}: ${p.message}`),
        ...(r.garbage.length === 0 ? [] : [`  ${r.garbage.length} leftover temp file(s) (garbage from an interrupted run; customs gc removes them)`]),
      ];
      out.result(r, `${lines.join('\n')}\n`, true);
      if (r.problems.length > 0) {
        throw new CustomsError('STORE_CORRUPT', `store ${ctx.storeDir}: fsck found ${r.problems.length} problem(s)`, {
          hint: 'Remove the affected images (customs rm) and pull them again; run customs gc afterwards.',
        });
      }
    },
  },
  login: {
    options: { username: { type: 'string', short: 'u' }, 'password-stdin': { type: 'boolean' }, password: { type: 'string', short: 'p' } },
    positionals: [1, 1],
    async run(ctx, [registry], values, io, out) {
      const username = values.username;
      if (typeof username !== 'string' || username === '') throw usage('login: expected --username USER');
      let password: string;
      if (values['password-stdin'] === true) {
        password = (await io.readStdin()).replace(/\r?\n$/, '');
      } else if (typeof values.password === 'string') {
        password = values.password;
      } else {
        throw usage('login: expected --password-stdin (or --password, which leaves the secret in shell history)');
      }
      if (password === '') throw usage('login: expected a non-empty password');
      const host = await login(ctx, registry ?? '', username, password, io.signal);
      out.result({ registry: host, username }, `logged in to ${host} as ${username}\n`);
    },
  },
  logout: {
    options: {},
    positionals: [1, 1],
    async run(ctx, [registry], _values, _io, out) {
      const removed = await logout(ctx, registry ?? '');
      out.result({ registry, removed }, removed ? `removed credentials for ${registry ?? ''}\n` : `no saved credentials for ${registry ?? ''}\n`);
    },
  },
};

/** Run the CLI with `argv` (without node and script). Returns the exit code; never throws. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  let json = argv.includes('--json');
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      io.stdout.write(topic !== undefined && COMMAND_HELP[topic] !== undefined ? COMMAND_HELP[topic] : MAIN_HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === 'version') {
      io.stdout.write(`customs ${VERSION}\n`);
      return 0;
    }
    const cmd = COMMANDS[command];
    if (cmd === undefined) throw usage(`unknown command ${JSON.stringify(command)}`, 'Run customs --help for the list of commands.');
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true });
    } catch (err) {
      throw usage(`${command}: ${(err as Error).message}`, `Run customs ${command} --help.`);
    }
    const values = parsed.values as Values;
    json = values.json === true;
    if (values.help === true) {
      io.stdout.write(COMMAND_HELP[command] ?? MAIN_HELP);
      return 0;
    }
    const [min, max] = cmd.positionals;
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw usage(`${command}: expected ${min === max ? min : `${min}..${max}`} argument(s), got ${parsed.positionals.length}`, `Run customs ${command} --help.`);
    }
    const ctx = await createContext({ env: io.env, store: typeof values.store === 'string' ? values.store : undefined });
    const quiet = values.quiet === true;
    const out: Output = {
      json,
      quiet,
      result(value, text, essential = false) {
        if (json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
        else if (!quiet || essential) io.stdout.write(text);
      },
    };
    await cmd.run(ctx, parsed.positionals, values, io, out);
    return 0;
  } catch (err) {
    reportError(err, io, json);
    return exitCodeOf(err);
  }
}

function reportError(err: unknown, io: CliIo, json: boolean): void {
  if (isCustomsError(err)) {
    if (json) io.stdout.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
    io.stderr.write(`customs: ${err.message}\n`);
    if (err.hint !== undefined) io.stderr.write(`  hint: ${err.hint}\n`);
    return;
  }
  // A bug, not an expected failure: say so, keep the stack for the report, exit 1.
  const e = err instanceof Error ? err : new Error(String(err));
  if (json) io.stdout.write(`${JSON.stringify({ error: { code: 'INTERNAL', exitCode: 1, message: e.message } }, null, 2)}\n`);
  io.stderr.write(`customs: internal error: ${e.message}\n${e.stack ?? ''}\n  hint: this is a bug in customs; please report it with the command you ran.\n`);
}
