/**
 * Worker entry point: `node worker.js JOB_JSON`, compressed layers on stdin, JSON lines on stdout. Started by
 * sandbox.ts under bwrap as an unprivileged uid; never imported by library code. Prints only protocol messages.
 */
import { isCustomsError } from '../errors.js';
import { extractLayers } from './extract.js';
import type { WorkerJob, WorkerMessage } from './protocol.js';

function send(m: WorkerMessage): void {
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as WorkerJob;
  await extractLayers(job, process.stdin as AsyncIterable<Buffer>, send);
}

main().then(
  () => {
    exitAfterFlush(0);
  },
  (err: unknown) => {
    if (isCustomsError(err)) {
      send({
        t: 'error',
        code: err.code,
        message: err.message,
        details: { ...err.details },
        ...(err.hint === undefined ? {} : { hint: err.hint }),
      });
    } else {
      const e = err as NodeJS.ErrnoException;
      send({
        t: 'error',
        code: e.code === 'ENAMETOOLONG' || e.code === 'EFBIG' || e.code === 'ENOSPC' ? 'LIMIT_EXCEEDED' : 'INTERNAL',
        message: `unpack worker: ${(err instanceof Error ? err.message : String(err)).slice(0, 500)}`,
        ...(e.code === undefined ? {} : { details: { errno: e.code } }),
      });
    }
    // Exit explicitly: an abandoned decoder (zstd child, zlib stream) must not keep the worker alive.
    exitAfterFlush(3);
  },
);
