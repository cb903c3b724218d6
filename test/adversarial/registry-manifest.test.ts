// Manifest attacks against RegistryClient.manifest: every test is one lie a hostile registry tells about a
// manifest (digest, size, media type, shape), served by a real node:http server on 127.0.0.1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient } from '../../src/registry/index.js';
import { isCustomsError } from '../../src/errors.js';
import type { Digest, Reference } from '../../src/ref/index.js';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  manifestBytes,
  serveBytes,
  sha256,
  startHostileServer,
  writeEndlessly,
  type HostileServer,
} from './helpers/hostile-server.js';

let server: HostileServer;
let client: RegistryClient;

before(async () => {
  server = await startHostileServer();
  client = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 5 });
});
after(async () => {
  await client.close();
  await server.close();
});

function ref(repository: string, tagOrDigest: { tag?: string; digest?: string }): Reference {
  return {
    registry: server.host,
    repository,
    ...(tagOrDigest.tag === undefined ? {} : { tag: tagOrDigest.tag }),
    ...(tagOrDigest.digest === undefined ? {} : { digest: tagOrDigest.digest as Digest }),
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, includes?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isCustomsError(err), `expected a CustomsError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (includes !== undefined) assert.ok(err.message.includes(includes), err.message);
    return true;
  });
}

describe('manifest', () => {
  test('a manifest served by tag is returned with a locally computed digest', async () => {
    // Baseline for the attacks below: an honest registry.
    const bytes = manifestBytes();
    server.route('GET', '/v2/ok/app/manifests/v1', (_req, res) =>
      serveBytes(res, bytes, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256(bytes) }),
    );
    const m = await client.manifest(ref('ok/app', { tag: 'v1' }));
    assert.equal(m.descriptor.digest, sha256(bytes));
    assert.equal(m.descriptor.size, bytes.length);
    assert.equal(m.descriptor.mediaType, OCI_MANIFEST);
    assert.deepEqual(m.bytes, bytes);
    const req = server.requestsTo('/v2/ok/app/manifests/v1')[0]!;
    for (const t of [OCI_INDEX, OCI_MANIFEST]) assert.ok(String(req.headers.accept).includes(t));
  });

  test('pull by digest refuses a body whose digest differs', async () => {
    // Attack: registry substitutes content for a digest-pinned pull (the whole point of pinning; image-spec
    // descriptor.md "Verification").
    const honest = manifestBytes();
    const evil = manifestBytes({ annotations: { evil: 'yes' } });
    const digest = sha256(honest);
    server.route('GET', `/v2/pin/app/manifests/${digest}`, (_req, res) =>
      serveBytes(res, evil, { 'content-type': OCI_MANIFEST }),
    );
    await rejectsWith(
      client.manifest(ref('pin/app', { digest })),
      'DIGEST_MISMATCH',
      `expected ${digest}, got ${sha256(evil)}`,
    );
  });

  test('a Docker-Content-Digest header that disagrees with the body is refused, never trusted', async () => {
    // Attack: the header names one manifest and the body is another (clients that trust the header record the
    // wrong digest; containers/image verifies it, go-containerregistry too).
    const bytes = manifestBytes();
    server.route('GET', '/v2/dcd/app/manifests/v1', (_req, res) =>
      serveBytes(res, bytes, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256('something else') }),
    );
    await rejectsWith(client.manifest(ref('dcd/app', { tag: 'v1' })), 'DIGEST_MISMATCH', 'Docker-Content-Digest');
  });

  test('an endless manifest body is cut off at 4 MiB and the server sees the client go away', async () => {
    // Attack: memory exhaustion with an endless chunked manifest (distribution-spec suggests a 4 MiB limit).
    let written = -1;
    const closed = new Promise<void>((resolve) => {
      server.route('GET', '/v2/huge/app/manifests/v1', async (_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST });
        res.on('close', () => resolve());
        written = await writeEndlessly(res);
      });
    });
    await rejectsWith(client.manifest(ref('huge/app', { tag: 'v1' })), 'TOO_LARGE');
    await closed;
    await new Promise((r) => setImmediate(r));
    assert.ok(written > 0 && written < 64 * 1024 * 1024, `server wrote ${written} bytes before the client left`);
  });

  test('a manifest declaring more than 4 MiB is refused before its body is read', async () => {
    // Attack: as above, announced honestly by Content-Length.
    server.route('GET', '/v2/huge/declared/manifests/v1', (_req, res) => {
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(5 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
    });
    await rejectsWith(client.manifest(ref('huge/declared', { tag: 'v1' })), 'TOO_LARGE');
  });

  test('duplicate JSON keys are refused', async () => {
    // Attack: parser differential — two "layers" keys mean different images to different parsers
    // (CVE-2021-41190 family).
    const text = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${sha256('{}')}","size":2},"layers":[],"layers":[]}`;
    server.route('GET', '/v2/dup/app/manifests/v1', (_req, res) =>
      serveBytes(res, Buffer.from(text), { 'content-type': OCI_MANIFEST }),
    );
    await rejectsWith(client.manifest(ref('dup/app', { tag: 'v1' })), 'JSON_INVALID', 'duplicate key');
  });

  test('a Content-Type that disagrees with the body mediaType is refused', async () => {
    // Attack: media-type confusion (CVE-2021-41190): Content-Type says index, body says manifest.
    const bytes = manifestBytes();
    server.route('GET', '/v2/mt/app/manifests/v1', (_req, res) =>
      serveBytes(res, bytes, { 'content-type': OCI_INDEX }),
    );
    await rejectsWith(client.manifest(ref('mt/app', { tag: 'v1' })), 'MEDIA_TYPE_MISMATCH');
  });

  test('schema 1 is refused by Content-Type', async () => {
    // Attack: Docker schema 1 manifests are not content-addressable (signed JWS); downgrade to them is refused.
    const bytes = manifestBytes();
    server.route('GET', '/v2/s1/ct/manifests/v1', (_req, res) =>
      serveBytes(res, bytes, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }),
    );
    await rejectsWith(client.manifest(ref('s1/ct', { tag: 'v1' })), 'SCHEMA1_REFUSED');
  });

  test('schema 1 is refused by body', async () => {
    // Attack: as above, with an innocent Content-Type and a schemaVersion 1 body.
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 's1/body', tag: 'v1', fsLayers: [] }));
    server.route('GET', '/v2/s1/body/manifests/v1', (_req, res) =>
      serveBytes(res, bytes, { 'content-type': 'application/json' }),
    );
    await rejectsWith(client.manifest(ref('s1/body', { tag: 'v1' })), 'SCHEMA1_REFUSED');
  });

  test('a document with both layers and manifests is refused', async () => {
    // Attack: CVE-2021-41190 / GHSA-77vh-xpmg-72qh, an ambiguous manifest+index document.
    const bytes = manifestBytes({ manifests: [] });
    server.route('GET', '/v2/cve/app/manifests/v1', (_req, res) =>
      serveBytes(res, bytes, { 'content-type': OCI_MANIFEST }),
    );
    await rejectsWith(client.manifest(ref('cve/app', { tag: 'v1' })), 'MANIFEST_INVALID', 'ambiguous');
  });

  test('a body shorter than its Content-Length is an error', async () => {
    // Attack: lying Content-Length (fewer bytes than declared, then the connection closes).
    const bytes = manifestBytes();
    server.route('GET', '/v2/short/app/manifests/v1', (_req, res) => {
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(bytes.length + 100) });
      res.write(bytes, () => res.socket?.destroy());
    });
    await assert.rejects(client.manifest(ref('short/app', { tag: 'v1' })), (err: unknown) => {
      assert.ok(isCustomsError(err));
      assert.ok(['NETWORK', 'SIZE_MISMATCH'].includes(err.code), err.code);
      return true;
    });
  });

  test('a body longer than its Content-Length is an error', async () => {
    // Attack: lying Content-Length (more bytes than declared): the declared prefix is not the manifest.
    const bytes = manifestBytes();
    server.route('GET', '/v2/long/app/manifests/v1', (_req, res) => {
      res.socket?.write(
        `HTTP/1.1 200 OK\r\ncontent-type: ${OCI_MANIFEST}\r\ncontent-length: ${bytes.length - 10}\r\n\r\n`,
      );
      res.socket?.end(bytes);
    });
    await assert.rejects(client.manifest(ref('long/app', { tag: 'v1' })), (err: unknown) => {
      assert.ok(isCustomsError(err), String(err));
      return true;
    });
  });

  test('a manifest whose size differs from the pointing descriptor is refused', async () => {
    // Attack: an index entry says one size, the registry serves another (image-spec descriptor.md "size").
    const bytes = manifestBytes();
    const digest = sha256(bytes) as Digest;
    server.route('GET', `/v2/sz/app/manifests/${digest}`, (_req, res) =>
      serveBytes(res, bytes, { 'content-type': OCI_MANIFEST }),
    );
    await rejectsWith(
      client.manifest(ref('sz/app', { tag: 'v1' }), { mediaType: OCI_MANIFEST, digest, size: bytes.length + 1 }),
      'SIZE_MISMATCH',
    );
  });

  test('404 is NOT_FOUND naming the repository and tag', async () => {
    // Peer behaviour: distribution answers MANIFEST_UNKNOWN; the user must learn what was missing.
    await rejectsWith(client.manifest(ref('missing/app', { tag: 'nope' })), 'NOT_FOUND', 'missing/app:nope');
  });
});
