/** What every command module implements: its flags, its positional count, and a run function. */
import { CustomsError } from '../errors.js';
import type { Context } from '../ops/index.js';
import type { TextOutput } from './progress.js';

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

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  readonly options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  readonly positionals: readonly [min: number, max: number];
  /** Usage text for `customs CMD --help`. */
  readonly help: string;
  run(ctx: Context, args: readonly string[], values: Values, io: CliIo, out: Output): Promise<void>;
}

/** Output helpers bound to the invocation's flags. */
export interface Output {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Print a result: JSON document with --json, otherwise the given text (suppressed by --quiet unless essential). */
  result(value: unknown, text: string, essential?: boolean): void;
}

export function usage(message: string, hint?: string): CustomsError {
  return new CustomsError('USAGE', message, hint === undefined ? {} : { hint });
}

export function positiveInt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[1-9][0-9]{0,2}$/.test(v))
    throw usage(`${flag}: expected an integer 1..999, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** A string flag's value, or undefined; refuses a boolean or repeated use. */
export function stringFlag(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw usage(`--${name}: expected a value`);
  return v;
}
