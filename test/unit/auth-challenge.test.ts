import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CustomsError } from '../../src/errors.js';
import {
  MAX_WWW_AUTHENTICATE_BYTES,
  findChallenge,
  parseWwwAuthenticate,
  type Challenge,
} from '../../src/registry/auth/index.js';

function plain(cs: Challenge[]): { scheme: string; params: Record<string, string>; token68?: string }[] {
  return cs.map((c) => ({
    scheme: c.scheme,
    params: Object.fromEntries(c.params),
    ...(c.token68 === undefined ? {} : { token68: c.token68 }),
  }));
}

const accepted: [string, string, ReturnType<typeof plain>][] = [
  ['empty header', '', []],
  [
    'Docker Hub bearer challenge',
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull"',
    [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/debian:pull',
        },
      },
    ],
  ],
  ['scheme and names are case-insensitive', 'BEARER Realm="r"', [{ scheme: 'bearer', params: { realm: 'r' } }]],
  ['basic realm', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
  [
    'commas inside quotes stay in the value',
    'Bearer realm="https://a/t",scope="repository:a:pull,push"',
    [{ scheme: 'bearer', params: { realm: 'https://a/t', scope: 'repository:a:pull,push' } }],
  ],
  [
    'escaped quotes and backslashes are unescaped',
    'Basic realm="say \\"hi\\" \\\\ ok"',
    [{ scheme: 'basic', params: { realm: 'say "hi" \\ ok' } }],
  ],
  [
    'multiple challenges',
    'Basic realm="b", Bearer realm="https://x/t", service="s"',
    [
      { scheme: 'basic', params: { realm: 'b' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', service: 's' } },
    ],
  ],
  [
    'unquoted token values and whitespace around "="',
    'Bearer realm = tok , service=svc',
    [{ scheme: 'bearer', params: { realm: 'tok', service: 'svc' } }],
  ],
  ['token68 form', 'Basic YWxhZGRpbjpvcGVu==', [{ scheme: 'basic', params: {}, token68: 'YWxhZGRpbjpvcGVu==' }]],
  [
    'scheme without parameters, then another challenge',
    'Negotiate, Basic realm="x"',
    [
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ],
  ],
  ['empty list elements are skipped', ' , Basic realm="x" ,, ', [{ scheme: 'basic', params: { realm: 'x' } }]],
  [
    'a parameter named __proto__ is plain data',
    'Bearer __proto__="x", realm="r"',
    [{ scheme: 'bearer', params: { ['__proto__']: 'x', realm: 'r' } }],
  ],
];

for (const [name, header, expected] of accepted) {
  test(`parseWwwAuthenticate accepts ${name}`, () => {
    assert.deepEqual(plain(parseWwwAuthenticate(header)), expected);
  });
}

test('several header lines parse as one comma-joined list', () => {
  const cs = parseWwwAuthenticate(['Basic realm="a"', 'Bearer realm="https://b/t"']);
  assert.deepEqual(
    cs.map((c) => c.scheme),
    ['basic', 'bearer'],
  );
});

const refused: [string, string][] = [
  ['an unterminated quoted string', 'Bearer realm="https://x'],
  ['a repeated parameter (two realms)', 'Bearer realm="https://good/t", realm="http://169.254.169.254/"'],
  ['a control character inside quotes', 'Bearer realm="a\u0000b"'],
  ['junk after a parameter', 'Bearer realm="x" junk'],
  ['a missing scheme', '="x"'],
  ['a quoted string glued to the scheme', 'Bearer"x"'],
  ['a lone backslash at the end', 'Basic realm="abc\\'],
  ['a CRLF header-injection attempt', 'Bearer realm="x"\r\nSet-Cookie: a=b'],
];

for (const [name, header] of refused) {
  test(`parseWwwAuthenticate refuses ${name} with UNAUTHORIZED`, () => {
    assert.throws(
      () => parseWwwAuthenticate(header),
      (err: unknown) => err instanceof CustomsError && err.code === 'UNAUTHORIZED',
    );
  });
}

test('parseWwwAuthenticate refuses a header longer than 8 KiB', () => {
  const header = `Bearer realm="${'a'.repeat(MAX_WWW_AUTHENTICATE_BYTES)}"`;
  assert.throws(
    () => parseWwwAuthenticate(header),
    (err: unknown) => err instanceof CustomsError && err.code === 'UNAUTHORIZED' && /too long/.test(err.message),
  );
});

test('findChallenge picks the scheme case-insensitively', () => {
  const cs = parseWwwAuthenticate('Basic realm="a", Bearer realm="https://b/t"');
  assert.equal(findChallenge(cs, 'Bearer')?.params.get('realm'), 'https://b/t');
  assert.equal(findChallenge(cs, 'digest'), undefined);
});

test('parseWwwAuthenticate throws nothing but CustomsError on arbitrary input', () => {
  const alphabet = fc.constantFrom(...'Bearer realm="\\, =\t\r\n\u0000\u00e9abc/:'.split(''));
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 60 })), (s) => {
      try {
        const cs = parseWwwAuthenticate(s);
        for (const c of cs) assert.equal(c.scheme, c.scheme.toLowerCase());
      } catch (err) {
        assert.ok(err instanceof CustomsError, `threw ${String(err)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('parseWwwAuthenticate round-trips any quoted value', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme-ascii' }), (v) => {
      const quoted = `"${v.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
      const [c] = parseWwwAuthenticate(`Bearer realm=${quoted}, service=s`);
      assert.equal(c?.params.get('realm'), v);
      assert.equal(c?.params.get('service'), 's');
    }),
  );
});
