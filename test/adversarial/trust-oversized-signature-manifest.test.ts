// Resource exhaustion through signature manifests (cosign CVE-2024-29903: unbounded signature layers; CVE-2023-46737: endless data from a registry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_COSIGN_SIGNATURE_LAYERS,
  MAX_COSIGN_SIGNATURE_MANIFEST_BYTES,
  buildCosignSignatureManifestWithLayers,
  parseCosignSignatureManifest,
} from '../../src/trust/index.js';

const layer = (
  size: number,
  mediaType = 'application/vnd.dev.cosign.simplesigning.v1+json',
): Record<string, unknown> => ({
  mediaType,
  size,
  digest: `sha256:${'0'.repeat(64)}`,
  annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' },
});
const manifest = (layers: unknown[]): Buffer =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: layer(2, 'application/vnd.oci.image.config.v1+json'),
      layers,
    }),
  );

function refused(bytes: Buffer, pattern: RegExp): void {
  assert.throws(
    () => parseCosignSignatureManifest(bytes),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
      assert.match((err as Error).message, pattern);
      return true;
    },
  );
}

test('a signature manifest with more than the layer cap is refused', () => {
  // CVE-2024-29903: thousands of signature layers to exhaust the verifier.
  assert.equal(
    parseCosignSignatureManifest(manifest(Array.from({ length: MAX_COSIGN_SIGNATURE_LAYERS }, () => layer(10)))).length,
    MAX_COSIGN_SIGNATURE_LAYERS,
  );
  refused(
    manifest(Array.from({ length: MAX_COSIGN_SIGNATURE_LAYERS + 1 }, () => layer(10))),
    /layers: expected 1 to 64, got 65/,
  );
});

test('a signature layer declaring a payload above 1 MiB is refused before any fetch', () => {
  // Oversized payload blob announced by the manifest.
  refused(manifest([layer(1024 * 1024 + 1)]), /payload too large: expected at most 1048576 bytes, got 1048577/);
});

test('a manifest above the byte cap is refused before parsing', () => {
  // Oversized manifest document.
  refused(Buffer.alloc(MAX_COSIGN_SIGNATURE_MANIFEST_BYTES + 1, 0x20), /too large/);
});

test('layers of other media types, missing signatures and duplicate keys are refused', () => {
  // Layer confusion: non-simplesigning layers must not be treated as signatures.
  refused(
    manifest([layer(10, 'application/vnd.oci.image.layer.v1.tar+gzip')]),
    /mediaType: expected application\/vnd.dev.cosign.simplesigning.v1\+json/,
  );
  refused(manifest([{ ...layer(10), annotations: {} }]), /expected annotation dev.cosignproject.cosign\/signature/);
  refused(manifest([]), /expected 1 to 64, got 0/);
  refused(Buffer.from('{"schemaVersion":2,"layers":[],"layers":[]}'), /duplicate key/);
});

test('building more than the cap is refused too', () => {
  // Do not write what we would refuse to read.
  assert.throws(
    () =>
      buildCosignSignatureManifestWithLayers(
        Array.from({ length: 65 }, () => ({ payload: Buffer.from('x'), signatureB64: 'AAAA' })),
      ),
    /expected 1 to 64/,
  );
});
