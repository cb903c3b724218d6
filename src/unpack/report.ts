/**
 * The unpack report: what the engine skipped or changed and why (issue 4 item 8, `--json`). Built inside the
 * worker with bounded lists, so a hostile layer cannot make the report itself a memory or output bomb.
 */
import { MAX_REPORT_ITEMS } from './limits.js';

/** Why an entry was not reproduced exactly. Stable strings: `--json` consumers match on them. */
export type ReportKind =
  | 'device-skipped' // mknod needs privilege; rootless unpack never creates device nodes
  | 'setuid-stripped' // setuid/setgid bits removed (rootless semantics; no privilege escalation via the rootfs)
  | 'xattr-skipped' // extended attributes are never applied (Node has no setxattr; see docs)
  | 'path-clamped' // `..` or an absolute name was resolved inside the root instead of above it
  | 'owner-dropped'; // uid/gid from the image not applied; files belong to the invoking user

export interface ReportItem {
  readonly kind: ReportKind;
  /** Layer index (0-based, in application order). */
  readonly layer: number;
  /** Path as the archive named it (untrusted, for display only). */
  readonly path: string;
  readonly detail?: string;
}

export interface LayerReport {
  readonly diffId: string;
  readonly entries: number;
  readonly uncompressedBytes: number;
}

/** How the worker was isolated. `none` only with `sandbox: 'none-for-tests'`. */
export type SandboxMechanism = 'bwrap+setpriv' | 'bwrap-userns' | 'setpriv' | 'prlimit-only' | 'none';

export interface SandboxReport {
  readonly mechanism: SandboxMechanism;
  /** The argv that started the worker (minus the job description). */
  readonly command: readonly string[];
  /** Set when isolation is weaker than the default (fallbacks). */
  readonly note?: string;
}

export interface UnpackReport {
  readonly sandbox: SandboxReport;
  readonly layers: readonly LayerReport[];
  /** Things not reproduced, with the reason. */
  readonly skipped: readonly ReportItem[];
  /** Things reproduced differently from the image, with the reason. */
  readonly changed: readonly ReportItem[];
  /** Number of entries whose owner differed from the invoking user (ownership is never applied). */
  readonly ownersDropped: number;
  /** Items left out of `skipped`/`changed` once MAX_REPORT_ITEMS was reached. */
  readonly omitted: number;
}

/** Bounded report lists; used by the worker. */
export class ReportBuilder {
  readonly skipped: ReportItem[] = [];
  readonly changed: ReportItem[] = [];
  ownersDropped = 0;
  omitted = 0;

  skip(item: ReportItem): void {
    this.#push(this.skipped, item);
  }

  change(item: ReportItem): void {
    this.#push(this.changed, item);
  }

  #push(list: ReportItem[], item: ReportItem): void {
    if (list.length >= MAX_REPORT_ITEMS) this.omitted++;
    else list.push({ ...item, path: item.path.slice(0, 4096) });
  }
}
