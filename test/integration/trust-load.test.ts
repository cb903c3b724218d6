// Issue 7: `customs load` evaluates the policy for every name it would tag, as pull does. The archive names an
// image at 127.0.0.1:9 (nothing listens there): a GPG signature in a file:// lookaside is all a signedBy policy
// needs, so these loads work with no registry at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImages, requirePeer, startRegistry, type Registry } from './helpers/registry.js';
import { listing, sandbox, type Sandbox } from './helpers/customs.js';
import { gnupgHome, type GnupgHome } from '../helpers/trust-fixtures.js';

/** A registry address nothing listens on: any attempt to use the network fails. */
const OFFLINE_HOST = '127.0.0.1:9';
const SIGNED = `${OFFLINE_HOST}/loaded:v1`;

let reg: Registry;
let gpg: GnupgHome;
let work: Sandbox;
/** An oci-archive of busybox, tagged by load as whatever --tag says. */
let archive = '';
/** The file:// lookaside holding a GPG signature of SIGNED, and a registries.d pointing at it. */
let regd = '';
let keyFile = '';

before(async () => {
  requirePeer('skopeo');
  requirePeer('gpg');
  reg = await startRegistry();
  const pushed = await pushImages(reg, ['busybox']);
  const busybox = pushed.find((p) => p.name === 'busybox:latest');
  assert.ok(busybox);
  gpg = gnupgHome();
  work = await sandbox();
  assert.equal((await work.customs(['pull', busybox.reference, '-q', '--insecure-policy'])).code, 0);
  archive = join(work.dir, 'busybox.tar');
  const ex = await work.customs(['export', busybox.reference, '-o', archive, '--format', 'oci-archive']);
  assert.equal(ex.code, 0, ex.stderr);
  // Sign SIGNED with customs sign --gpg-key into a file:// lookaside (load it under that name first).
  const sigdir = join(work.dir, 'sigstore');
  regd = join(work.dir, 'registries.d');
  await mkdir(regd, { recursive: true });
  await writeFile(
    join(regd, 'offline.yaml'),
    `docker:\n  ${OFFLINE_HOST}:\n    lookaside: file://${sigdir}\n    lookaside-staging: file://${sigdir}\n`,
  );
  const l = await work.customs(['load', '-i', archive, '--tag', SIGNED, '--insecure-policy']);
  assert.equal(l.code, 0, l.stderr);
  const s = await work.customs(['sign', SIGNED, '--gpg-key', gpg.fingerprint, '--registries.d', regd], {
    env: { GNUPGHOME: gpg.dir },
  });
  assert.equal(s.code, 0, s.stderr);
  keyFile = join(work.dir, 'signer.asc');
  await writeFile(keyFile, gpg.publicKeyArmored());
});

after(async () => {
  gpg.cleanup();
  await reg.stop();
});

/** signedBy for everything at OFFLINE_HOST, reject for OFFLINE_HOST/rejected. */
async function policy(sb: Sandbox): Promise<string> {
  const p = join(sb.dir, 'policy.json');
  await writeFile(
    p,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          [OFFLINE_HOST]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: keyFile }],
          [`${OFFLINE_HOST}/rejected`]: [{ type: 'reject' }],
        },
      },
    }),
  );
  return p;
}

/** The store holds no blob and no name (load may have created the empty layout). */
async function assertEmptyStore(sb: Sandbox): Promise<void> {
  const l = await listing(sb.store);
  assert.doesNotMatch(l, /^blobs\//m, l);
  assert.deepEqual(await images(sb), []);
}

async function images(sb: Sandbox): Promise<unknown> {
  const r = await sb.customs(['images', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('customs load under a policy', () => {
  test('an archive whose image is GPG-signed in a file:// lookaside loads under a signedBy policy, offline', async () => {
    const sb = await sandbox();
    const r = await sb.customs([
      'load',
      '-i',
      archive,
      '--tag',
      SIGNED,
      '--policy',
      await policy(sb),
      '--registries.d',
      regd,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.stringify(await images(sb)), /loaded:v1/);
  });

  test('an unsigned name is refused with exit 6; nothing is tagged and no blob is left', async () => {
    const sb = await sandbox();
    const r = await sb.customs([
      'load',
      '-i',
      archive,
      '--tag',
      `${OFFLINE_HOST}/unsigned:v1`,
      '--policy',
      await policy(sb),
      '--registries.d',
      regd,
      '--json',
    ]);
    assert.equal(r.code, 6, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'SIGNATURE_MISSING');
    await assertEmptyStore(sb);
  });

  test('a name in a reject scope is refused with exit 7 before anything is stored', async () => {
    const sb = await sandbox();
    const r = await sb.customs([
      'load',
      '-i',
      archive,
      '--tag',
      `${OFFLINE_HOST}/rejected:v1`,
      '--policy',
      await policy(sb),
      '--registries.d',
      regd,
      '--json',
    ]);
    assert.equal(r.code, 7, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'POLICY_REJECTED');
    await assertEmptyStore(sb);
  });

  test('a signature for another name does not cover the loaded name (exit 6)', async () => {
    const sb = await sandbox();
    const r = await sb.customs([
      'load',
      '-i',
      archive,
      '--tag',
      `${OFFLINE_HOST}/loaded:other`,
      '--policy',
      await policy(sb),
      '--registries.d',
      regd,
    ]);
    assert.equal(r.code, 6, r.stderr);
    assert.deepEqual(await images(sb), []);
  });

  test('--insecure-policy loads an unsigned name without reading any policy', async () => {
    const sb = await sandbox();
    const r = await sb.customs([
      'load',
      '-i',
      archive,
      '--tag',
      `${OFFLINE_HOST}/rejected:v1`,
      '--policy',
      join(sb.dir, 'missing.json'),
      '--insecure-policy',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.stringify(await images(sb)), /rejected:v1/);
  });
});
