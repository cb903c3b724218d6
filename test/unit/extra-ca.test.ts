// NODE_EXTRA_CA_CERTS handled by customs rather than by Node's start-up (src/internal/extra-ca.ts, bin/customs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rootCertificates } from 'node:tls';
import {
  extraCaCertificates,
  extraCaFile,
  nodeDefaultLacksExtraCas,
  systemRoots,
  withNodeExtraCaCerts,
} from '../../src/internal/extra-ca.js';
import { makeTlsFixture } from '../adversarial/helpers/hostile-server.js';
import { REPO_ROOT } from '../integration/helpers/repo-root.js';
import { run } from '../integration/helpers/run.js';

const PEM = (n: number): string => `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----`;

/** Warnings emitted while `fn` runs (process.emitWarning is delivered on the next tick). */
async function warningsOf(fn: () => unknown): Promise<string[]> {
  const seen: string[] = [];
  const on = (w: Error): void => void seen.push(w.message);
  process.on('warning', on);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', on);
  }
  return seen;
}

test('the file in effect: the one bin/customs moved aside, else the one Node was given, never an empty name', () => {
  assert.equal(extraCaFile({ CUSTOMS_EXTRA_CA_CERTS: '/a.pem', NODE_EXTRA_CA_CERTS: '/b.pem' }), '/a.pem');
  assert.equal(extraCaFile({ NODE_EXTRA_CA_CERTS: '/b.pem' }), '/b.pem');
  assert.equal(extraCaFile({ CUSTOMS_EXTRA_CA_CERTS: '', NODE_EXTRA_CA_CERTS: '' }), undefined);
  assert.equal(extraCaFile({}), undefined);
  // Node's default store lacks the file only when Node was not given it.
  assert.equal(nodeDefaultLacksExtraCas({ CUSTOMS_EXTRA_CA_CERTS: '/a.pem' }), true);
  assert.equal(nodeDefaultLacksExtraCas({ CUSTOMS_EXTRA_CA_CERTS: '/a.pem', NODE_EXTRA_CA_CERTS: '/a.pem' }), false);
  assert.equal(nodeDefaultLacksExtraCas({ NODE_EXTRA_CA_CERTS: '/b.pem' }), false);
});

test('programs customs starts get NODE_EXTRA_CA_CERTS back, and not customs’ name for it', () => {
  assert.deepEqual(withNodeExtraCaCerts({ PATH: '/bin', CUSTOMS_EXTRA_CA_CERTS: '/a.pem' }), {
    PATH: '/bin',
    NODE_EXTRA_CA_CERTS: '/a.pem',
  });
  // A value the user set for the child is kept.
  assert.deepEqual(withNodeExtraCaCerts({ CUSTOMS_EXTRA_CA_CERTS: '/a.pem', NODE_EXTRA_CA_CERTS: '/c.pem' }), {
    NODE_EXTRA_CA_CERTS: '/c.pem',
  });
  assert.deepEqual(withNodeExtraCaCerts({ PATH: '/bin' }), { PATH: '/bin' });
});

test('the certificates of a bundle are its PEM blocks; comments and other text are not certificates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'customs-extra-ca-'));
  const file = join(dir, 'bundle.pem');
  await writeFile(file, `# ACME Root\n${PEM(1)}\n\nsome text\n${PEM(2)}\n`);
  let pems: string[] = [];
  assert.deepEqual(await warningsOf(() => (pems = extraCaCertificates(file))), []);
  assert.deepEqual(pems, [PEM(1), PEM(2)]);
});

test('an unreadable file, a FIFO or a file without certificates is ignored with Node’s own warning', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'customs-extra-ca-'));
  const absent = join(dir, 'absent.pem');
  assert.deepEqual(await warningsOf(() => assert.deepEqual(extraCaCertificates(absent), [])), [
    `Ignoring extra certs from \`${absent}\`, load failed: ENOENT`,
  ]);
  const empty = join(dir, 'empty.pem');
  await writeFile(empty, '# nothing here\n');
  assert.deepEqual(await warningsOf(() => extraCaCertificates(empty)), [
    `Ignoring extra certs from \`${empty}\`, load failed: no PEM certificate in it`,
  ]);
  // A FIFO is refused at once (opened non-blocking), not waited on (the "hanging fifo" class).
  const fifo = join(dir, 'fifo.pem');
  execFileSync('mkfifo', [fifo]);
  assert.deepEqual(await warningsOf(() => extraCaCertificates(fifo)), [
    `Ignoring extra certs from \`${fifo}\`, load failed: not a regular file`,
  ]);
});

test('bin/customs keeps NODE_EXTRA_CA_CERTS from Node’s start-up', async () => {
  // Node 20 reads the file while it starts and warns when it cannot: no warning means Node never saw the name.
  // (Run directly, Node does warn: the control below shows the check can fail.)
  const absent = join(await mkdtemp(join(tmpdir(), 'customs-extra-ca-')), 'absent.pem');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_EXTRA_CA_CERTS: absent };
  const viaBin = await run(join(REPO_ROOT, 'bin', 'customs'), ['--version'], { env, timeoutMs: 30_000 });
  assert.equal(viaBin.code, 0, viaBin.stderr);
  assert.match(viaBin.stdout, /^customs /);
  assert.equal(viaBin.stderr, '');
  const direct = await run(process.execPath, [join(REPO_ROOT, 'dist', 'bundle', 'customs.js'), '--version'], {
    env,
    timeoutMs: 30_000,
  });
  assert.match(direct.stderr, /Ignoring extra certs from/);
});

test('the default roots are Node’s plus the extra file’s other certificates, each once, never a broken block', async () => {
  // The file repeats one of Node's roots (wrapped differently, as bundles are) and adds a CA of its own.
  const dir = await mkdtemp(join(tmpdir(), 'customs-extra-ca-'));
  const file = join(dir, 'bundle.pem');
  const own = makeTlsFixture().caCert.trim();
  const repeated = rootCertificates[0]!.replace(/\n/g, '\r\n');
  const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----';
  await writeFile(file, `${repeated}\n${broken}\n${own}\n`);
  process.env.CUSTOMS_EXTRA_CA_CERTS = file; // read once, at the first call (each test file is its own process)
  try {
    let roots: readonly string[] = [];
    const warnings = await warningsOf(async () => (roots = await systemRoots()));
    assert.equal(roots.length, rootCertificates.length + 1);
    assert.equal(roots.at(-1), own);
    // The block that is not a certificate is left out, with Node's warning, instead of failing every context.
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Ignoring extra certs from `[^`]+`, load failed: a PEM block is not a certificate/);
  } finally {
    delete process.env.CUSTOMS_EXTRA_CA_CERTS;
  }
});
