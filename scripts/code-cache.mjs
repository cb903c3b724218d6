/**
 * Make dist/bundle/cli.js.cache, the V8 code cache src/cli/launcher.ts compiles the CLI with (run by
 * scripts/bundle.mjs).
 *
 * The cache holds what V8 compiled while the CLI ran once, so it is made by running the command whose start-up
 * matters most: a cold-store `customs pull` of a small image (manifest, config, a 3 MiB layer that crosses
 * several bulk buffers) from a throw-away registry on 127.0.0.1, under a policy file, with a temporary HOME,
 * config and store. The registry is a node:http server in this process; nothing leaves the machine. The launcher
 * writes the cache when it exits, because CUSTOMS_BUILD_CODE_CACHE=1.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';

const bundleDir = 'dist/bundle';
const TIMEOUT_MS = 60_000;

/** @param {Uint8Array} bytes */
const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const layer = randomBytes(3 * 1024 * 1024);
const config = Buffer.from(
  JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [sha256(Buffer.from('training layer'))] },
  }),
);
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  }),
);
const blobs = new Map([
  [sha256(config), config],
  [sha256(layer), layer],
]);

const server = createServer((req, res) => {
  /** @type {(status: number, type: string, body: Buffer) => void} */
  const send = (status, type, body) => {
    res.writeHead(status, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  };
  const url = req.url ?? '';
  if (url === '/v2/') return send(200, 'application/json', Buffer.from('{}'));
  if (url === '/v2/training/manifests/latest') return send(200, 'application/vnd.oci.image.manifest.v1+json', manifest);
  const blob = blobs.get(url.replace('/v2/training/blobs/', ''));
  if (blob !== undefined) return send(200, 'application/octet-stream', blob);
  return send(404, 'application/json', Buffer.from('{"errors":[{"code":"NOT_FOUND"}]}'));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('code cache: no TCP address');
const { port } = address;

const work = await mkdtemp(join(tmpdir(), 'customs-code-cache-'));
try {
  const policy = join(work, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const child = spawn(
    process.execPath,
    [
      join(bundleDir, 'customs.js'),
      'pull',
      `127.0.0.1:${port}/training:latest`,
      '--store',
      join(work, 'store'),
      '--policy',
      policy,
      '-q',
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: work,
        CUSTOMS_CONFIG: join(work, 'config'),
        CUSTOMS_BUILD_CODE_CACHE: '1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: TIMEOUT_MS,
    },
  );
  /** @type {number | string | null} */
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, signal) => resolve(c ?? signal));
  });
  if (code !== 0) throw new Error(`code cache: the training pull exited with ${code}`);
  await stat(join(bundleDir, 'cli.js.cache')); // the launcher wrote it, or this throws
} finally {
  server.close();
  await rm(work, { recursive: true, force: true });
}
