/**
 * Adversarial harness: a scratch directory with canaries outside DEST, layer blobs written from buffers, and the
 * checks every attack test makes (canaries untouched, DEST absent after a refusal, no staging left behind).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCustomsError } from '../../../src/errors.js';
import type { Digest } from '../../../src/ref/index.js';
import {
  unpackLayers,
  type LayerBlob,
  type SandboxMode,
  type UnpackLimits,
  type UnpackReport,
} from '../../../src/unpack/index.js';

export const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const PLAIN = 'application/vnd.oci.image.layer.v1.tar';

export interface LayerSpec {
  /** Blob bytes as stored (compressed per mediaType). */
  readonly blob: Buffer;
  readonly mediaType: string;
  /** Uncompressed tar for the diff_id; defaults to `blob` (plain layers). */
  readonly tar?: Buffer;
  /** Override the diff_id (mismatch tests). */
  readonly diffId?: string;
}

export const CANARY_TEXT = 'canary: must never change';

export class Scene {
  readonly base: string;
  readonly dest: string;
  /** A file outside DEST that attacks aim at. */
  readonly canary: string;
  /** A directory outside DEST that attacks aim at. */
  readonly canaryDir: string;
  #n = 0;

  constructor() {
    this.base = mkdtempSync(join(tmpdir(), 'customs-unpack-'));
    this.dest = join(this.base, 'dest');
    this.canary = join(this.base, 'canary');
    this.canaryDir = join(this.base, 'canary-dir');
    writeFileSync(this.canary, CANARY_TEXT, { mode: 0o644 });
    mkdirSync(this.canaryDir, { mode: 0o755 });
    writeFileSync(join(this.canaryDir, 'inside'), CANARY_TEXT, { mode: 0o644 });
    symlinkSync(this.canary, join(this.base, 'canary-link'));
  }

  layer(spec: LayerSpec): LayerBlob {
    const path = join(this.base, `blob-${this.#n++}`);
    writeFileSync(path, spec.blob);
    const diffId =
      spec.diffId ??
      `sha256:${createHash('sha256')
        .update(spec.tar ?? spec.blob)
        .digest('hex')}`;
    return { path, mediaType: spec.mediaType, diffId: diffId as Digest, size: spec.blob.length };
  }

  plain(tarBytes: Buffer): LayerBlob {
    return this.layer({ blob: tarBytes, mediaType: PLAIN });
  }

  async unpack(layers: LayerBlob[], sandbox: SandboxMode, limits?: Partial<UnpackLimits>): Promise<UnpackReport> {
    return unpackLayers({ layers, dest: this.dest, sandbox, ...(limits === undefined ? {} : { limits }) });
  }

  /** Everything outside DEST is as planted, and no staging directory was left behind. */
  assertCanaries(): void {
    assert.equal(readFileSync(this.canary, 'utf8'), CANARY_TEXT);
    assert.equal(lstatSync(this.canary).mode & 0o7777, 0o644);
    assert.equal(readFileSync(join(this.canaryDir, 'inside'), 'utf8'), CANARY_TEXT);
    assert.deepEqual(readdirSync(this.canaryDir), ['inside']);
    assert.equal(lstatSync(this.canaryDir).mode & 0o7777, 0o755);
    const names = readdirSync(this.base).filter((n) => !n.startsWith('blob-'));
    for (const n of names) {
      assert.ok(['dest', 'canary', 'canary-dir', 'canary-link'].includes(n), `unexpected ${n} beside DEST`);
    }
  }

  /** The unpack was refused with `code`, DEST is absent and the canaries are untouched. */
  async assertRefused(layers: LayerBlob[], code: string, sandbox: SandboxMode, limits?: Partial<UnpackLimits>) {
    await assert.rejects(this.unpack(layers, sandbox, limits), (err: unknown) => {
      assert.ok(isCustomsError(err), `expected a CustomsError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      return true;
    });
    assert.throws(() => lstatSync(this.dest), { code: 'ENOENT' });
    this.assertCanaries();
  }

  cleanup(): void {
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** Run the catalogue under the real sandbox and without it: the engine must hold even with no sandbox. */
export const SANDBOXES: readonly SandboxMode[] = ['none-for-tests', 'auto'];
