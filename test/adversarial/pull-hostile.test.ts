// Hostile registries against the whole pull (issue 3 §6): each lie is served by a real node:http server on
// 127.0.0.1; after every refused pull the store listing is byte-identical to before and quarantine is empty.
// Attacks recreated: tampered blobs/manifests (titanous "Docker Image Insecurity"), CVE-2021-41190 manifest
// confusion, schema 1 downgrade, credential leaks through redirects and token realms (distribution
// CVE-2026-33540), resource exhaustion (endless bodies, stalled servers).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import { CustomsError } from '../../src/errors.js';
import { createContext, pull } from '../../src/ops/index.js';
import { startHostileServer, writeEndlessly, sha256, type HostileServer } from './helpers/hostile-server.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const PASSWORD = 'hostile-test-password-1234';

interface Image {
  readonly config: Buffer;
  readonly layer: Buffer;
  readonly manifest: Buffer;
  readonly digest: string;
}

function makeImage(seed: string): Image {
  const layer = gzipSync(Buffer.from(`layer ${seed}`.padEnd(2048, '.')));
  const diffId = sha256(gunzipLike(seed));
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { config, layer, manifest, digest: sha256(manifest) };
}

function gunzipLike(seed: string): Buffer {
  return Buffer.from(`layer ${seed}`.padEnd(2048, '.'));
}

/** Serve `img` honestly under /v2/repo/, then let `tweak` override routes. */
function serveImage(server: HostileServer, img: Image): void {
  server.route('GET', /^\/v2\/repo\/manifests\//, (_req, res) => {
    res.writeHead(200, {
      'content-type': OCI_MANIFEST,
      'content-length': String(img.manifest.length),
      'docker-content-digest': img.digest,
    });
    res.end(img.manifest);
  });
  server.route('GET', `/v2/repo/blobs/${sha256(img.config)}`, (_req, res) => {
    res.writeHead(200, { 'content-length': String(img.config.length) });
    res.end(img.config);
  });
  server.route('GET', `/v2/repo/blobs/${sha256(img.layer)}`, (_req, res) => {
    res.writeHead(200, { 'content-length': String(img.layer.length) });
    res.end(img.layer);
  });
}

async function listing(root: string): Promise<string> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const n of (await readdir(d).catch(() => [] as string[])).sort()) {
      const p = join(d, n);
      const s = await stat(p);
      if (s.isDirectory()) await walk(p);
      else if (!n.startsWith('lock')) out.push(`${relative(root, p)} ${s.size}`);
    }
  };
  await walk(root);
  return `${out.join('\n')}\n${await readFile(join(root, 'index.json'), 'utf8')}`;
}

let dir: string;
let env: Record<string, string>;
let honest: HostileServer;
const good = makeImage('good');

async function ctx(idleTimeoutMs = 30_000) {
  return createContext({ env, idleTimeoutMs });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'customs-hostile-'));
  env = {
    HOME: join(dir, 'home'),
    CUSTOMS_CONFIG: join(dir, 'config'),
    CUSTOMS_STORE: join(dir, 'store'),
    PATH: process.env.PATH ?? '',
  };
  // Pull needs a policy (issue 7); these tests are about hostile registries, so accept any image.
  await mkdir(join(dir, 'config'), { recursive: true });
  await writeFile(join(dir, 'config', 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}\n');
  honest = await startHostileServer();
  serveImage(honest, good);
  // The store starts with one good image, so "unchanged" compares a real layout.
  await pull(await ctx(), `${honest.host}/repo:good`);
});

after(async () => {
  await honest.close();
});

/** Run a pull against a server set up by `setup`, expect `code`, and check the store is untouched. */
async function refused(
  code: string,
  setup: (server: HostileServer, img: Image) => void | Promise<void>,
  options: { ref?: (server: HostileServer, img: Image) => string; idleTimeoutMs?: number; message?: RegExp } = {},
): Promise<HostileServer> {
  const server = await startHostileServer();
  const img = makeImage(`bad-${Math.random()}`);
  serveImage(server, img);
  await setup(server, img);
  const before = await listing(env.CUSTOMS_STORE!);
  try {
    const ref = options.ref?.(server, img) ?? `${server.host}/repo:bad`;
    const err = await pull(await ctx(options.idleTimeoutMs), ref).then(
      () => assert.fail('the pull should have been refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CustomsError, `expected CustomsError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (options.message) assert.match(err.message, options.message);
    assert.ok(!JSON.stringify(err.toJSON()).includes(PASSWORD));
    assert.equal(await listing(env.CUSTOMS_STORE!), before, 'store listing changed');
    const quarantine = await readdir(join(env.CUSTOMS_STORE!, '.customs', 'quarantine')).catch(() => []);
    assert.deepEqual(quarantine, []);
  } finally {
    await server.close();
  }
  return server;
}

function blobRoute(server: HostileServer, img: Image, handler: (res: ServerResponse) => void | Promise<void>): void {
  server.route('GET', `/v2/repo/blobs/${sha256(img.layer)}`, (_req, res) => handler(res));
}

describe('a refused pull leaves the store as it was', () => {
  test('blob digest mismatch (tampered layer)', async () => {
    await refused(
      'DIGEST_MISMATCH',
      (s, img) =>
        blobRoute(s, img, (res) => {
          const evil = Buffer.from(img.layer);
          evil[10] = evil[10]! ^ 1;
          res.writeHead(200, { 'content-length': String(evil.length) });
          res.end(evil);
        }),
      { message: /expected sha256:/ },
    );
  });

  test('manifest digest mismatch when pulling by digest', async () => {
    await refused('DIGEST_MISMATCH', () => undefined, { ref: (s) => `${s.host}/repo@${sha256('something else')}` });
  });

  test('Docker-Content-Digest header that disagrees with the bytes', async () => {
    await refused('DIGEST_MISMATCH', (s, img) =>
      s.route('GET', /^\/v2\/repo\/manifests\//, (_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256('lie') });
        res.end(img.manifest);
      }),
    );
  });

  test('endless blob body (never read past size + 1)', async () => {
    let written = 0;
    await refused('SIZE_MISMATCH', (s, img) =>
      blobRoute(s, img, async (res) => {
        res.writeHead(200);
        written = await writeEndlessly(res);
      }),
    );
    assert.ok(written < 64 * 1024 * 1024, `server wrote ${written} bytes before the client hung up`);
  });

  test('shorter body than declared', async () => {
    await refused('SIZE_MISMATCH', (s, img) =>
      blobRoute(s, img, (res) => {
        res.writeHead(200);
        res.end(img.layer.subarray(0, img.layer.length - 5));
      }),
    );
  });

  test('lying Content-Length', async () => {
    await refused('SIZE_MISMATCH', (s, img) =>
      blobRoute(s, img, (res) => {
        res.writeHead(200, { 'content-length': String(img.layer.length + 10) });
        res.end(Buffer.concat([img.layer, Buffer.alloc(10)]));
      }),
    );
  });

  test('manifest over 4 MiB', async () => {
    await refused('TOO_LARGE', (s) =>
      s.route('GET', /^\/v2\/repo\/manifests\//, async (_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST });
        await writeEndlessly(res, Buffer.alloc(64 * 1024, 0x20));
      }),
    );
  });

  for (const [what, body, code] of [
    ['invalid JSON', '{"schemaVersion": 2,', 'JSON_INVALID'],
    [
      'duplicate-key JSON',
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","mediaType":"${OCI_MANIFEST}","config":{},"layers":[]}`,
      'JSON_INVALID',
    ],
    ['schema 1 body', '{"schemaVersion":1,"name":"repo","tag":"bad","fsLayers":[]}', 'SCHEMA1_REFUSED'],
    [
      'layers and manifests together (CVE-2021-41190)',
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('x'), size: 1 },
        layers: [],
        manifests: [],
      }),
      'MANIFEST_INVALID',
    ],
  ] as const) {
    test(`manifest: ${what}`, async () => {
      await refused(code, (s) =>
        s.route('GET', /^\/v2\/repo\/manifests\//, (_req, res) => {
          res.writeHead(200, { 'content-type': OCI_MANIFEST });
          res.end(body);
        }),
      );
    });
  }

  test('media type mismatch between Content-Type and body', async () => {
    await refused('MEDIA_TYPE_MISMATCH', (s, img) =>
      s.route('GET', /^\/v2\/repo\/manifests\//, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' });
        res.end(img.manifest);
      }),
    );
  });

  test('schema 1 by Content-Type', async () => {
    await refused('SCHEMA1_REFUSED', (s, img) =>
      s.route('GET', /^\/v2\/repo\/manifests\//, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
        res.end(img.manifest);
      }),
    );
  });

  test('config whose diff_ids count disagrees with the layers', async () => {
    await refused('CONFIG_INVALID_IMAGE', (s, img) => {
      const config = Buffer.from(
        JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
      );
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: sha256(config),
            size: config.length,
          },
          layers: [
            {
              mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
              digest: sha256(img.layer),
              size: img.layer.length,
            },
          ],
        }),
      );
      s.route('GET', /^\/v2\/repo\/manifests\//, (_req, res) => {
        res.writeHead(200, { 'content-type': OCI_MANIFEST });
        res.end(manifest);
      });
      s.route('GET', `/v2/repo/blobs/${sha256(config)}`, (_req, res) => void res.end(config));
    });
  });

  test('404 names the repository', async () => {
    await refused(
      'NOT_FOUND',
      (s) => s.route('GET', /^\/v2\/repo\/manifests\//, (_req, res) => void res.writeHead(404).end()),
      {
        message: /repo/,
      },
    );
  });

  test('401 without credentials hints at customs login', async () => {
    const server = await refused('UNAUTHORIZED', (s) =>
      s.route(
        'GET',
        /^\/v2\//,
        (_req, res) => void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end(),
      ),
    );
    assert.ok(server.requests.length > 0);
  });

  test('stalled server hits the idle timeout', async () => {
    await refused(
      'TIMEOUT',
      (s, img) => blobRoute(s, img, (res) => void res.writeHead(200, { 'content-length': String(img.layer.length) })),
      {
        idleTimeoutMs: 400,
      },
    );
  });

  test('token realm at 169.254.169.254 is refused before any connection (CVE-2026-33540)', async () => {
    await refused('TOKEN_REALM_REFUSED', (s) =>
      s.route(
        'GET',
        /^\/v2\//,
        (_req, res) =>
          void res
            .writeHead(401, {
              'www-authenticate': 'Bearer realm="http://169.254.169.254/latest/meta-data",service="x"',
            })
            .end(),
      ),
    );
  });

  test('token realm on another host over plain HTTP gets nothing', async () => {
    const realm = await startHostileServer();
    try {
      await refused('TOKEN_REALM_REFUSED', async (s) => {
        await saveCreds(s.host);
        s.route('GET', /^\/v2\//, (req, res) => {
          if (req.headers.authorization?.startsWith('Bearer ')) return void res.writeHead(200).end('{}');
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.origin}/token",service="x"` }).end();
        });
      });
      assert.equal(realm.requests.length, 0, 'the foreign realm must receive nothing');
    } finally {
      await realm.close();
      await clearCreds();
    }
  });
});

async function saveCreds(host: string): Promise<void> {
  await mkdir(env.CUSTOMS_CONFIG!, { recursive: true });
  const auths = { [host]: { auth: Buffer.from(`user:${PASSWORD}`).toString('base64') } };
  await writeFile(join(env.CUSTOMS_CONFIG!, 'auth.json'), JSON.stringify({ auths }), { mode: 0o600 });
}

async function clearCreds(): Promise<void> {
  await writeFile(join(env.CUSTOMS_CONFIG!, 'auth.json'), '{"auths":{}}', { mode: 0o600 });
}

describe('redirects', () => {
  test('a blob redirect to another origin is followed without credentials', async () => {
    const storage = await startHostileServer();
    const server = await startHostileServer();
    const img = makeImage('redirect');
    serveImage(server, img);
    server.route(
      'GET',
      `/v2/repo/blobs/${sha256(img.layer)}`,
      (_req, res) => void res.writeHead(307, { location: `${storage.origin}/bucket/layer?X-Amz-Signature=abc` }).end(),
    );
    storage.route('GET', /^\/bucket\//, (_req, res) => {
      res.writeHead(200, { 'content-length': String(img.layer.length) });
      res.end(img.layer);
    });
    // Basic auth on the registry, so the client has a credential it could leak.
    await saveCreds(server.host);
    server.route('GET', '/v2/', (req, res) => {
      if (req.headers.authorization === undefined)
        return void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      res.writeHead(200).end('{}');
    });
    try {
      const result = await pull(await ctx(), `${server.host}/repo:redirect`);
      assert.equal(result.descriptor.digest, img.digest);
      assert.ok(storage.requests.length > 0, 'the storage origin served the blob');
      for (const r of storage.requests)
        assert.equal(r.headers.authorization, undefined, 'credentials followed the redirect');
    } finally {
      await clearCreds();
      await server.close();
      await storage.close();
    }
  });
});

describe('a store the refused pull created', () => {
  test('a refused pull into a store that did not exist leaves no store behind', async () => {
    // "Bad input leaves the store as it was": for a store that was not there, as it was means absent, not an
    // empty layout a later command mistakes for a real store.
    const server = await startHostileServer();
    const img = makeImage('fresh');
    serveImage(server, img);
    server.route('GET', `/v2/repo/blobs/${sha256(img.layer)}`, (_req, res) => {
      res.writeHead(200, { 'content-length': String(img.layer.length) });
      res.end(Buffer.alloc(img.layer.length, 0x41)); // wrong bytes
    });
    const fresh = join(dir, 'fresh-store');
    try {
      const c = await createContext({ env: { ...env, CUSTOMS_STORE: fresh } });
      await assert.rejects(pull(c, `${server.host}/repo:fresh`), (err: unknown) => {
        assert.ok(err instanceof CustomsError && err.code === 'DIGEST_MISMATCH', String(err));
        return true;
      });
      await assert.rejects(stat(fresh), /ENOENT/);
      // The same pull into the existing store leaves that store in place (and unchanged, as above).
      const before = await listing(join(dir, 'store'));
      await assert.rejects(pull(await ctx(), `${server.host}/repo:fresh`));
      assert.equal(await listing(join(dir, 'store')), before);
    } finally {
      await server.close();
    }
  });
});
