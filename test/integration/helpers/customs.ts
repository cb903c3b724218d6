/** Run the built customs CLI as a separate process, with an isolated config dir and HOME. */
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './repo-root.js';
import { run, type RunResult } from './run.js';

/**
 * The shipped `customs` command: bin/customs, which starts Node on the esbuild bundle (scripts/bundle.mjs), so
 * the tests run what users run. Executed directly (it is a shell script), never as `node CLI`.
 */
export const CLI = join(REPO_ROOT, 'bin', 'customs');

/** The policy every sandbox starts with: accept any image (as `--insecure-policy`, but through the file). */
export const ACCEPT_ANYTHING_POLICY = `${JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })}\n`;

export interface Sandbox {
  /** $HOME and $CUSTOMS_CONFIG live here; nothing of the host's own config is read. */
  readonly dir: string;
  readonly config: string;
  readonly store: string;
  readonly env: Record<string, string>;
  customs(
    args: readonly string[],
    opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<RunResult>;
}

export async function sandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'customs-it-'));
  const config = join(dir, 'config');
  const store = join(dir, 'store');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: join(dir, 'home'),
    CUSTOMS_CONFIG: config,
    CUSTOMS_STORE: store,
  };
  // Pull refuses without a policy file (issue 7); the existing pull tests are about transport and integrity,
  // so every sandbox starts with a policy that accepts anything. Signature tests replace it.
  await mkdir(config, { recursive: true });
  await writeFile(join(config, 'policy.json'), ACCEPT_ANYTHING_POLICY);
  return {
    dir,
    config,
    store,
    env,
    customs: (args, opts = {}) =>
      run(CLI, args, {
        env: { ...env, ...(opts.env ?? {}) },
        timeoutMs: opts.timeoutMs ?? 120_000,
        ...(opts.input === undefined ? {} : { input: opts.input }),
      }),
  };
}

/** Every file under `root` with its size and content hash-free identity (path + size + bytes of index.json). */
export async function listing(root: string): Promise<string> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(d)).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const s = await stat(p);
      if (s.isDirectory()) await walk(p);
      else out.push(`${relative(root, p)} ${s.size}`);
    }
  };
  await walk(root);
  let index = '';
  try {
    index = await readFile(join(root, 'index.json'), 'utf8');
  } catch {
    index = '(none)';
  }
  return `${out.join('\n')}\n--\n${index}`;
}
