/**
 * argv → ops → exit code and output. No logic of its own beyond parsing flags and rendering results; every
 * command is runnable in-process (tests pass their own streams and environment).
 */
import { parseArgs } from 'node:util';
import { exitCodeOf, isCustomsError } from '../errors.js';
import { sanitizeForDisplay } from '../internal/redact.js';
import { usage, type CliIo, type Output, type Values } from './command.js';
import { loadCommand } from './commands/index.js';
import { MAIN_HELP } from './help.js';

export type { CliIo } from './command.js';

export const VERSION = '0.1.0';

const GLOBAL_OPTIONS = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  // Read by the commands that consult policy (pull, verify, load, sign, trust, policy); harmless elsewhere.
  policy: { type: 'string' },
  'registries.d': { type: 'string' },
  'insecure-policy': { type: 'boolean' },
} as const;

/** Run the CLI with `argv` (without node and script). Returns the exit code; never throws. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  let json = argv.includes('--json');
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      const topic = command === 'help' && rest[0] !== undefined ? await loadCommand(rest[0]) : undefined;
      io.stdout.write(topic?.help ?? MAIN_HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === 'version') {
      io.stdout.write(`customs ${VERSION}\n`);
      return 0;
    }
    const cmd = await loadCommand(command);
    if (cmd === undefined)
      throw usage(`unknown command ${JSON.stringify(command)}`, 'Run customs --help for the list of commands.');
    let parsed;
    try {
      parsed = parseArgs({
        args: [...rest],
        options: { ...GLOBAL_OPTIONS, ...cmd.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      throw usage(`${command}: ${(err as Error).message}`, `Run customs ${command} --help.`);
    }
    const values = parsed.values as Values;
    json = values.json === true;
    if (values.help === true) {
      io.stdout.write(cmd.help);
      return 0;
    }
    const [min, max] = cmd.positionals;
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw usage(
        `${command}: expected ${min === max ? min : `${min}..${max}`} argument(s), got ${parsed.positionals.length}`,
        `Run customs ${command} --help.`,
      );
    }
    // Loaded here, not at the top: --version and --help need none of the store, registry or policy code.
    const { createContext } = await import('../ops/context.js');
    const ctx = await createContext({
      env: io.env,
      store: typeof values.store === 'string' ? values.store : undefined,
      policy: typeof values.policy === 'string' ? values.policy : undefined,
      registriesD: typeof values['registries.d'] === 'string' ? values['registries.d'] : undefined,
      insecurePolicy: values['insecure-policy'] === true,
    });
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

/** Error text bound for a terminal: messages quote registry answers, archive names and worker reports. */
const MAX_ERROR_DISPLAY_CHARS = 4096;

/**
 * Untrusted text for stderr: control characters (ESC sequences can rewrite the screen, the title or the clipboard)
 * and bidi overrides (Trojan Source, CVE-2021-42574) become `?`. Newlines are kept: messages may span lines.
 */
function forTerminal(untrustedText: string): string {
  return sanitizeForDisplay(untrustedText, MAX_ERROR_DISPLAY_CHARS);
}

function reportError(err: unknown, io: CliIo, json: boolean): void {
  if (isCustomsError(err)) {
    if (json) io.stdout.write(`${JSON.stringify({ error: err.toJSON() }, null, 2)}\n`);
    io.stderr.write(`customs: ${forTerminal(err.message)}\n`);
    if (err.hint !== undefined) io.stderr.write(`  hint: ${forTerminal(err.hint)}\n`);
    return;
  }
  // A bug, not an expected failure: say so, keep the stack for the report, exit 1.
  const e = err instanceof Error ? err : new Error(String(err));
  if (json)
    io.stdout.write(`${JSON.stringify({ error: { code: 'INTERNAL', exitCode: 1, message: e.message } }, null, 2)}\n`);
  io.stderr.write(
    `customs: internal error: ${forTerminal(e.message)}\n${forTerminal(e.stack ?? '')}\n  hint: this is a bug in customs; please report it with the command you ran.\n`,
  );
}
