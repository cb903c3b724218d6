// Decompression and integrity: gzip/zstd bombs (CVE-2019-11253-style expansion, "zip bomb"), media-type sniffing
// (containers/image refuses it; moby DetectCompression is the counter-example), diff_id mismatch (OCI image-spec
// config.md rootfs.diff_ids), truncated/oversized blobs.
import { describe, it } from 'node:test';
import { GZIP, PLAIN, Scene, SANDBOXES, ZSTD } from './harness.js';
import { entry, file, gzip, tar, zstd } from './tar-builder.js';

const MiB = 1024 * 1024;
/** A layer of one file of zeros: tiny compressed, large uncompressed. */
const zeros = (bytes: number): Buffer => tar(entry({ name: 'z' }, Buffer.alloc(bytes)));
/** Tight limits so bombs trip in milliseconds; the defaults are the same code path with larger numbers. */
const BOMB_LIMITS = { ratioGraceBytes: 1 * MiB, maxExpansionRatio: 100 };

for (const sandbox of SANDBOXES) {
  describe(`compression and integrity (sandbox ${sandbox})`, () => {
    it('refuses a gzip bomb once the expansion ratio passes 100:1 after the grace window', async () => {
      // "gzip bomb": 16 MiB of zeros compress ~1000:1.
      const s = new Scene();
      try {
        const t = zeros(16 * MiB);
        await s.assertRefused(
          [s.layer({ blob: gzip(t), tar: t, mediaType: GZIP })],
          'LIMIT_EXCEEDED',
          sandbox,
          BOMB_LIMITS,
        );
      } finally {
        s.cleanup();
      }
    });

    it('refuses a zstd bomb once the expansion ratio passes 100:1 after the grace window', async () => {
      // zstd frames compress zeros far beyond 1000:1.
      const s = new Scene();
      try {
        const t = zeros(16 * MiB);
        await s.assertRefused(
          [s.layer({ blob: zstd(t), tar: t, mediaType: ZSTD })],
          'LIMIT_EXCEEDED',
          sandbox,
          BOMB_LIMITS,
        );
      } finally {
        s.cleanup();
      }
    });

    it('refuses a layer larger than the uncompressed size cap', async () => {
      // Issue 4: uncompressed layer ≤ 8 GiB (scaled down here).
      const s = new Scene();
      try {
        const t = zeros(4 * MiB);
        await s.assertRefused([s.plain(t)], 'LIMIT_EXCEEDED', sandbox, { maxLayerBytes: 2 * MiB });
      } finally {
        s.cleanup();
      }
    });

    it('refuses a layer whose uncompressed sha256 is not its diff_id', async () => {
      // OCI image-spec config.md rootfs.diff_ids: a layer swapped under a valid config must not be applied.
      const s = new Scene();
      try {
        const t = tar(file('f', 'x'));
        const other = `sha256:${'0'.repeat(64)}`;
        await s.assertRefused(
          [s.layer({ blob: gzip(t), tar: t, mediaType: GZIP, diffId: other })],
          'DIGEST_MISMATCH',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });

    it('refuses a layer cut at a header boundary through its diff_id', async () => {
      // Go archive/tar accepts a clean end without the end-of-archive marker (umoci writes such layers), so a cut
      // at a 512-byte boundary is only visible to the diff_id check.
      const s = new Scene();
      try {
        const t = tar(file('a', 'x'), file('b', 'y'));
        await s.assertRefused(
          [s.layer({ blob: t.subarray(0, 1024), tar: t, mediaType: PLAIN })],
          'DIGEST_MISMATCH',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });

    it('refuses an unknown media type without looking at the bytes', async () => {
      // containers/image: no decompressor guessing; moby's DetectCompression sniffing is what not to do.
      const s = new Scene();
      try {
        const t = tar(file('f', 'x'));
        await s.assertRefused(
          [s.layer({ blob: gzip(t), tar: t, mediaType: 'application/vnd.oci.image.layer.v1.tar+xz' })],
          'MEDIA_TYPE_UNSUPPORTED',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });

    it('does not sniff: gzip bytes labelled as a plain tar are refused', async () => {
      // Media-type confusion: the label decides the decoder.
      const s = new Scene();
      try {
        const t = tar(file('f', 'x'));
        await s.assertRefused([s.layer({ blob: gzip(t), tar: t, mediaType: PLAIN })], 'ARCHIVE_INVALID', sandbox);
      } finally {
        s.cleanup();
      }
    });

    it('does not sniff: a plain tar labelled gzip is refused', async () => {
      // Media-type confusion, the other way round.
      const s = new Scene();
      try {
        const t = tar(file('f', 'x'));
        await s.assertRefused([s.layer({ blob: t, mediaType: GZIP })], 'ARCHIVE_INVALID', sandbox);
      } finally {
        s.cleanup();
      }
    });

    it('refuses a corrupt zstd stream', async () => {
      // Truncated zstd frame.
      const s = new Scene();
      try {
        const t = tar(file('f', 'x'.repeat(10000)));
        const z = zstd(t);
        await s.assertRefused(
          [s.layer({ blob: z.subarray(0, z.length - 8), tar: t, mediaType: ZSTD })],
          'ARCHIVE_INVALID',
          sandbox,
        );
      } finally {
        s.cleanup();
      }
    });

    it('refuses a blob whose size is not the declared size', async () => {
      // Descriptor size mismatch (OCI image-spec descriptor.md "size").
      const s = new Scene();
      try {
        const t = tar(file('f', 'x'));
        const blob = s.plain(t);
        await s.assertRefused([{ ...blob, size: blob.size + 1 }], 'SIZE_MISMATCH', sandbox);
      } finally {
        s.cleanup();
      }
    });

    it('leaves DEST absent when the second layer fails', async () => {
      // Issue 4 item 8: never a half image that looks complete.
      const s = new Scene();
      try {
        const good = s.plain(tar(file('ok', 'x')));
        const bad = s.plain(tar(entry({ name: 'f', checksum: 1 }, 'x')));
        await s.assertRefused([good, bad], 'ARCHIVE_INVALID', sandbox);
      } finally {
        s.cleanup();
      }
    });
  });
}
