// Pull from docker-registry with htpasswd (bcrypt) Basic auth and with TLS signed by a private CA; credentials
// come from customs login, from a containers auth.json and from a docker config.json, and never appear in output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pushImages, requirePeer, startRegistry, type Registry } from './helpers/registry.js';
import { sandbox } from './helpers/customs.js';

let authReg: Registry;
let tlsReg: Registry;
const creds = { user: 'customs-user', pass: 'S3cret-pa55-never-printed' };

before(async () => {
  requirePeer('docker-registry');
  requirePeer('htpasswd');
  authReg = await startRegistry({ htpasswd: creds });
  tlsReg = await startRegistry({ tls: true });
  await pushImages(authReg, ['busybox']);
  await pushImages(tlsReg, ['busybox', 'debian']);
});

after(async () => {
  await authReg.stop();
  await tlsReg.stop();
});

describe('authenticated registry (htpasswd, bcrypt)', () => {
  test('401 without credentials exits 4 and says to run customs login', async () => {
    const sb = await sandbox();
    const r = await sb.customs(['pull', `${authReg.host}/busybox:latest`]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /customs login/);
  });

  test('login with a wrong password fails and saves nothing', async () => {
    const sb = await sandbox();
    const r = await sb.customs(['login', authReg.host, '-u', creds.user, '--password-stdin'], {
      input: 'wrong-password\n',
    });
    assert.equal(r.code, 4, r.stderr);
    await assert.rejects(stat(join(sb.config, 'auth.json')));
  });

  test('login then pull works; logout forgets; the password is never printed', async () => {
    const sb = await sandbox();
    const login = await sb.customs(['login', authReg.host, '-u', creds.user, '--password-stdin'], {
      input: `${creds.pass}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
    const mode = (await stat(join(sb.config, 'auth.json'))).mode & 0o777;
    assert.equal(mode, 0o600);
    const pull = await sb.customs(['pull', `${authReg.host}/busybox:latest`]);
    assert.equal(pull.code, 0, pull.stderr);
    const out = login.stdout + login.stderr + pull.stdout + pull.stderr;
    assert.ok(!out.includes(creds.pass));
    assert.ok(!out.includes(Buffer.from(`${creds.user}:${creds.pass}`).toString('base64')));
    assert.equal((await sb.customs(['logout', authReg.host])).code, 0);
    const again = await sb.customs(['pull', `${authReg.host}/busybox:latest`]);
    assert.equal(again.code, 4);
  });

  test('reads credentials from a docker config.json and a containers auth.json', async () => {
    const auth = Buffer.from(`${creds.user}:${creds.pass}`).toString('base64');
    const docker = await sandbox();
    await mkdir(join(docker.env.HOME!, '.docker'), { recursive: true });
    await writeFile(
      join(docker.env.HOME!, '.docker', 'config.json'),
      JSON.stringify({ auths: { [authReg.host]: { auth } } }),
    );
    const r1 = await docker.customs(['pull', `${authReg.host}/busybox:latest`, '-q']);
    assert.equal(r1.code, 0, r1.stderr);

    const containers = await sandbox();
    const file = join(containers.dir, 'auth.json');
    await writeFile(file, JSON.stringify({ auths: { [authReg.host]: { auth } } }));
    const r2 = await containers.customs(['pull', `${authReg.host}/busybox:latest`, '-q'], {
      env: { REGISTRY_AUTH_FILE: file },
    });
    assert.equal(r2.code, 0, r2.stderr);
  });
});

describe('TLS registry with a private CA', () => {
  test('refuses the unknown CA with exit 4, then pulls once the CA is in certs.d', async () => {
    const sb = await sandbox();
    const ref = `${tlsReg.host}/busybox:latest`;
    const refused = await sb.customs(['pull', ref]);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /certificate|TLS/i);

    const dir = join(sb.config, 'certs.d', tlsReg.host);
    await mkdir(dir, { recursive: true });
    await copyFile(tlsReg.caFile!, join(dir, 'ca.crt'));
    const ok = await sb.customs(['pull', ref]);
    assert.equal(ok.code, 0, ok.stderr);
    const index = JSON.parse(await readFile(join(sb.store, 'index.json'), 'utf8')) as { manifests: unknown[] };
    assert.equal(index.manifests.length, 1);
  });

  test('trusts a CA named by NODE_EXTRA_CA_CERTS, as Node does, though bin/customs keeps it from Node', async () => {
    // bin/customs hands the file to customs as CUSTOMS_EXTRA_CA_CERTS (Node would parse it at start-up, ~37 ms);
    // customs must still trust it for registries, with and without certs.d material, and read it only for TLS.
    const sb = await sandbox();
    const ref = `${tlsReg.host}/busybox:latest`;
    const bundle = join(sb.dir, 'extra-cas.pem');
    await writeFile(bundle, `# a comment line, as in Debian's bundle\n${await readFile(tlsReg.caFile!, 'utf8')}`);
    const ok = await sb.customs(['pull', ref, '-q'], { env: { NODE_EXTRA_CA_CERTS: bundle } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /Warning/);

    // The same file, unreadable: ignored with Node's own warning, and the registry's CA is then unknown.
    const missing = await sb.customs(['pull', ref, '--store', join(sb.dir, 's2')], {
      env: { NODE_EXTRA_CA_CERTS: join(sb.dir, 'absent.pem') },
    });
    assert.equal(missing.code, 4, missing.stderr);
    assert.match(missing.stderr, /Ignoring extra certs from `[^`]*absent\.pem`, load failed/);
    assert.match(missing.stderr, /certificate/i);
  });

  test('pulls the 51 MB Debian layer over TLS intact, repeatedly (large TLS bodies through the bulk reader)', async () => {
    // Regression: TLS bodies read with onread lost records once the quarantine's buffers were full; every pull
    // of a large layer from an HTTPS registry failed its digest check. Three pulls, each verified and fsck-clean.
    const sb = await sandbox();
    const dir = join(sb.config, 'certs.d', tlsReg.host);
    await mkdir(dir, { recursive: true });
    await copyFile(tlsReg.caFile!, join(dir, 'ca.crt'));
    for (let i = 0; i < 3; i++) {
      const ok = await sb.customs(['pull', `${tlsReg.host}/debian:bookworm`, '--store', join(sb.dir, `s${i}`), '-q']);
      assert.equal(ok.code, 0, ok.stderr);
      const fsck = await sb.customs(['fsck', '--store', join(sb.dir, `s${i}`)]);
      assert.equal(fsck.code, 0, fsck.stderr);
    }
  });
});
