// Attack: a host the registry redirects to (object storage, a presigned URL, anything a redirect names) acting as
// the registry: its 401 picking the token realm that gets the user's password, its echo of the password into a
// resumed transfer's headers, a remote registry redirecting to services on 127.0.0.1 (SSRF, CVE-2026-33540
// class), and a push upload redirected to another origin.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { Readable } from 'node:stream';
import { BasicCredential, RegistryClient, checkRedirect, type CredentialSource } from '../../src/registry/index.js';
import { isCustomsError } from '../../src/errors.js';
import type { Descriptor } from '../../src/oci/index.js';
import type { Digest, Reference } from '../../src/ref/index.js';
import { serveBytes, sha256, startHostileServer, type HostileServer } from './helpers/hostile-server.js';

const PASSWORD = 'redirect-hop-password-5e1c9';
const creds: CredentialSource = { name: 'test', lookup: () => Promise.resolve(new BasicCredential('alice', PASSWORD)) };

function blobDesc(bytes: Uint8Array): Descriptor {
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(bytes) as Digest, size: bytes.length };
}

function ref(server: HostileServer, repository: string): Reference {
  return { registry: server.host, repository, tag: 'v1' };
}

async function drain(stream: Readable): Promise<unknown> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    assert.ok(bytes >= 0);
    return undefined;
  } catch (err) {
    return err;
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return assert.fail('expected a rejection');
}

async function withServers(n: number, fn: (...servers: HostileServer[]) => Promise<void>): Promise<void> {
  const servers = await Promise.all(Array.from({ length: n }, () => startHostileServer()));
  try {
    await fn(...servers);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

describe('redirect hops', () => {
  test('a 401 from a redirect target never starts the auth flow: its token realm gets no connection', async () => {
    await withServers(3, async (registry, storage, realm) => {
      const blob = randomBytes(1024);
      const desc = blobDesc(blob);
      registry.route('GET', /^\/v2\/app\/blobs\//, (_req, res) => {
        res.writeHead(307, { location: `${storage.origin}/bucket/blob` }).end();
      });
      // The storage host names an HTTPS realm of its choosing: checkTokenRealm would let credentials go there.
      storage.route('GET', '/bucket/blob', (_req, res) => {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="https://localhost:${realm.port}/token"` }).end();
      });
      const c = new RegistryClient({ credentials: [creds], certsDirs: [], backoffBaseMs: 5 });
      try {
        const err = await rejection(c.fetch(ref(registry, 'app'), desc));
        assert.ok(isCustomsError(err) && err.code === 'UNAUTHORIZED', String(err));
        assert.equal(realm.connections, 0, 'a connection to the redirect target’s realm was made');
        assert.ok(storage.requests.every((r) => r.headers.authorization === undefined));
        assert.ok(!inspect(err, { depth: 10 }).includes(PASSWORD));
      } finally {
        await c.close();
      }
    });
  });

  test('a password echoed into a resumed transfer’s Content-Range is scrubbed from the error', async () => {
    await withServers(1, async (server) => {
      const blob = randomBytes(64 * 1024);
      const desc = blobDesc(blob);
      server.route('GET', `/v2/echo/app/blobs/${desc.digest}`, (req, res, n) => {
        if (req.headers.authorization === undefined) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
          return;
        }
        const seen = Buffer.from(req.headers.authorization.slice('Basic '.length), 'base64').toString('utf8');
        if (n === 1) {
          res.writeHead(200, { 'content-length': String(blob.length) });
          res.write(blob.subarray(0, 1000), () => res.socket?.destroy());
          return;
        }
        res.writeHead(206, { 'content-range': `bytes ${seen}` }).end();
      });
      const c = new RegistryClient({ credentials: [creds], certsDirs: [], backoffBaseMs: 5 });
      try {
        const err = await drain(await c.fetch(ref(server, 'echo/app'), desc));
        assert.ok(isCustomsError(err) && err.code === 'HTTP_STATUS', String(err));
        const shown = `${err.message}\n${String(err.stack)}\n${JSON.stringify(err.details)}\n${inspect(err)}`;
        assert.ok(!shown.includes(PASSWORD), shown);
      } finally {
        await c.close();
      }
    });
  });

  test('a remote host may not redirect to this machine', () => {
    const remote = new URL('https://registry.example.com/v2/app/blobs/x');
    for (const loc of ['http://127.0.0.1:2375/containers/json', 'https://localhost/admin', 'http://[::1]:8080/']) {
      assert.throws(
        () => checkRedirect(loc, remote, 1),
        (e: unknown) => isCustomsError(e) && e.code === 'REDIRECT_REFUSED',
      );
    }
    // A local registry may still use local storage.
    assert.equal(checkRedirect('http://127.0.0.1:9000/x', new URL('http://127.0.0.1:5000/v2/'), 1).port, '9000');
  });

  test('a push upload redirected to another origin is refused and the other origin receives nothing', async () => {
    await withServers(2, async (registry, elsewhere) => {
      const blob = randomBytes(512);
      const desc = blobDesc(blob);
      registry.route('POST', '/v2/push/app/blobs/uploads/', (_req, res) => {
        res.writeHead(202, { location: '/v2/push/app/blobs/uploads/u1' }).end();
      });
      registry.route('PUT', /^\/v2\/push\/app\/blobs\/uploads\/u1/, (_req, res) => {
        res.writeHead(307, { location: `${elsewhere.origin}/steal` }).end();
      });
      elsewhere.route('PUT', '/steal', (_req, res) => serveBytes(res, Buffer.from('')));
      const c = new RegistryClient({ credentials: [], certsDirs: [], backoffBaseMs: 5 });
      try {
        const err = await rejection(c.putBlob(ref(registry, 'push/app'), desc, blob));
        assert.ok(isCustomsError(err) && err.code === 'REDIRECT_REFUSED', String(err));
        assert.equal(elsewhere.requests.length, 0);
      } finally {
        await c.close();
      }
    });
  });
});
