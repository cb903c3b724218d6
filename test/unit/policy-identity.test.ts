// signedIdentity rules, table-driven from containers/image signature/policy_reference_match_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identityMatches, parseNormalizedDockerName, type SignedIdentity } from '../../src/policy/index.js';

const digestSuffix = '@sha256:0000000000000000000000000000000000000000000000000000000000000000';
const digestSuffixOther = '@sha256:1111111111111111111111111111111111111111111111111111111111111111';
const fullRHELRef = 'registry.access.redhat.com/rhel7/rhel:7.2.3';
const untaggedRHELRef = 'registry.access.redhat.com/rhel7/rhel';

type Row = [string, string, boolean];

const exactTable: Row[] = [
  ['busybox:latest', 'busybox:latest', true],
  [fullRHELRef, fullRHELRef, true],
  ['busybox' + digestSuffix, 'busybox' + digestSuffix, true],
  ['library/busybox:latest', 'busybox:latest', true],
  ['docker.io/library/busybox:latest', 'busybox:latest', true],
  ['library/busybox' + digestSuffix, 'busybox' + digestSuffix, true],
  ['busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', 'notbusybox:latest', false],
  ['busybox:latest', 'hostname/library/busybox:notlatest', false],
  ['hostname/library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', fullRHELRef, false],
  ['busybox' + digestSuffix, 'notbusybox' + digestSuffix, false],
  ['busybox:latest', 'busybox' + digestSuffix, false],
  ['busybox' + digestSuffix, 'busybox' + digestSuffixOther, false],
  ['busybox', 'busybox:latest', false],
  ['busybox', 'busybox' + digestSuffix, false],
  ['busybox', 'busybox', false],
  ['busybox:latest' + digestSuffix, 'busybox:latest' + digestSuffix, true],
  ['busybox:latest' + digestSuffix, 'busybox:latest' + digestSuffixOther, false],
  ['busybox:latest' + digestSuffix, 'busybox:notlatest' + digestSuffix, false],
  ['busybox:latest' + digestSuffix, 'busybox' + digestSuffix, false],
  ['busybox:latest' + digestSuffix, 'busybox:latest', false],
  ['UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', false],
  ['', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', false],
  ['INVALID', 'INVALID', false],
];

const repositoryTable: Row[] = [
  ['busybox:latest', 'busybox:latest', true],
  [fullRHELRef, fullRHELRef, true],
  ['busybox' + digestSuffix, 'busybox' + digestSuffix, true],
  ['library/busybox:latest', 'busybox:latest', true],
  ['docker.io/library/busybox:latest', 'busybox:latest', true],
  ['library/busybox' + digestSuffix, 'busybox' + digestSuffix, true],
  ['busybox:latest', 'busybox:notlatest', true],
  [fullRHELRef + 'tagsuffix', fullRHELRef, true],
  ['library/busybox:latest', 'busybox:notlatest', true],
  ['busybox:latest', 'library/busybox:notlatest', true],
  ['docker.io/library/busybox:notlatest', 'busybox:latest', true],
  ['busybox:notlatest', 'docker.io/library/busybox:latest', true],
  ['busybox:latest', 'busybox' + digestSuffix, true],
  ['busybox' + digestSuffix, 'busybox' + digestSuffixOther, true],
  ['busybox', 'busybox:notlatest', true],
  [fullRHELRef, untaggedRHELRef, true],
  ['busybox', 'busybox' + digestSuffix, true],
  ['library/busybox', 'busybox', true],
  ['docker.io/library/busybox', 'busybox', true],
  ['busybox:latest', 'notbusybox:latest', false],
  ['hostname/library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', fullRHELRef, false],
  ['busybox' + digestSuffix, 'notbusybox' + digestSuffix, false],
  ['busybox:latest' + digestSuffix, 'busybox:latest' + digestSuffix, true],
  ['busybox:latest' + digestSuffix, 'busybox:latest' + digestSuffixOther, true],
  ['busybox:latest' + digestSuffix, 'busybox:notlatest' + digestSuffix, true],
  ['busybox:latest' + digestSuffix, 'busybox' + digestSuffix, true],
  ['busybox:latest' + digestSuffix, 'busybox:latest', true],
  ['UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', false],
  ['', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', false],
  ['INVALID', 'INVALID', false],
];

const repoDigestOrExactExtra: Row[] = [
  ['busybox:latest', 'busybox:notlatest', false],
  [fullRHELRef + 'tagsuffix', fullRHELRef, false],
  ['library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', 'library/busybox:notlatest', false],
  ['docker.io/library/busybox:notlatest', 'busybox:latest', false],
  ['busybox:notlatest', 'docker.io/library/busybox:latest', false],
  ['busybox', 'busybox:latest', false],
  ['busybox:latest', 'busybox', false],
  ['busybox', 'busybox' + digestSuffix, false],
  ['busybox' + digestSuffix, 'busybox', false],
  [fullRHELRef, untaggedRHELRef, false],
  ['busybox', 'busybox', false],
  ['busybox:latest', 'busybox' + digestSuffix, false],
  ['busybox' + digestSuffix, 'busybox:latest', true],
  ['busybox' + digestSuffix, 'busybox' + digestSuffixOther, true],
  ['busybox:latest' + digestSuffix, 'busybox:latest', false],
  ['busybox:latest' + digestSuffix, 'busybox:notlatest', false],
  ['busybox:latest', 'busybox:latest' + digestSuffix, false],
  ['busybox:latest' + digestSuffix, 'busybox:latest' + digestSuffixOther, false],
  ['busybox:latest' + digestSuffix, 'busybox:notlatest' + digestSuffixOther, false],
];

/** The image side as containers/image tests build it: ParseNormalizedNamed; invalid images are skipped. */
function imageAndSig(identity: SignedIdentity, imageRef: string, sigRef: string): boolean | undefined {
  const image = parseNormalizedDockerName(imageRef);
  if (image === undefined) return undefined;
  return identityMatches(identity, image, sigRef);
}

function checkSymmetric(identity: SignedIdentity, rows: Row[], only?: boolean): void {
  for (const [a, b, want] of rows) {
    if (only !== undefined && want !== only) continue;
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const got = imageAndSig(identity, x, y);
      if (got !== undefined) assert.equal(got, want, `${identity.type}: ${x} vs ${y}`);
    }
  }
}

test('matchExact follows the containers/image exact-match table', () => {
  checkSymmetric({ type: 'matchExact' }, exactTable);
});

test('matchRepository follows the containers/image repository-match table', () => {
  checkSymmetric({ type: 'matchRepository' }, repositoryTable);
});

test('matchRepoDigestOrExact accepts what matchExact accepts, rejects what matchRepository rejects, and the asymmetric cases', () => {
  const id: SignedIdentity = { type: 'matchRepoDigestOrExact' };
  checkSymmetric(id, exactTable, true);
  checkSymmetric(id, repositoryTable, false);
  for (const [image, sig, want] of repoDigestOrExactExtra) {
    assert.equal(imageAndSig(id, image, sig), want, `${image} vs ${sig}`);
  }
});

test('exactReference and exactRepository compare the signature with the policy value, not the image', () => {
  const unrelated = parseNormalizedDockerName('unrelated.example/x:1')!;
  for (const [a, b, want] of exactTable) {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      assert.equal(identityMatches({ type: 'exactReference', dockerReference: x }, unrelated, y), want, `${x} vs ${y}`);
    }
  }
  for (const [a, b, want] of repositoryTable) {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      assert.equal(
        identityMatches({ type: 'exactRepository', dockerRepository: x }, unrelated, y),
        want,
        `${x} vs ${y}`,
      );
    }
  }
});

test('remapIdentity rewrites a matching prefix, then applies matchRepoDigestOrExact', () => {
  const rows: [string, string, string, string, boolean][] = [
    ['does-not-match.com', 'does-not-match.rewritten', 'busybox:latest', 'busybox:latest', true],
    ['does-not-match.com', 'does-not-match.rewritten', 'busybox:latest', 'notbusybox:latest', false],
    ['mirror.example', 'public.com', 'mirror.example/busybox:1', 'public.com/busybox:1', true],
    ['mirror.example', 'public.com', 'mirror.example/busybox:1', 'public.com/busybox:not1', false],
    ['mirror.example', 'docker.io/library', 'mirror.example/busybox:latest', 'busybox:latest', true],
    ['mirror.example', 'docker.io/library', 'mirror.example/alpine:latest', 'busybox:latest', false],
    ['docker.io/library', 'original.com', 'copied:latest', 'original.com/copied:latest', true],
    ['docker.io/library', 'original.com', 'copied:latest', 'original.com/ns/copied:latest', false],
    ['busybox', 'example.com/busybox', 'busybox:latest', 'example.com/busybox:latest', false],
    ['docker.io/library/busybox', 'busybox', 'docker.io/library/busybox:latest', 'busybox:latest', false],
    ['example.com', 'UPPERCASE', 'example.com/foo:latest', 'UPPERCASE/foo:latest', false],
    // Prefix matching is by whole path components (refMatchesPrefix table).
    ['docker.io/library', 'vendor.example', 'docker.io/libraryy/image:1', 'vendor.example/image:1', false],
    ['example.com:5000', 'vendor.example', 'example.com:50000/image:1', 'vendor.example/image:1', false],
    ['mirror.example', 'vendor.example', 'prefixmirror.example/ns/image:tag', 'vendor.example/ns/image:tag', false],
    // Rewrites that produce a non-canonical name never match.
    ['mirror.example/ns/image', 'notlocalhost', 'mirror.example/ns/image:tag', 'notlocalhost:tag', false],
  ];
  for (const [prefix, signedPrefix, image, sig, want] of rows) {
    assert.equal(
      imageAndSig({ type: 'remapIdentity', prefix, signedPrefix }, image, sig),
      want,
      `${prefix}→${signedPrefix}: ${image} vs ${sig}`,
    );
  }
});

test('index.docker.io in a signature is docker.io, as distribution normalizes it', () => {
  const image = parseNormalizedDockerName('docker.io/library/busybox:1')!;
  assert.equal(identityMatches({ type: 'matchRepository' }, image, 'index.docker.io/library/busybox'), true);
  assert.equal(identityMatches({ type: 'matchRepository' }, image, 'Docker.io/library/busybox'), false);
});
