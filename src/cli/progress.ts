/**
 * Progress rendering: per-blob bars (bytes, rate) redrawn in place on a TTY, plain lines otherwise, nothing with
 * `--quiet` or `--json` (machines read the final JSON document instead).
 */
import { sanitizeForDisplay } from '../internal/redact.js';
import type { ProgressEvent, ProgressSink } from '../oci/index.js';

export interface TextOutput {
  write(text: string): unknown;
}

const BAR_WIDTH = 24;
const REDRAW_INTERVAL_MS = 100;

/** Human byte count: 1.2 MB (SI, like skopeo/docker). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u] ?? 'TB'}`;
}

function shortDigest(d: string): string {
  return d.slice(0, 19);
}

interface BarState {
  readonly digest: string;
  size: number;
  bytes: number;
  readonly started: number;
  done: boolean;
  skipped: boolean;
}

/** A sink that prints one line per blob start/finish (non-TTY). */
export function plainProgress(out: TextOutput): ProgressSink {
  return (e: ProgressEvent) => {
    switch (e.type) {
      case 'blob-start':
        out.write(`fetching ${shortDigest(e.digest)} (${formatBytes(e.size)})\n`);
        break;
      case 'blob-done':
        out.write(`${e.skipped ? 'present ' : 'verified'} ${shortDigest(e.digest)} (${formatBytes(e.size)})\n`);
        break;
      case 'retry':
        out.write(`retrying ${sanitizeForDisplay(e.what)} (attempt ${e.attempt}): ${sanitizeForDisplay(e.reason)}\n`);
        break;
      case 'info':
        out.write(`${sanitizeForDisplay(e.message)}\n`);
        break;
      case 'blob-progress':
        break;
    }
  };
}

/** A sink that redraws one bar per blob in place (TTY). Call `finish()` before printing anything else. */
export function ttyProgress(out: TextOutput, now: () => number = Date.now): { sink: ProgressSink; finish: () => void } {
  const bars = new Map<string, BarState>();
  let drawnLines = 0;
  let lastDraw = 0;
  const draw = (force: boolean): void => {
    const t = now();
    if (!force && t - lastDraw < REDRAW_INTERVAL_MS) return;
    lastDraw = t;
    let text = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    for (const b of bars.values()) {
      const frac = b.size === 0 ? 1 : Math.min(1, b.bytes / b.size);
      const filled = Math.round(frac * BAR_WIDTH);
      const secs = Math.max(0.001, (t - b.started) / 1000);
      const status = b.skipped ? 'present' : b.done ? 'verified' : `${formatBytes(b.bytes / secs)}/s`;
      text += `\x1b[2K${shortDigest(b.digest)} [${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${formatBytes(b.bytes)}/${formatBytes(b.size)} ${status}\n`;
    }
    drawnLines = bars.size;
    out.write(text);
  };
  const sink: ProgressSink = (e) => {
    switch (e.type) {
      case 'blob-start':
        bars.set(e.digest, { digest: e.digest, size: e.size, bytes: 0, started: now(), done: false, skipped: false });
        draw(true);
        break;
      case 'blob-progress': {
        const b = bars.get(e.digest);
        if (b !== undefined) b.bytes = e.bytes;
        draw(false);
        break;
      }
      case 'blob-done': {
        const b = bars.get(e.digest) ?? {
          digest: e.digest,
          size: e.size,
          bytes: 0,
          started: now(),
          done: false,
          skipped: false,
        };
        b.bytes = e.size;
        b.done = true;
        b.skipped = e.skipped;
        bars.set(e.digest, b);
        draw(true);
        break;
      }
      case 'retry':
      case 'info':
        break;
    }
  };
  return { sink, finish: () => draw(true) };
}
