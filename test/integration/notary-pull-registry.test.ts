// Issue 7 Notary in pull: Debian's notary-server (scripts/notary-up.sh) holds a tag → digest binding published
// with the real notary client for an image pushed to a real docker-registry; customs pull under a
// customsNotarySigned policy (server + caPath + pinned root) accepts it and refuses a tag bound to another
// digest or a root it was not given.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/repo-root.js';
import { run } from './helpers/run.js';
import { pushImages, requirePeer, runOk, startRegistry, type Registry } from './helpers/registry.js';
import type { PushedImage } from './helpers/images.js';
import { sandbox, type Sandbox } from './helpers/customs.js';

const PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'customs-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'customs-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'customs-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'customs-delegation-pass',
};
const work = mkdtempSync(join(tmpdir(), 'customs-notary-pull-'));
const serverDir = join(work, 'server');
const trustDir = join(work, 'trust');
let url = '';
let reg: Registry;
let busybox: PushedImage;
let zstd: PushedImage;

async function notary(...args: string[]): Promise<void> {
  const r = await run('notary', ['-s', url, '-d', trustDir, '--tlscacert', join(serverDir, 'ca.crt'), ...args], {
    env: { ...process.env, ...PASSPHRASES },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, `notary ${args.join(' ')}: ${r.stderr}${r.stdout}`);
}

async function manifestFile(image: PushedImage, name: string): Promise<string> {
  const res = await fetch(
    `http://${image.reference.split('/')[0] ?? ''}/v2/${image.repository}/manifests/${image.digest}`,
    {
      headers: {
        accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
      },
    },
  );
  assert.equal(res.status, 200);
  const p = join(work, name);
  writeFileSync(p, Buffer.from(await res.arrayBuffer()));
  return p;
}

before(async () => {
  requirePeer('notary');
  requirePeer('skopeo');
  const up = await run('bash', [join(REPO_ROOT, 'scripts', 'notary-up.sh'), serverDir], { timeoutMs: 60_000 });
  assert.equal(up.code, 0, `notary-up.sh failed: ${up.stderr}`);
  url = up.stdout.trim();
  reg = await startRegistry();
  const pushed = await pushImages(reg, ['busybox']);
  const find = (n: string): PushedImage => {
    const i = pushed.find((x) => x.name === n);
    assert.ok(i);
    return i;
  };
  busybox = find('busybox:latest');
  zstd = find('busybox:latest-zstd');
  // The tag `wrong` exists in the registry (busybox's manifest) but Notary binds it to the zstd manifest.
  await runOk('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${busybox.reference}`,
    `docker://${reg.host}/busybox:wrong`,
  ]);
  const gun = `${reg.host}/busybox`;
  await notary('init', gun);
  await notary('add', gun, 'latest', await manifestFile(busybox, 'latest.json'));
  await notary('add', gun, 'wrong', await manifestFile(zstd, 'zstd.json'));
  await notary('publish', gun);
  // A second repository: its root is a valid Notary root, but not this repository's.
  await notary('init', `${reg.host}/other`);
  await notary('publish', `${reg.host}/other`);
});

after(async () => {
  for (const f of ['server.pid', 'signer.pid']) {
    try {
      const pid = Number(readFileSync(join(serverDir, f), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 1) process.kill(pid);
    } catch {
      // already gone
    }
  }
  await reg.stop();
});

function rootOf(gun: string): string {
  return join(trustDir, 'tuf', gun, 'metadata', 'root.json');
}

function notaryPolicy(sb: Sandbox, rootPath: string): string {
  const p = join(sb.dir, 'policy.json');
  writeFileSync(
    p,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          [`${reg.host}/busybox`]: [
            { type: 'customsNotarySigned', rootPath, server: url, caPath: join(serverDir, 'ca.crt') },
          ],
        },
      },
    }),
  );
  return p;
}

test('customs pull accepts an image whose tag Notary binds to its digest under the pinned root', async () => {
  const sb = await sandbox();
  const policy = notaryPolicy(sb, rootOf(`${reg.host}/busybox`));
  const r = await sb.customs(['pull', busybox.reference, '--policy', policy, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { descriptor: { digest: string }; policy: { reasons: string[] } };
  assert.equal(out.descriptor.digest, busybox.digest);
  assert.match(out.policy.reasons.join('\n'), /signed by notary-root:/);
  const v = await sb.customs(['verify', busybox.reference, '--policy', policy]);
  assert.equal(v.code, 0, v.stderr);
});

test('a tag Notary binds to another digest is refused with exit 6 and nothing is tagged', async () => {
  const sb = await sandbox();
  const policy = notaryPolicy(sb, rootOf(`${reg.host}/busybox`));
  const r = await sb.customs(['pull', `${reg.host}/busybox:wrong`, '--policy', policy]);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /signature is for manifest sha256:/);
  const imgs = await sb.customs(['images', '--json']);
  assert.deepEqual(JSON.parse(imgs.stdout), []);
});

test('another repository root pinned in the policy is refused with exit 6', async () => {
  const sb = await sandbox();
  const policy = notaryPolicy(sb, rootOf(`${reg.host}/other`));
  const r = await sb.customs(['pull', busybox.reference, '--policy', policy]);
  assert.equal(r.code, 6, r.stderr);
});

test('a requirement without a server is refused with exit 6, naming the missing server', async () => {
  const sb = await sandbox();
  const p = join(sb.dir, 'policy.json');
  writeFileSync(
    p,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: { [`${reg.host}/busybox`]: [{ type: 'customsNotarySigned', rootPath: rootOf(`${reg.host}/busybox`) }] },
      },
    }),
  );
  const r = await sb.customs(['pull', busybox.reference, '--policy', p]);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /no "server"/);
});

test('trust add --notary-root --notary-server --notary-ca writes a policy that pull satisfies', async () => {
  const sb = await sandbox();
  const policyPath = join(sb.dir, 'trust-policy.json');
  assert.equal((await sb.customs(['policy', 'init', '--policy', policyPath])).code, 0);
  const a = await sb.customs([
    'trust',
    'add',
    `${reg.host}/busybox`,
    '--notary-root',
    rootOf(`${reg.host}/busybox`),
    '--notary-server',
    url,
    '--notary-ca',
    join(serverDir, 'ca.crt'),
    '--policy',
    policyPath,
  ]);
  assert.equal(a.code, 0, a.stderr);
  const list = await sb.customs(['trust', 'list', '--policy', policyPath]);
  assert.match(list.stdout, /customsNotarySigned root .* server https:/);
  const r = await sb.customs(['pull', busybox.reference, '--policy', policyPath]);
  assert.equal(r.code, 0, r.stderr);
});
