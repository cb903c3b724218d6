import { spawn } from 'node:child_process';

/** Options for {@link run}. */
export interface RunOptions {
  /** Kill the process (SIGKILL) and reject after this many milliseconds. Default 120 000. */
  timeoutMs?: number;
  cwd?: string;
  /** Replaces the environment entirely when given; merge with `process.env` yourself. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. Without it stdin is closed at once (EOF). */
  input?: string | Uint8Array;
  signal?: AbortSignal;
}

/** What a finished process left behind. */
export interface RunResult {
  /** Exit code; null when the process died from a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** Keep test output bounded even if a peer floods it; the tail is what explains a failure. */
const MAX_CAPTURE_BYTES = 16 * 1024 * 1024;

/**
 * Spawn `cmd args` (no shell) and collect stdout/stderr as UTF-8.
 * Resolves with the exit status whatever it is; rejects only when the program cannot be started
 * (e.g. ENOENT), on timeout, or when `signal` aborts — so a hung peer fails the test instead of
 * hanging it.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes < MAX_CAPTURE_BYTES) out.push(b);
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < MAX_CAPTURE_BYTES) err.push(b);
      errBytes += b.length;
    });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const describe = (): string =>
      `${cmd} ${args.join(' ')}\n--- stdout (tail)\n${tail(out)}\n--- stderr (tail)\n${tail(err)}`;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => {
        reject(new Error(`run: timed out after ${timeoutMs} ms: ${describe()}`));
      });
    }, timeoutMs);
    const onAbort = (): void => {
      child.kill('SIGKILL');
      finish(() => {
        reject(new Error(`run: aborted: ${describe()}`, { cause: opts.signal?.reason }));
      });
    };
    if (opts.signal?.aborted === true) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      finish(() => {
        reject(new Error(`run: cannot start ${cmd}: ${e.message}`, { cause: e }));
      });
    });
    child.on('close', (code, signal) => {
      finish(() => {
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
    });
    child.stdin.on('error', () => {
      // EPIPE when the program exits without reading its input; its exit status tells the story.
    });
    child.stdin.end(opts.input);
  });
}

/** Like {@link run}, but rejects unless the exit code is 0; the error carries both output tails. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `run: ${cmd} ${args.join(' ')}: expected exit code 0, got ${r.code ?? `signal ${r.signal ?? '?'}`}\n` +
        `--- stdout (tail)\n${r.stdout.slice(-4000)}\n--- stderr (tail)\n${r.stderr.slice(-4000)}`,
    );
  }
  return r;
}

function tail(chunks: readonly Buffer[]): string {
  return Buffer.concat(chunks).toString('utf8').slice(-4000);
}
