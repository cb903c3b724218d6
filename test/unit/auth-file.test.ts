import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { CustomsError } from '../../src/errors.js';
import {
  BasicCredential,
  authFileSource,
  defaultCredentialSources,
  describeCredential,
  findCredential,
  removeLogin,
  saveLogin,
  type Credential,
} from '../../src/registry/auth/index.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'customs-auth-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function pair(c: Credential | undefined): [string, string] | undefined {
  if (c === undefined) return undefined;
  return c.kind === 'basic' ? [c.username, c.password] : [c.username, `token:${c.token}`];
}

const FILE = {
  auths: {
    'quay.io': { auth: b64('quay-user:quay-pw') },
    'localhost:5000': { username: 'local', password: 'local-pw' },
    'https://index.docker.io/v1/': { auth: b64('hub-user:hub-pw') },
    'http://legacy.example/v2/': { auth: b64('legacy-user:legacy-pw') },
    'ghcr.io': { auth: b64('gh-user:gh-pw') },
    'ghcr.io/acme': { auth: b64('acme-user:acme-pw') },
    'ghcr.io/acme/secret-app': { auth: b64('app-user:app-pw') },
    'idtok.example': { auth: b64('tok-user:'), identitytoken: 'refresh-abc' },
    'empty.example': {},
  },
};

test('authFileSource resolves every key form', async () => {
  await withTmp(async (dir) => {
    const path = join(dir, 'auth.json');
    await writeFile(path, JSON.stringify(FILE));
    const src = authFileSource(path, { env: {} });
    assert.equal(src.name, path);
    const cases: [string, string | undefined, [string, string] | undefined][] = [
      ['quay.io', undefined, ['quay-user', 'quay-pw']],
      ['QUAY.IO', undefined, ['quay-user', 'quay-pw']],
      ['localhost:5000', undefined, ['local', 'local-pw']],
      ['localhost', undefined, undefined],
      ['docker.io', 'library/debian', ['hub-user', 'hub-pw']],
      ['registry-1.docker.io', undefined, ['hub-user', 'hub-pw']],
      ['legacy.example', 'x/y', ['legacy-user', 'legacy-pw']],
      ['ghcr.io', undefined, ['gh-user', 'gh-pw']],
      ['ghcr.io', 'other/app', ['gh-user', 'gh-pw']],
      ['ghcr.io', 'acme/web', ['acme-user', 'acme-pw']],
      ['ghcr.io', 'acme/secret-app', ['app-user', 'app-pw']],
      ['ghcr.io', 'acme/secret-app-2', ['acme-user', 'acme-pw']],
      ['ghcr.io', 'acme/secret-app/sub', ['app-user', 'app-pw']],
      ['idtok.example', undefined, ['tok-user', 'token:refresh-abc']],
      ['empty.example', undefined, undefined],
      ['unknown.example', undefined, undefined],
    ];
    for (const [registry, repo, want] of cases) {
      assert.deepEqual(pair(await src.lookup(registry, undefined, repo)), want, `${registry} ${repo ?? ''}`);
    }
  });
});

test('a non-legacy key wins over a legacy URL key for the same registry', async () => {
  await withTmp(async (dir) => {
    const path = join(dir, 'config.json');
    await writeFile(
      path,
      JSON.stringify({
        auths: { 'https://docker.io': { auth: b64('old:old') }, 'docker.io': { auth: b64('new:new') } },
      }),
    );
    assert.deepEqual(pair(await authFileSource(path, { env: {} }).lookup('docker.io')), ['new', 'new']);
  });
});

test('a missing file has no credentials', async () => {
  await withTmp(async (dir) => {
    assert.equal(await authFileSource(join(dir, 'nope.json'), { env: {} }).lookup('quay.io'), undefined);
  });
});

const malformed: [string, string][] = [
  ['invalid JSON', '{"auths": {"quay.io": {"auth": "SECRETb64"'],
  ['duplicate keys', '{"auths": {"quay.io": {"auth": "a"}, "quay.io": {"auth": "b"}}}'],
  ['a non-object top level', '[]'],
  ['auths not an object', '{"auths": "x"}'],
  ['an entry not an object', '{"auths": {"quay.io": "SECRET"}}'],
  ['auth not base64', '{"auths": {"quay.io": {"auth": "not base64!"}}}'],
  ['auth without a colon', `{"auths": {"quay.io": {"auth": "${b64('nocolon')}"}}}`],
  ['a username without password', '{"auths": {"quay.io": {"username": "u"}}}'],
  ['a non-string password', '{"auths": {"quay.io": {"username": "u", "password": 5}}}'],
];

for (const [name, text] of malformed) {
  test(`authFileSource refuses a file with ${name}, naming the path`, async () => {
    await withTmp(async (dir) => {
      const path = join(dir, 'auth.json');
      await writeFile(path, text);
      await assert.rejects(
        authFileSource(path, { env: {} }).lookup('quay.io'),
        (e: unknown) =>
          e instanceof CustomsError &&
          e.code === 'CONFIG_INVALID' &&
          e.message.includes(path) &&
          !e.message.includes('SECRET'),
      );
    });
  });
}

test('authFileSource refuses a directory in place of the file', async () => {
  await withTmp(async (dir) => {
    const path = join(dir, 'auth.json');
    await mkdir(path);
    await assert.rejects(
      authFileSource(path, { env: {} }).lookup('quay.io'),
      (e: unknown) => e instanceof CustomsError && e.code === 'CONFIG_INVALID',
    );
  });
});

test('authFileSource refuses a FIFO in place of the file at once instead of waiting for a writer', async () => {
  // Attack: a FIFO planted at ~/.config/containers/auth.json (or REGISTRY_AUTH_FILE) hung every pull.
  await withTmp(async (dir) => {
    const path = join(dir, 'auth.json');
    execFileSync('mkfifo', [path]);
    await assert.rejects(
      authFileSource(path, { env: {} }).lookup('quay.io'),
      (e: unknown) => e instanceof CustomsError && e.code === 'CONFIG_INVALID' && /not a regular file/.test(e.message),
    );
  });
});

test('describeCredential and printing a credential show only the username', () => {
  const c = new BasicCredential('alice', 'hunter2-very-secret');
  assert.equal(describeCredential(c), 'alice');
  assert.doesNotMatch(inspect(c), /hunter2/);
  assert.doesNotMatch(JSON.stringify(c), /hunter2/);
  assert.doesNotMatch(`${JSON.stringify({ c })} ${inspect({ nested: [c] }, { depth: 5 })}`, /hunter2/);
  assert.equal(c.password, 'hunter2-very-secret');
});

test('saveLogin writes a 0600 containers auth.json in a 0700 directory and lookups find it', async () => {
  await withTmp(async (root) => {
    const dir = join(root, 'customs');
    await saveLogin(dir, 'registry.example:5000', 'bob', 'pw:1');
    await saveLogin(dir, 'quay.io', 'q', 'qpw');
    const st = await stat(join(dir, 'auth.json'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const doc = JSON.parse(await readFile(join(dir, 'auth.json'), 'utf8')) as unknown;
    assert.deepEqual(doc, {
      auths: { 'registry.example:5000': { auth: b64('bob:pw:1') }, 'quay.io': { auth: b64('q:qpw') } },
    });
    const found = await findCredential(defaultCredentialSources({}, dir), 'registry.example:5000');
    assert.deepEqual(pair(found?.credential), ['bob', 'pw:1']);
    assert.equal(found?.source, join(dir, 'auth.json'));
  });
});

test('saveLogin replaces an earlier entry, keeps unrelated content, and removeLogin deletes it', async () => {
  await withTmp(async (dir) => {
    const path = join(dir, 'auth.json');
    await writeFile(path, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: b64('a:b') } }, extra: 1 }));
    await saveLogin(dir, 'docker.io', 'c', 'd');
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), {
      auths: { 'docker.io': { auth: b64('c:d') } },
      extra: 1,
    });
    assert.equal(await removeLogin(dir, 'docker.io'), true);
    assert.equal(await removeLogin(dir, 'docker.io'), false);
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { auths: {}, extra: 1 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });
});

test('concurrent logins to different registries keep every entry (read-modify-write is verified and redone)', async () => {
  // Lost update: two `customs login`s read the same file, each writes its own entry, the second rename wins.
  await withTmp(async (dir) => {
    const hosts = Array.from({ length: 8 }, (_, i) => `reg${i}.example:5000`);
    await Promise.all(hosts.map((h, i) => saveLogin(dir, h, `user${i}`, `pw${i}`)));
    const doc = JSON.parse(await readFile(join(dir, 'auth.json'), 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.auths).sort(), [...hosts].sort());
    await Promise.all(hosts.slice(0, 4).map((h) => removeLogin(dir, h)));
    const after = JSON.parse(await readFile(join(dir, 'auth.json'), 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(Object.keys(after.auths).sort(), hosts.slice(4).sort());
  });
});

test('removeLogin on a missing file removes nothing', async () => {
  await withTmp(async (dir) => {
    assert.equal(await removeLogin(join(dir, 'none'), 'quay.io'), false);
  });
});

test('saveLogin refuses bad input without echoing the password', async () => {
  await withTmp(async (dir) => {
    const bad: [string, string, string][] = [
      ['quay.io', 'user:colon', 'SECRETPW1'],
      ['quay.io', '', 'SECRETPW1'],
      ['quay.io', 'u', ''],
      ['quay.io', 'u', 'SECRET\nPW'],
      ['../etc', 'u', 'SECRETPW1'],
      ['quay.io/repo', 'u', 'SECRETPW1'],
    ];
    for (const [registry, user, pw] of bad) {
      await assert.rejects(
        saveLogin(dir, registry, user, pw),
        (e: unknown) => e instanceof CustomsError && e.code === 'USAGE' && !e.message.includes('SECRET'),
      );
    }
  });
});

test('saveLogin refuses to overwrite a malformed auth.json', async () => {
  await withTmp(async (dir) => {
    const path = join(dir, 'auth.json');
    await writeFile(path, '{"auths": ');
    await assert.rejects(
      saveLogin(dir, 'quay.io', 'u', 'p'),
      (e: unknown) => e instanceof CustomsError && e.code === 'CONFIG_INVALID',
    );
    assert.equal(await readFile(path, 'utf8'), '{"auths": ');
  });
});

test('defaultCredentialSources orders customs, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, ~/.config, DOCKER_CONFIG', () => {
  const names = defaultCredentialSources(
    { REGISTRY_AUTH_FILE: '/r/auth.json', XDG_RUNTIME_DIR: '/run/user/1', HOME: '/home/u', DOCKER_CONFIG: '/d' },
    '/c',
  ).map((s) => s.name);
  assert.deepEqual(names, [
    '/c/auth.json',
    '/r/auth.json',
    '/run/user/1/containers/auth.json',
    '/home/u/.config/containers/auth.json',
    '/d/config.json',
  ]);
  assert.deepEqual(
    defaultCredentialSources({ HOME: '/home/u', XDG_RUNTIME_DIR: 'relative' }, '/c').map((s) => s.name),
    ['/c/auth.json', '/home/u/.config/containers/auth.json', '/home/u/.docker/config.json'],
  );
});

test('findCredential takes the first source that has a credential and skips missing files', async () => {
  await withTmp(async (dir) => {
    const home = join(dir, 'home');
    await mkdir(join(home, '.docker'), { recursive: true });
    await mkdir(join(home, '.config', 'containers'), { recursive: true });
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { 'quay.io': { auth: b64('docker:1') }, 'x.io': { auth: b64('dx:2') } } }),
    );
    await writeFile(
      join(home, '.config', 'containers', 'auth.json'),
      JSON.stringify({ auths: { 'quay.io': { auth: b64('podman:1') } } }),
    );
    const sources = defaultCredentialSources({ HOME: home }, join(dir, 'customs-config'));
    const q = await findCredential(sources, 'quay.io');
    assert.deepEqual(pair(q?.credential), ['podman', '1']);
    const x = await findCredential(sources, 'x.io');
    assert.deepEqual(pair(x?.credential), ['dx', '2']);
    assert.equal(x?.source, join(home, '.docker', 'config.json'));
    assert.equal(await findCredential(sources, 'none.io'), undefined);
  });
});
