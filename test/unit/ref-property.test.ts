import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CustomsError } from '../../src/errors.js';
import {
  EMPTY_REGISTRIES_CONF,
  formatReference,
  parseReference,
  resolveName,
  type Reference,
} from '../../src/ref/index.js';

const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
// The last label starts with a letter: a numeric last label means IPv4 (see parse.ts) and is tested separately.
const lastLabel = fc.stringMatching(/^[a-zA-Z](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
const dnsHost = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), lastLabel)
  .map(([ls, l]) => [...ls, l].join('.'));
const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const ipv6 = fc
  .ipV6()
  .filter((a) => !a.includes('.'))
  .map((a) => `[${a}]`);
const host = fc.oneof(dnsHost, ipv4, ipv6, fc.constant('localhost'));
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const registry = fc
  .tuple(host, port)
  .map(([h, p]) => (p === undefined ? h : `${h}:${p}`))
  .filter((r) => r.startsWith('[') || r.includes('.') || r.includes(':') || r === 'localhost');
const pathComponent = fc.stringMatching(/^[a-z0-9]{1,5}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,5}){0,2}$/);
const repository = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('/'));
const tag = fc.stringMatching(/^\w[\w.-]{0,127}$/);
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const digest = fc.option(
  hex64.map((h) => `sha256:${h}`),
  { nil: undefined },
);

const reference = fc
  .record({ registry, repository, tag: fc.option(tag, { nil: undefined }), digest })
  .filter((r) => (r.tag !== undefined || r.digest !== undefined) && `${r.registry}/${r.repository}`.length <= 255)
  .filter((r) => !(r.registry.toLowerCase() === 'docker.io' && !r.repository.includes('/')));

test('every generated valid reference parses, formats and re-parses to the same value', () => {
  fc.assert(
    fc.property(reference, (r) => {
      const text = `${r.registry}/${r.repository}${r.tag === undefined ? '' : `:${r.tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`;
      const parsed = parseReference(text);
      assert.equal(parsed.kind, 'qualified');
      if (parsed.kind !== 'qualified') return;
      const want: Reference = {
        registry: r.registry.toLowerCase(),
        repository: r.repository,
        ...(r.tag === undefined ? {} : { tag: r.tag }),
        ...(r.digest === undefined ? {} : { digest: r.digest as Reference['digest'] & string }),
      };
      assert.deepEqual(parsed.reference, want);
      assert.deepEqual(parseReference(formatReference(parsed.reference)), parsed);
    }),
    { numRuns: 2000 },
  );
});

function parsesOrThrowsCustomsError(text: string): void {
  for (const fn of [() => parseReference(text), () => resolveName(text, EMPTY_REGISTRIES_CONF)]) {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof CustomsError, `non-CustomsError for ${JSON.stringify(text)}: ${String(err)}`);
      assert.match(err.code, /^(REFERENCE_INVALID|SHORT_NAME_REFUSED)$/);
    }
  }
}

test('any string either parses or throws a CustomsError', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), parsesOrThrowsCustomsError), { numRuns: 3000 });
});

test('any string of reference characters either parses or throws a CustomsError', () => {
  const unit = fc.constantFrom(...'aZ09._-_/:@[]sha256fx.:/'.split(''));
  fc.assert(fc.property(fc.string({ unit, maxLength: 80 }), parsesOrThrowsCustomsError), { numRuns: 5000 });
});

test('mutations of valid references either parse or throw a CustomsError', () => {
  const mutated = fc.tuple(reference, fc.nat(), fc.string({ unit: 'binary', maxLength: 3 })).map(([r, at, insert]) => {
    const text = `${r.registry}/${r.repository}${r.tag === undefined ? '' : `:${r.tag}`}${r.digest === undefined ? '' : `@${r.digest}`}`;
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + 1);
  });
  fc.assert(fc.property(mutated, parsesOrThrowsCustomsError), { numRuns: 3000 });
});
