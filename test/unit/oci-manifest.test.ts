import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CustomsError } from '../../src/errors.js';
import { MediaTypes, parseImageConfig, parseManifest, parsePlatform, platformMatches } from '../../src/oci/index.js';
import { parseStrictJson } from '../../src/internal/json.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

const manifest = {
  schemaVersion: 2,
  mediaType: MediaTypes.ociManifest,
  config: { mediaType: MediaTypes.ociConfig, digest: D('a'), size: 10 },
  layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: D('b'), size: 20 }],
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CustomsError, `expected CustomsError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a throw');
}

test('parses an OCI image manifest', () => {
  const m = parseManifest(enc(manifest), { contentType: MediaTypes.ociManifest, subject: 't' });
  assert.equal(m.kind, 'manifest');
  assert.equal(m.kind === 'manifest' && m.layers.length, 1);
});

test('infers the OCI manifest type when mediaType is absent (umoci writes such manifests)', () => {
  const { mediaType: _m, ...rest } = manifest;
  const m = parseManifest(enc(rest), { subject: 't' });
  assert.equal(m.mediaType, MediaTypes.ociManifest);
});

test('refuses a document with both layers and manifests (CVE-2021-41190)', () => {
  assert.equal(
    code(() => parseManifest(enc({ ...manifest, manifests: [] }), { subject: 't' })),
    'MANIFEST_INVALID',
  );
});

test('refuses schema 1 by body and by Content-Type', () => {
  assert.equal(
    code(() => parseManifest(enc({ schemaVersion: 1, name: 'x' }), { subject: 't' })),
    'SCHEMA1_REFUSED',
  );
  assert.equal(
    code(() => parseManifest(enc(manifest), { contentType: MediaTypes.dockerSchema1Signed, subject: 't' })),
    'SCHEMA1_REFUSED',
  );
});

test('refuses a body mediaType that disagrees with the Content-Type or the descriptor', () => {
  assert.equal(
    code(() => parseManifest(enc(manifest), { contentType: MediaTypes.dockerManifest, subject: 't' })),
    'MEDIA_TYPE_MISMATCH',
  );
  assert.equal(
    code(() => parseManifest(enc(manifest), { descriptorMediaType: MediaTypes.ociIndex, subject: 't' })),
    'MEDIA_TYPE_MISMATCH',
  );
});

test('accepts Content-Type parameters and generic JSON types', () => {
  assert.equal(
    parseManifest(enc(manifest), { contentType: `${MediaTypes.ociManifest}; charset=utf-8`, subject: 't' }).kind,
    'manifest',
  );
  assert.equal(parseManifest(enc(manifest), { contentType: 'application/json', subject: 't' }).kind, 'manifest');
});

test('refuses duplicate keys anywhere in the document', () => {
  const text = JSON.stringify(manifest).replace('"schemaVersion":2', '"schemaVersion":2,"schemaVersion":2');
  assert.equal(
    code(() => parseManifest(enc(text), { subject: 't' })),
    'JSON_INVALID',
  );
  assert.equal(
    code(() => parseStrictJson('{"a":{"b":1,"b":2}}', 't')),
    'JSON_INVALID',
  );
  assert.equal(
    code(() => parseStrictJson('{"a":1} x', 't')),
    'JSON_INVALID',
  );
  assert.equal(
    code(() => parseStrictJson('{"\\u0061":1,"a":2}', 't')),
    'JSON_INVALID',
  );
});

test('refuses invalid descriptors: digest grammar, negative or fractional size', () => {
  const bad = (layer: object) => ({ ...manifest, layers: [layer] });
  assert.equal(
    code(() =>
      parseManifest(enc(bad({ mediaType: MediaTypes.ociLayerGzip, digest: 'sha256:../../etc', size: 1 })), {
        subject: 't',
      }),
    ),
    'MANIFEST_INVALID',
  );
  assert.equal(
    code(() =>
      parseManifest(enc(bad({ mediaType: MediaTypes.ociLayerGzip, digest: D('b'), size: -1 })), { subject: 't' }),
    ),
    'MANIFEST_INVALID',
  );
  assert.equal(
    code(() =>
      parseManifest(enc(bad({ mediaType: MediaTypes.ociLayerGzip, digest: D('b'), size: 1.5 })), { subject: 't' }),
    ),
    'MANIFEST_INVALID',
  );
  assert.equal(
    code(() => parseManifest(enc(bad({ mediaType: 'not a type', digest: D('b'), size: 1 })), { subject: 't' })),
    'MANIFEST_INVALID',
  );
});

test('a Docker manifest list may only point at Docker schema 2 manifests', () => {
  const list = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifestList,
    manifests: [
      { mediaType: MediaTypes.ociManifest, digest: D('c'), size: 5, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  };
  assert.equal(
    code(() => parseManifest(enc(list), { subject: 't' })),
    'MEDIA_TYPE_MISMATCH',
  );
});

test('config diff_ids count must equal the layer count', () => {
  const cfg = enc({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [D('d')] } });
  assert.equal(parseImageConfig(cfg, 'c', 1).diffIds.length, 1);
  assert.equal(
    code(() => parseImageConfig(cfg, 'c', 2)),
    'CONFIG_INVALID_IMAGE',
  );
});

test('platform matching normalizes arm64 variants', () => {
  assert.ok(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' }));
  assert.ok(!platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'arm64' }));
  assert.equal(
    code(() => parsePlatform('linux')),
    'USAGE',
  );
});
