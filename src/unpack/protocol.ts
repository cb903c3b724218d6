/**
 * The worker protocol. The parent starts `node worker.js JOB` (JOB: JSON below), writes the compressed layers to
 * the worker's stdin back to back (exactly `size` bytes each), and reads JSON lines from its stdout. stdout is the
 * only channel back; the parent caps it and validates every message, since a compromised worker could lie.
 */
import type { Compression } from './decompress.js';
import type { UnpackLimits } from './limits.js';
import type { LayerReport, ReportItem } from './report.js';

export interface WorkerLayer {
  readonly compression: Compression;
  /** Expected sha256 of the uncompressed tar, lowercase hex. */
  readonly diffIdHex: string;
  readonly size: number;
}

export interface WorkerJob {
  readonly root: string;
  readonly layers: readonly WorkerLayer[];
  readonly limits: UnpackLimits;
  readonly ownerUid: number;
  readonly ownerGid: number;
  readonly zstdPath: string;
  readonly mkfifoPath: string | undefined;
}

export type WorkerMessage =
  | ({ readonly t: 'layer'; readonly index: number } & LayerReport)
  | {
      readonly t: 'done';
      readonly skipped: readonly ReportItem[];
      readonly changed: readonly ReportItem[];
      readonly ownersDropped: number;
      readonly omitted: number;
    }
  | {
      readonly t: 'error';
      readonly code: string;
      readonly message: string;
      readonly details?: Record<string, unknown>;
      readonly hint?: string;
    };
