// customs export / customs load against real peers (issue 4): a busybox image pulled from Debian's
// docker-registry is exported as docker-archive and oci-archive; skopeo reads both; what skopeo writes as
// docker-archive loads into customs; export → load keeps every digest; and real engines (dockerd 20.10,
// podman 4.3, from Debian, installed with scripts/install-peers.sh --engines) load and run the exported image.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pushImages, requirePeer, run, runOk, startRegistry, SCRIPTS_DIR, type Registry } from './helpers/registry.js';
import type { PushedImage } from './helpers/images.js';
import { listing, sandbox, type Sandbox } from './helpers/customs.js';

let reg: Registry;
let images: PushedImage[];
let sb: Sandbox;

function image(name: string): PushedImage {
  const i = images.find((x) => x.name === name);
  assert.ok(i, `image ${name} was not pushed`);
  return i;
}

/** customs pull; adds --insecure-policy when a policy gate (exit 7) asks for a policy file. */
async function pull(s: Sandbox, ref: string): Promise<void> {
  let r = await s.customs(['pull', ref]);
  if (r.code === 7) r = await s.customs(['pull', '--insecure-policy', ref]);
  assert.equal(r.code, 0, r.stderr);
}

async function customsJson<T>(s: Sandbox, args: string[]): Promise<T> {
  const r = await s.customs([...args, '--json']);
  assert.equal(r.code, 0, `customs ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface LoadJson {
  format: string;
  images: { names: string[]; descriptor: { digest: string; mediaType: string } }[];
}

before(async () => {
  requirePeer('docker-registry');
  requirePeer('skopeo');
  reg = await startRegistry();
  images = await pushImages(reg, ['busybox']);
  sb = await sandbox();
  await pull(sb, image('busybox:latest').reference);
  await pull(sb, image('busybox:latest-v2s2').reference);
});

after(async () => {
  await reg.stop();
  await rm(sb.dir, { recursive: true, force: true });
});

describe('customs export / load with skopeo', () => {
  test('skopeo reads both archive formats customs exports, with the same image', async () => {
    const busybox = image('busybox:latest');
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const file = join(sb.dir, `busybox.${format}.tar`);
      const r = await sb.customs(['export', busybox.reference, '-o', file, '--format', format]);
      assert.equal(r.code, 0, r.stderr);
      const inspected = JSON.parse((await runOk('skopeo', ['inspect', `${format}:${file}`])).stdout) as {
        Layers: string[];
        Architecture: string;
      };
      assert.equal(inspected.Architecture.length > 0, true);
      assert.equal(inspected.Layers.length, 1);
      if (format === 'oci-archive') {
        const raw = (await runOk('skopeo', ['inspect', '--raw', `oci-archive:${file}`])).stdout;
        const pulled = (await sb.customs(['inspect', '--raw', busybox.reference])).stdout;
        assert.equal(raw.trim(), pulled.trim(), 'the oci-archive holds the pulled manifest byte for byte');
      }
    }
  });

  test('export writes the same bytes twice (deterministic tar)', async () => {
    const busybox = image('busybox:latest');
    for (const format of ['docker-archive', 'oci-archive'] as const) {
      const a = join(sb.dir, `a.${format}.tar`);
      const b = join(sb.dir, `b.${format}.tar`);
      assert.equal((await sb.customs(['export', busybox.reference, '-o', a, '--format', format])).code, 0);
      assert.equal((await sb.customs(['export', busybox.reference, '-o', b, '--format', format])).code, 0);
      assert.deepEqual(await readFile(a), await readFile(b));
    }
  });

  test('export → load into a fresh store keeps every digest, for OCI and Docker schema 2 images', async () => {
    for (const name of ['busybox:latest', 'busybox:latest-v2s2']) {
      const pushed = image(name);
      for (const format of ['docker-archive', 'oci-archive'] as const) {
        const file = join(sb.dir, `rt-${pushed.tag}.${format}.tar`);
        assert.equal((await sb.customs(['export', pushed.reference, '-o', file, '--format', format])).code, 0);
        const fresh = await sandbox();
        const loaded = await customsJson<LoadJson>(fresh, ['load', '-i', file]);
        assert.equal(loaded.images[0]?.descriptor.digest, pushed.digest, `${name} via ${format}`);
        assert.deepEqual(loaded.images[0]?.names, [pushed.reference]);
        const before = await customsJson<unknown>(sb, ['inspect', pushed.reference]);
        const after = await customsJson<unknown>(fresh, ['inspect', pushed.reference]);
        assert.deepEqual(after, before);
        const fsck = await fresh.customs(['fsck']);
        assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
        await rm(fresh.dir, { recursive: true, force: true });
      }
    }
  });

  test('customs loads the docker-archive skopeo writes (uncompressed layers checked against diff_ids)', async () => {
    const busybox = image('busybox:latest');
    const file = join(sb.dir, 'skopeo.docker-archive.tar');
    await rm(file, { force: true });
    await runOk('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${busybox.reference}`,
      `docker-archive:${file}:${busybox.reference}`,
    ]);
    const fresh = await sandbox();
    const loaded = await customsJson<LoadJson>(fresh, ['load', '-i', file]);
    assert.equal(loaded.format, 'docker-archive');
    assert.deepEqual(loaded.images[0]?.names, [busybox.reference]);
    const inspected = await customsJson<{ config: { digest: string }; layers: { digest: string; diffId: string }[] }>(
      fresh,
      ['inspect', busybox.reference],
    );
    const original = await customsJson<{ config: { digest: string }; layers: { diffId: string }[] }>(sb, [
      'inspect',
      busybox.reference,
    ]);
    assert.equal(inspected.config.digest, original.config.digest, 'the config (image ID) is kept byte for byte');
    assert.deepEqual(
      inspected.layers.map((l) => l.digest),
      original.layers.map((l) => l.diffId),
      'layers are the uncompressed tars named by diff_id',
    );
    const fsck = await fresh.customs(['fsck']);
    assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
    // and what customs loaded from skopeo exports again, readable by skopeo
    const again = join(fresh.dir, 'again.tar');
    assert.equal((await fresh.customs(['export', busybox.reference, '-o', again, '--format', 'oci-archive'])).code, 0);
    await runOk('skopeo', ['inspect', `oci-archive:${again}`]);
    await rm(fresh.dir, { recursive: true, force: true });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Real engines. Started as the lab README describes, with every data dir in a temp dir.

interface Dockerd {
  readonly sock: string;
  docker(args: string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** The client of Debian's docker.io (matches its dockerd), not another docker CLI earlier on PATH. */
const DOCKER_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

async function startDockerd(dir: string): Promise<Dockerd> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const child = spawn(
    'dockerd',
    [
      '--storage-driver',
      'vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--ip-masq=false',
      '--userland-proxy=false',
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      `unix://${sock}`,
      '--containerd-namespace',
      'customs-test',
    ],
    { detached: true, stdio: 'ignore' },
  );
  const docker = (args: string[], timeoutMs = 120_000) =>
    run(DOCKER_CLI, ['-H', `unix://${sock}`, ...args], { timeoutMs });
  for (let i = 0; i < 100; i++) {
    if ((await docker(['info'], 10_000)).code === 0) break;
    await sleep(200);
  }
  return {
    sock,
    docker,
    stop: async () => {
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
        for (let i = 0; i < 50 && child.exitCode === null; i++) await sleep(100);
      }
    },
  };
}

describe('customs export → real docker load / podman load', () => {
  let dockerd: Dockerd | undefined;
  const engineDir = (): string => join(sb.dir, 'engines');

  before(async () => {
    const r = await run('bash', [join(SCRIPTS_DIR, 'install-peers.sh'), '--engines'], { timeoutMs: 600_000 });
    assert.equal(r.code, 0, `install-peers.sh --engines: ${r.stderr}`);
    requirePeer('dockerd');
    requirePeer('podman');
  });

  after(async () => {
    await dockerd?.stop();
    // vfs layers and containerd state of the test engines
    await rm(engineDir(), { recursive: true, force: true }).catch(() => undefined);
  });

  test('docker load reads the docker-archive and runs it; customs loads what docker save writes', async () => {
    const busybox = image('busybox:latest');
    const file = join(sb.dir, 'for-docker.tar');
    assert.equal((await sb.customs(['export', busybox.reference, '-o', file, '--format', 'docker-archive'])).code, 0);
    dockerd = await startDockerd(join(engineDir(), 'docker'));
    const loaded = await dockerd.docker(['load', '-i', file]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, new RegExp(`Loaded image: ${busybox.reference.replace(/[.]/g, '\\.')}`));
    const ran = await dockerd.docker(['run', '--rm', '--network', 'none', busybox.reference, '/bin/busybox', 'true']);
    assert.equal(ran.code, 0, ran.stderr);
    // docker's image ID is the config digest customs exported
    const id = (await dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', busybox.reference])).stdout.trim();
    const original = await customsJson<{ config: { digest: string } }>(sb, ['inspect', busybox.reference]);
    assert.equal(id, original.config.digest);

    // docker save (20.10: legacy layout, uncompressed <id>/layer.tar, short names) → customs load --tag
    const saved = join(sb.dir, 'docker-saved.tar');
    const save = await dockerd.docker(['save', '-o', saved, busybox.reference]);
    assert.equal(save.code, 0, save.stderr);
    const fresh = await sandbox();
    const r = await customsJson<LoadJson>(fresh, ['load', '-i', saved]);
    assert.deepEqual(r.images[0]?.names, [busybox.reference]);
    const reloaded = await customsJson<{ config: { digest: string } }>(fresh, ['inspect', busybox.reference]);
    assert.equal(reloaded.config.digest, original.config.digest);
    await rm(fresh.dir, { recursive: true, force: true });
  });

  test('podman load reads both archive formats and runs the image', async () => {
    const busybox = image('busybox:latest');
    const root = join(engineDir(), 'podman');
    const podman = (args: string[]) =>
      run(
        'podman',
        [
          '--root',
          join(root, 'root'),
          '--runroot',
          join(root, 'run'),
          '--storage-driver',
          'vfs',
          '--cgroup-manager',
          'cgroupfs',
          '--events-backend',
          'file',
          '--runtime',
          'runc',
          ...args,
        ],
        { timeoutMs: 180_000 },
      );
    try {
      for (const format of ['docker-archive', 'oci-archive'] as const) {
        const file = join(sb.dir, `for-podman.${format}.tar`);
        assert.equal((await sb.customs(['export', busybox.reference, '-o', file, '--format', format])).code, 0);
        const loaded = await podman(['load', '-i', file]);
        assert.equal(loaded.code, 0, `${format}: ${loaded.stderr}`);
        assert.match(
          loaded.stdout,
          new RegExp(busybox.reference.replace(/[.]/g, '\\.')),
          `${format}: ${loaded.stdout}`,
        );
        const ran = await podman([
          'run',
          '--rm',
          '--ulimit',
          'nofile=1024:1024',
          '--ulimit',
          'nproc=1024:1024',
          '--network',
          'none',
          busybox.reference,
          '/bin/busybox',
          'true',
        ]);
        assert.equal(ran.code, 0, `${format}: ${ran.stderr}`);
        assert.equal((await podman(['rmi', '-f', busybox.reference])).code, 0);
      }
    } finally {
      await podman(['system', 'reset', '--force']).catch(() => undefined);
    }
  });

  test('the store is unchanged by exporting', async () => {
    const before = await listing(sb.store);
    const file = join(sb.dir, 'unchanged.tar');
    assert.equal(
      (await sb.customs(['export', image('busybox:latest').reference, '-o', file, '--format', 'oci-archive'])).code,
      0,
    );
    assert.equal(await listing(sb.store), before);
  });
});
