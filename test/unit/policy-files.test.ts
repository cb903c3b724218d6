// Policy files on disk: loadPolicy search order, registries.d, and trust add/list/rm round trips (checked with skopeo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomsError } from '../../src/errors.js';
import { parseQualifiedReference } from '../../src/ref/index.js';
import {
  addTrust,
  listTrust,
  loadPolicy,
  loadRegistriesD,
  lookasideFor,
  parsePolicy,
  parseRegistriesD,
  removeTrust,
  requirementsFor,
  starterPolicy,
} from '../../src/policy/index.js';

const COSIGN_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'customs-policy-'));
}

/** Ask skopeo to load the policy: an invalid policy fails before any image is touched. */
function skopeoAccepts(policyPath: string, dir: string): { ok: boolean; stderr: string } {
  const r = spawnSync(
    'skopeo',
    ['--policy', policyPath, 'copy', `oci:${join(dir, 'nonexistent')}:x`, `oci:${join(dir, 'out')}:x`],
    {
      encoding: 'utf8',
    },
  );
  return { ok: !/trust policy|invalid policy/i.test(r.stderr), stderr: r.stderr };
}

test('loadPolicy: the flag, else CUSTOMS_CONFIG/policy.json, else the system file, else POLICY_INVALID with a hint', async () => {
  const dir = await tempDir();
  try {
    const sys = join(dir, 'system.json');
    const cfg = join(dir, 'cfg');
    await mkdir(cfg);
    const env = { CUSTOMS_CONFIG: cfg };
    await assert.rejects(
      loadPolicy({ env, systemPath: sys }),
      (e: unknown) =>
        e instanceof CustomsError &&
        e.code === 'POLICY_INVALID' &&
        e.exitCode === 7 &&
        (e.hint ?? '').includes('customs policy init'),
    );
    await writeFile(sys, starterPolicy());
    assert.equal((await loadPolicy({ env, systemPath: sys })).sourcePath, sys);
    await writeFile(join(cfg, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
    assert.equal((await loadPolicy({ env, systemPath: sys })).sourcePath, join(cfg, 'policy.json'));
    const flag = join(dir, 'flag.json');
    await assert.rejects(
      loadPolicy({ flag, env, systemPath: sys }),
      (e: unknown) => e instanceof CustomsError && e.code === 'POLICY_INVALID',
    );
    await writeFile(flag, starterPolicy());
    assert.equal((await loadPolicy({ flag, env, systemPath: sys })).sourcePath, flag);
    await writeFile(flag, '{"default":[{"type":"reject"}],"transports":{"docker":{"x.io":[{"type":"nope"}]}}}');
    await assert.rejects(
      loadPolicy({ flag, env, systemPath: sys }),
      (e: unknown) => e instanceof CustomsError && e.code === 'POLICY_INVALID',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the starter policy is accepted by skopeo and a broken one is not (the probe works)', async () => {
  const dir = await tempDir();
  try {
    await writeFile(join(dir, 'ok.json'), starterPolicy());
    assert.equal(skopeoAccepts(join(dir, 'ok.json'), dir).ok, true);
    await writeFile(join(dir, 'bad.json'), '{"default":[{"type":"reject","x":1}]}');
    assert.equal(skopeoAccepts(join(dir, 'bad.json'), dir).ok, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('trust add / list / rm round trip writes key files and a policy skopeo accepts', async () => {
  const dir = await tempDir();
  try {
    const policyPath = join(dir, 'policy.json');
    const keys = join(dir, 'keys');
    let policy = await addTrust(policyPath, keys, 'quay.io/myorg', { kind: 'cosign', pem: COSIGN_PEM });
    // Idempotent.
    policy = await addTrust(policyPath, keys, 'quay.io/myorg', { kind: 'cosign', pem: COSIGN_PEM });
    const entries = listTrust(policy);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.scope, 'quay.io/myorg');
    assert.equal(entries[0]?.requirements.length, 1);
    assert.match(
      entries[0]?.descriptions[0] ?? '',
      /sigstoreSigned key .*quay\.io_myorg-[0-9a-f]{16}\.pub \(matchRepository\)/,
    );
    const files = await readdir(keys);
    assert.equal(files.length, 1);
    assert.equal(await readFile(join(keys, files[0]!), 'utf8'), COSIGN_PEM);
    assert.deepEqual(parsePolicy(await readFile(policyPath, 'utf8'), policyPath).default, [{ type: 'reject' }]);
    assert.equal(skopeoAccepts(policyPath, dir).ok, true, skopeoAccepts(policyPath, dir).stderr);
    const armored = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF0=\n-----END PGP PUBLIC KEY BLOCK-----';
    const withGpg = await addTrust(policyPath, keys, 'registry.example.com', { kind: 'gpg', armored });
    assert.match(listTrust(withGpg)[1]?.descriptions[0] ?? '', /^signedBy GPGKeys key /);
    assert.equal(skopeoAccepts(policyPath, dir).ok, true, skopeoAccepts(policyPath, dir).stderr);
    policy = await removeTrust(policyPath, 'registry.example.com', keys);

    // The key applies to its scope only.
    assert.equal(requirementsFor(policy, parseQualifiedReference('quay.io/myorg/app:1')).scope, 'quay.io/myorg');
    assert.equal(requirementsFor(policy, parseQualifiedReference('quay.io/other/app:1')).isDefault, true);

    policy = await removeTrust(policyPath, 'quay.io/myorg', keys);
    assert.deepEqual(listTrust(policy), []);
    assert.deepEqual(await readdir(keys), []);
    await assert.rejects(
      removeTrust(policyPath, 'quay.io/myorg'),
      (e: unknown) => e instanceof CustomsError && e.code === 'USAGE',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('trust add refuses private keys, bad scopes and rejecting scopes', async () => {
  const dir = await tempDir();
  try {
    const policyPath = join(dir, 'policy.json');
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const usage = (e: unknown) => e instanceof CustomsError && e.code === 'USAGE';
    await assert.rejects(addTrust(policyPath, join(dir, 'k'), 'quay.io/x', { kind: 'cosign', pem: priv }), usage);
    await assert.rejects(
      addTrust(policyPath, join(dir, 'k'), 'quay.io/x', {
        kind: 'gpg',
        armored: '-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----',
      }),
      usage,
    );
    for (const scope of ['', '*.quay.io', 'quay.io/x:1', 'docker.io/busybox', 'Quay.io']) {
      await assert.rejects(
        addTrust(policyPath, join(dir, 'k'), scope, { kind: 'cosign', pem: COSIGN_PEM }),
        usage,
        scope,
      );
    }
    await writeFile(
      policyPath,
      JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { 'quay.io/x': [{ type: 'reject' }] } } }),
    );
    await assert.rejects(addTrust(policyPath, join(dir, 'k'), 'quay.io/x', { kind: 'cosign', pem: COSIGN_PEM }), usage);
    assert.equal(existsSync(join(dir, 'k')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('registries.d: scopes fall through field by field to default-docker, and staging wins for writes', () => {
  const conf = parseRegistriesD([
    {
      name: 'a.yaml',
      text: [
        '# comment',
        'default-docker:',
        '  lookaside: file:///var/lib/containers/sigstore',
        '  lookaside-staging: "file:///var/lib/containers/staging"',
        'docker:',
        '  quay.io/myorg:',
        '    use-sigstore-attachments: true',
        "  'localhost:5000':",
        '    sigstore: https://sigs.example.com/x # legacy key',
      ].join('\n'),
    },
    { name: 'b.yaml', text: 'docker:\n  quay.io:\n    lookaside: https://quay-sigs.example.com\n' },
  ]);
  assert.deepEqual(lookasideFor(conf, parseQualifiedReference('quay.io/myorg/app:1')), {
    read: 'https://quay-sigs.example.com',
    write: 'https://quay-sigs.example.com',
    useSigstoreAttachments: true,
  });
  assert.deepEqual(lookasideFor(conf, parseQualifiedReference('localhost:5000/a:1')), {
    read: 'https://sigs.example.com/x',
    write: 'https://sigs.example.com/x',
    useSigstoreAttachments: false,
  });
  assert.deepEqual(lookasideFor(conf, parseQualifiedReference('example.com/a:1')), {
    read: 'file:///var/lib/containers/sigstore',
    write: 'file:///var/lib/containers/staging',
    useSigstoreAttachments: false,
  });
  const bad = (text: string) =>
    assert.throws(
      () => parseRegistriesD([{ name: 'x.yaml', text }]),
      (e: unknown) => e instanceof CustomsError && e.code === 'POLICY_INVALID',
      text,
    );
  bad('docker:\n  quay.io:\n    lookasid: file:///x\n');
  bad('docker:\n  quay.io:\n    lookaside: ftp://x\n');
  bad('docker:\n  quay.io:\n    use-sigstore-attachments: "true"\n');
  bad('docker:\n  quay.io: &a\n    lookaside: file:///x\n');
  bad('docker: {quay.io: {lookaside: file:///x}}\n');
  bad('docker:\n  - quay.io\n');
  bad('docker:\n  quay.io:\n    lookaside: file:///x\n  quay.io:\n    lookaside: file:///y\n');
  bad('docker:\n\tquay.io:\n');
  bad('docker:\n  docker.io/busybox:\n    lookaside: file:///x\n');
  assert.throws(() =>
    parseRegistriesD([
      { name: 'a.yaml', text: 'default-docker:\n  lookaside: file:///a\n' },
      { name: 'b.yaml', text: 'default-docker:\n  lookaside: file:///b\n' },
    ]),
  );
});

test('loadRegistriesD reads *.yaml in name order and treats a missing default directory as empty', async () => {
  const dir = await tempDir();
  try {
    const env = { CUSTOMS_CONFIG: join(dir, 'cfg') };
    const empty = await loadRegistriesD({ env, systemDir: join(dir, 'nope') });
    assert.equal(empty.docker.size, 0);
    await assert.rejects(
      loadRegistriesD({ flag: join(dir, 'missing'), env }),
      (e: unknown) => e instanceof CustomsError && e.code === 'POLICY_INVALID',
    );
    const d = join(dir, 'cfg', 'registries.d');
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'b.yaml'), 'docker:\n  quay.io:\n    lookaside: file:///b\n');
    await writeFile(join(d, 'a.yaml'), 'docker:\n  ghcr.io:\n    lookaside: file:///a\n');
    await writeFile(join(d, 'ignored.yml'), 'not: [yaml subset]\n');
    const conf = await loadRegistriesD({ env, systemDir: join(dir, 'nope') });
    assert.deepEqual(conf.sources, [join(d, 'a.yaml'), join(d, 'b.yaml')]);
    assert.equal(lookasideFor(conf, parseQualifiedReference('quay.io/a/b:1')).read, 'file:///b');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('skopeo is installed for the interop checks', () => {
  assert.match(execFileSync('skopeo', ['--version'], { encoding: 'utf8' }), /skopeo version/);
});
