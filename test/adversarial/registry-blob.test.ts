// Blob attacks against RegistryClient.fetch: bodies longer or shorter than declared, lying Content-Length,
// broken transfers that must resume into one continuous stream, and hostile redirects.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { BasicCredential, RegistryClient, type CredentialSource } from '../../src/registry/index.js';
import { isCustomsError } from '../../src/errors.js';
import type { Digest, Reference } from '../../src/ref/index.js';
import type { ProgressEvent } from '../../src/oci/index.js';
import {
  certsDirTrusting,
  type HostileServer,
  layerDescriptor,
  makeTlsFixture,
  manifestBytes,
  OCI_MANIFEST,
  recordConnections,
  serveBytes,
  sha256,
  startHostileServer,
  writeEndlessly,
} from './helpers/hostile-server.js';

const PASSWORD = 'blob-test-password-7f3a';
const creds: CredentialSource = { name: 'test', lookup: () => Promise.resolve(new BasicCredential('alice', PASSWORD)) };

let server: HostileServer;
let client: RegistryClient;
let events: ProgressEvent[];

before(async () => {
  server = await startHostileServer();
  events = [];
  client = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 5, onEvent: (e) => events.push(e) });
});
after(async () => {
  await client.close();
  await server.close();
});

function ref(host: string, repository: string): Reference {
  return { registry: host, repository, tag: 'v1' };
}

async function drain(stream: Readable): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of stream) chunks.push(c as Buffer);
    return { bytes: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** Parse `bytes=N-` into N. */
function rangeStart(header: string | string[] | undefined): number {
  const m = /^bytes=([0-9]+)-$/.exec(String(header));
  assert.ok(m !== null, `expected a Range header, got ${String(header)}`);
  return Number(m[1]);
}

describe('blob', () => {
  test('an endless blob body yields at most size + 1 bytes and fails', async () => {
    // Attack: disk/memory exhaustion with an endless body for a small declared blob.
    const desc = { mediaType: 'application/octet-stream', digest: sha256('x') as Digest, size: 1000 };
    const closed = new Promise<void>((resolve) => {
      server.route('GET', `/v2/endless/app/blobs/${desc.digest}`, async (_req, res) => {
        res.writeHead(200);
        res.on('close', () => resolve());
        await writeEndlessly(res);
      });
    });
    const stream = await client.fetch(ref(server.host, 'endless/app'), desc);
    const { bytes, error } = await drain(stream);
    assert.ok(bytes.length <= desc.size + 1, `got ${bytes.length} bytes`);
    assert.ok(isCustomsError(error) && error.code === 'SIZE_MISMATCH', String(error));
    await closed;
  });

  test('a blob body shorter than declared fails the stream', async () => {
    // Attack: truncated content that a careless consumer would commit as complete.
    const blob = randomBytes(4096);
    const desc = layerDescriptor(blob);
    server.route('GET', `/v2/short/app/blobs/${desc.digest}`, (_req, res) => {
      res.writeHead(200); // chunked, no Content-Length: the body just ends early
      res.end(blob.subarray(0, 1000));
    });
    const { error } = await drain(await client.fetch(ref(server.host, 'short/app'), desc));
    assert.ok(isCustomsError(error) && error.code === 'SIZE_MISMATCH', String(error));
  });

  test('a Content-Length different from the descriptor size is refused before streaming', async () => {
    // Attack: lying Content-Length on a 200 (containers/image checks it against the descriptor too).
    const blob = randomBytes(4096);
    const desc = layerDescriptor(blob);
    server.route('GET', `/v2/cl/app/blobs/${desc.digest}`, (_req, res) => serveBytes(res, blob.subarray(0, 4000)));
    await assert.rejects(client.fetch(ref(server.host, 'cl/app'), desc), (err: unknown) => {
      assert.ok(isCustomsError(err) && err.code === 'SIZE_MISMATCH', String(err));
      return true;
    });
  });

  test('a connection reset mid-blob is resumed with Range into one continuous, correct stream', async () => {
    // Robustness (containers/image bodyReader resumes the same way): the consumer must still see byte 0..size.
    const blob = randomBytes(512 * 1024);
    const desc = layerDescriptor(blob);
    events.length = 0;
    server.route('GET', `/v2/resume/app/blobs/${desc.digest}`, (req, res, n) => {
      if (n === 0) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, blob.length / 2), () => res.socket?.destroy());
        return;
      }
      const start = rangeStart(req.headers.range);
      res.writeHead(206, {
        'content-length': String(blob.length - start),
        'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}`,
      });
      res.end(blob.subarray(start));
    });
    const { bytes, error } = await drain(await client.fetch(ref(server.host, 'resume/app'), desc));
    assert.equal(error, undefined);
    assert.equal(sha256(bytes), desc.digest);
    assert.equal(server.requestsTo(`/v2/resume/app/blobs/`).length, 2);
    assert.equal(events.filter((e) => e.type === 'retry').length, 1);
  });

  test('a server that ignores Range and resends the whole blob still yields the correct bytes', async () => {
    // Robustness: RFC 9110 §14.2 lets a server ignore Range; the first N bytes must then be discarded.
    const blob = randomBytes(512 * 1024);
    const desc = layerDescriptor(blob);
    server.route('GET', `/v2/norange/app/blobs/${desc.digest}`, (_req, res, n) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      if (n === 0) res.write(blob.subarray(0, blob.length / 2), () => res.socket?.destroy());
      else res.end(blob);
    });
    const { bytes, error } = await drain(await client.fetch(ref(server.host, 'norange/app'), desc));
    assert.equal(error, undefined);
    assert.equal(bytes.length, blob.length);
    assert.equal(sha256(bytes), desc.digest);
  });

  test('a resumed response whose Content-Range starts elsewhere is refused', async () => {
    // Attack: splice different bytes into the stream by answering a Range request from another offset.
    const blob = randomBytes(64 * 1024);
    const desc = layerDescriptor(blob);
    server.route('GET', `/v2/splice/app/blobs/${desc.digest}`, (_req, res, n) => {
      if (n === 0) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, 1000), () => res.socket?.destroy());
        return;
      }
      res.writeHead(206, { 'content-range': `bytes 0-${blob.length - 1}/${blob.length}` });
      res.end(blob);
    });
    const { error } = await drain(await client.fetch(ref(server.host, 'splice/app'), desc));
    assert.ok(isCustomsError(error) && error.code === 'HTTP_STATUS', String(error));
  });

  test('a redirect to another origin is followed without the Authorization header', async () => {
    // Attack: credential leak to object storage / a third party via redirect (go-containerregistry and
    // containers/image strip Authorization on cross-origin redirects; CVE-2018-1000007 in curl is the classic).
    const storage = await startHostileServer();
    const authed = await startHostileServer();
    const c = new RegistryClient({ credentials: [creds], certsDirs: [], backoffBaseMs: 5 });
    try {
      const blob = randomBytes(2048);
      const desc = layerDescriptor(blob);
      authed.route('GET', /^\/v2\/private\//, (req, res) => {
        if (req.headers.authorization === undefined) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
          return;
        }
        res.writeHead(307, { location: `${storage.origin}/bucket/blob?X-Amz-Signature=abc` }).end();
      });
      storage.route('GET', '/bucket/blob', (_req, res) => serveBytes(res, blob));
      const { bytes, error } = await drain(await c.fetch(ref(authed.host, 'private/app'), desc));
      assert.equal(error, undefined);
      assert.equal(sha256(bytes), desc.digest);
      assert.equal(storage.requests.length, 1);
      assert.equal(storage.requests[0]!.headers.authorization, undefined);
      assert.ok(authed.requestsTo('/v2/private/').some((r) => r.headers.authorization?.startsWith('Basic ') === true));
    } finally {
      await c.close();
      await storage.close();
      await authed.close();
    }
  });

  test('a redirect to 169.254.169.254 is refused without connecting', async () => {
    // Attack: SSRF to the cloud metadata service through a blob redirect (CVE-2026-33540 class).
    const desc = layerDescriptor(Buffer.from('meta'));
    server.route('GET', `/v2/ssrf/app/blobs/${desc.digest}`, (_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' }).end();
    });
    const { hosts, result } = await recordConnections(() => client.fetch(ref(server.host, 'ssrf/app'), desc));
    assert.equal(result.status, 'rejected');
    const err = result.reason as unknown;
    assert.ok(isCustomsError(err) && err.code === 'REDIRECT_REFUSED', String(err));
    assert.ok(!hosts.some((h) => h.includes('169.254')), hosts.join(','));
  });

  test('too many redirects are refused', async () => {
    // Attack: redirect loop to pin the client.
    const desc = layerDescriptor(Buffer.from('loop'));
    server.route('GET', `/v2/loop/app/blobs/${desc.digest}`, (_req, res) => {
      res.writeHead(302, { location: `/v2/loop/app/blobs/${desc.digest}` }).end();
    });
    await assert.rejects(client.fetch(ref(server.host, 'loop/app'), desc), (err: unknown) => {
      assert.ok(isCustomsError(err) && err.code === 'REDIRECT_REFUSED', String(err));
      return true;
    });
    assert.equal(server.requestsTo('/v2/loop/app/').length, 6);
  });

  test('an https registry redirecting a manifest to plain http on another host is refused', async () => {
    // Attack: TLS downgrade by redirect (RFC 9110 §15.4 lets servers redirect anywhere; customs does not follow
    // https → http except to this machine).
    const tls = makeTlsFixture();
    const secure = await startHostileServer({ tls: { key: tls.serverKey, cert: tls.serverCert } });
    const certsDir = certsDirTrusting(secure.host, tls.caCert);
    const c = new RegistryClient({ credentials: [], certsDirs: [certsDir], backoffBaseMs: 5 });
    try {
      const bytes = manifestBytes();
      secure.route('GET', '/v2/tls/app/manifests/v1', (_req, res) =>
        serveBytes(res, bytes, { 'content-type': OCI_MANIFEST }),
      );
      secure.route('GET', '/v2/tls/app/manifests/v2', (_req, res) => {
        res.writeHead(302, { location: 'http://registry.example.com/v2/tls/app/manifests/v2' }).end();
      });
      // The CA from certs.d makes the honest request work, so the refusal below is the downgrade rule alone.
      const ok = await c.manifest({ registry: secure.host, repository: 'tls/app', tag: 'v1' });
      assert.equal(ok.descriptor.digest, sha256(bytes));
      await assert.rejects(c.manifest({ registry: secure.host, repository: 'tls/app', tag: 'v2' }), (err: unknown) => {
        assert.ok(isCustomsError(err) && err.code === 'REDIRECT_REFUSED', String(err));
        assert.ok(err.message.includes('downgrade'), err.message);
        return true;
      });
    } finally {
      await c.close();
      await secure.close();
      rmSync(certsDir, { recursive: true, force: true });
    }
  });
});
