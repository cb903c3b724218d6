// Authentication attacks against RegistryClient: hostile token realms, rejected and missing credentials, and
// a registry that echoes the password back, which must never reach a message, stack, JSON or event.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { BasicCredential, RegistryClient, type CredentialSource } from '../../src/registry/index.js';
import { isCustomsError, type CustomsError } from '../../src/errors.js';
import type { Digest, Reference } from '../../src/ref/index.js';
import type { ProgressEvent } from '../../src/oci/index.js';
import {
  OCI_MANIFEST,
  manifestBytes,
  recordConnections,
  serveBytes,
  sha256,
  startHostileServer,
  type HostileServer,
} from './helpers/hostile-server.js';

const PASSWORD = 'correct-horse-battery-staple-91';
const USER = 'alice';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const creds: CredentialSource = { name: 'test', lookup: () => Promise.resolve(new BasicCredential(USER, PASSWORD)) };

function ref(server: HostileServer, repository: string, tag = 'v1'): Reference {
  return { registry: server.host, repository, tag };
}

async function withServer(fn: (server: HostileServer) => Promise<void>): Promise<void> {
  const server = await startHostileServer();
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

async function codeOf(p: Promise<unknown>): Promise<{ code: string; err: CustomsError }> {
  try {
    await p;
  } catch (err) {
    assert.ok(isCustomsError(err), `expected a CustomsError, got ${String(err)}`);
    return { code: err.code, err };
  }
  assert.fail('expected a rejection');
}

function bearerRegistry(server: HostileServer, realm: string, token = 'tok-123'): void {
  server.route('GET', /^\/v2\//, (req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="test"` }).end();
      return;
    }
    const bytes = manifestBytes();
    serveBytes(res, bytes, { 'content-type': OCI_MANIFEST });
  });
}

describe('auth', () => {
  test('the Bearer flow fetches one token per scope and reuses it', async () => {
    // Baseline (distribution token.md): challenge → token → retry with Bearer; cached until expiry.
    await withServer(async (server) => {
      bearerRegistry(server, `${server.origin}/token`);
      server.route('GET', '/token', (_req, res) =>
        serveBytes(res, Buffer.from('{"token":"tok-123","expires_in":300}')),
      );
      const c = new RegistryClient({ credentials: [creds], certsDirs: [] });
      try {
        await c.manifest(ref(server, 'team/app'));
        await c.manifest(ref(server, 'team/app', 'v2'));
        const tokenRequests = server.requestsTo('/token');
        assert.equal(tokenRequests.length, 1);
        assert.ok(tokenRequests[0]!.url.includes('scope=repository%3Ateam%2Fapp%3Apull'), tokenRequests[0]!.url);
        assert.equal(tokenRequests[0]!.headers.authorization, BASIC);
      } finally {
        await c.close();
      }
    });
  });

  test('a token realm on another origin over plain HTTP is refused and receives nothing', async () => {
    // Attack: credential theft via a cleartext cross-origin realm (credential-realm-cleartext peer test).
    await withServer(async (server) => {
      await withServer(async (realm) => {
        bearerRegistry(server, `${realm.origin}/token`);
        const c = new RegistryClient({ credentials: [creds], certsDirs: [] });
        try {
          const { code } = await codeOf(c.manifest(ref(server, 'team/app')));
          assert.equal(code, 'TOKEN_REALM_REFUSED');
          assert.equal(realm.requests.length, 0);
          assert.equal(realm.connections, 0);
        } finally {
          await c.close();
        }
      });
    });
  });

  test('a token realm at 169.254.169.254 is refused before any connection', async () => {
    // Attack: CVE-2026-33540, token-realm SSRF to the cloud metadata service.
    await withServer(async (server) => {
      bearerRegistry(server, 'http://169.254.169.254/latest/meta-data/');
      const c = new RegistryClient({ credentials: [], certsDirs: [] });
      try {
        const { hosts, result } = await recordConnections(() => c.manifest(ref(server, 'team/app')));
        assert.equal(result.status, 'rejected');
        const err = result.reason as unknown;
        assert.ok(isCustomsError(err) && err.code === 'TOKEN_REALM_REFUSED', String(err));
        assert.ok(hosts.length > 0, 'the registry itself was connected to');
        assert.ok(!hosts.some((h) => h.includes('169.254')), hosts.join(','));
      } finally {
        await c.close();
      }
    });
  });

  test('401 without credentials is UNAUTHORIZED with a customs login hint', async () => {
    // Usability of a security failure: say what to do (docker/podman print the same advice).
    await withServer(async (server) => {
      server.route('GET', /^\/v2\/private\//, (_req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      });
      const c = new RegistryClient({ credentials: [], certsDirs: [] });
      try {
        const { code, err } = await codeOf(c.manifest(ref(server, 'private/app')));
        assert.equal(code, 'UNAUTHORIZED');
        assert.equal(err.hint, `run: customs login ${server.host}`);
      } finally {
        await c.close();
      }
    });
  });

  test('rejected credentials are UNAUTHORIZED naming the user, never the password', async () => {
    // Attack surface: the error path that handles the password most directly.
    await withServer(async (server) => {
      server.route('GET', /^\/v2\/private\//, (_req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      });
      const c = new RegistryClient({ credentials: [creds], certsDirs: [] });
      try {
        const { code, err } = await codeOf(c.manifest(ref(server, 'private/app')));
        assert.equal(code, 'UNAUTHORIZED');
        assert.ok(err.message.includes(`credentials for ${server.host} were rejected`), err.message);
        assert.ok(err.message.includes(USER), err.message);
        assert.ok(!err.message.includes(PASSWORD));
        assert.equal(server.requestsTo('/v2/private/').length, 2);
      } finally {
        await c.close();
      }
    });
  });

  test('403 is UNAUTHORIZED (denied)', async () => {
    // Peer behaviour: distribution answers DENIED for a repository the account may not pull.
    await withServer(async (server) => {
      server.route('GET', /^\/v2\/denied\//, (_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}');
      });
      const c = new RegistryClient({ credentials: [], certsDirs: [] });
      try {
        const { code, err } = await codeOf(c.manifest(ref(server, 'denied/app')));
        assert.equal(code, 'UNAUTHORIZED');
        assert.ok(err.message.includes('DENIED: requested access'), err.message);
      } finally {
        await c.close();
      }
    });
  });

  test('the password never appears in any thrown error or event, even when the registry echoes it', async () => {
    // Attack: a hostile registry reflects the credentials it received into error bodies, redirect targets and
    // realms, hoping they reach logs or --json output (credential-leak-in-errors peer test).
    await withServer(async (server) => {
      const echo = (auth: string | undefined): string =>
        JSON.stringify({ errors: [{ code: 'DENIED', message: `you sent ${auth ?? ''} i.e. ${PASSWORD}` }] });
      const needAuth = (req: IncomingMessage, res: ServerResponse): boolean => {
        if (req.headers.authorization !== undefined) return false;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
        return true;
      };
      server.route('GET', /^\/v2\/leak\/reject\//, (req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="x"', 'content-type': 'application/json' });
        res.end(echo(req.headers.authorization));
      });
      server.route('GET', /^\/v2\/leak\/notfound\//, (req, res) => {
        if (needAuth(req, res)) return;
        res.writeHead(404, { 'content-type': 'application/json' }).end(echo(req.headers.authorization));
      });
      server.route('GET', /^\/v2\/leak\/error\//, (req, res) => {
        if (needAuth(req, res)) return;
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${PASSWORD} ${req.headers.authorization ?? ''}`);
      });
      server.route('GET', /^\/v2\/leak\/redirect\//, (req, res) => {
        if (needAuth(req, res)) return;
        res.writeHead(302, { location: `http://169.254.169.254/${PASSWORD}?password=${PASSWORD}` }).end();
      });
      server.route('GET', /^\/v2\/leak\/realm\//, (_req, res) => {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://example.com/${PASSWORD}",service="x"` }).end();
      });
      server.route('GET', /^\/v2\/leak\/digest\//, (req, res) => {
        if (needAuth(req, res)) return;
        serveBytes(res, manifestBytes({ annotations: { pw: PASSWORD } }), { 'content-type': OCI_MANIFEST });
      });
      server.route('GET', /^\/v2\/leak\/stall\//, (req, res) => {
        if (needAuth(req, res)) return;
        // never answers
      });
      const events: ProgressEvent[] = [];
      const c = new RegistryClient({
        credentials: [creds],
        certsDirs: [],
        backoffBaseMs: 1,
        idleTimeoutMs: 300,
        onEvent: (e) => events.push(e),
      });
      const pinned = sha256('other') as Digest;
      const attempts: Promise<unknown>[] = [
        c.manifest(ref(server, 'leak/reject')),
        c.manifest(ref(server, 'leak/notfound')),
        c.manifest(ref(server, 'leak/error')),
        c.manifest(ref(server, 'leak/redirect')),
        c.manifest(ref(server, 'leak/realm')),
        c.manifest({ registry: server.host, repository: 'leak/digest', digest: pinned }),
        c.manifest(ref(server, 'leak/stall')),
        c.checkLogin(server.host, new BasicCredential(USER, PASSWORD)).then(() => c.ping(server.host)),
      ];
      try {
        const results = await Promise.allSettled(attempts);
        const codes: string[] = [];
        for (const r of results) {
          if (r.status === 'fulfilled') continue;
          const err = r.reason as Error;
          codes.push(isCustomsError(err) ? err.code : String(err));
          for (const text of [err.message, err.stack ?? '', JSON.stringify(err), inspect(err, { depth: 5 })]) {
            assert.ok(!text.includes(PASSWORD), `password leaked: ${text}`);
            assert.ok(!text.includes(BASIC.slice(6)), `basic header leaked: ${text}`);
          }
        }
        assert.deepEqual(codes.slice(0, 7), [
          'UNAUTHORIZED',
          'NOT_FOUND',
          'HTTP_STATUS',
          'REDIRECT_REFUSED',
          'TOKEN_REALM_REFUSED',
          'DIGEST_MISMATCH',
          'TIMEOUT',
        ]);
        assert.ok(!JSON.stringify(events).includes(PASSWORD));
      } finally {
        await c.close();
      }
    });
  });
});
