import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChecksumLines, sha256File, verifyChecksumFile } from '../../src/trust/index.js';
import { gnupgHome } from '../helpers/trust-fixtures.js';

const home = gnupgHome('fedora test <f@example.test>');
after(() => home.cleanup());

const archive = Buffer.from('pretend this is image.tar\n');
const archiveHex = createHash('sha256').update(archive).digest('hex');
const otherHex = 'f'.repeat(64);
const gnuSums = `${archiveHex}  image.tar\n${otherHex} *other.tar\n`;
const bsdSums = `# Fedora-Container-Base: 123 bytes\nSHA256 (image.tar) = ${archiveHex}\nSHA256 (other.tar) = ${otherHex}\n`;

function clearsign(text: string): Buffer {
  return home.gpg(['--clearsign', '--local-user', home.fingerprint], text);
}
function detach(text: string, armor = false): Buffer {
  return home.gpg(['--detach-sign', ...(armor ? ['--armor'] : []), '--local-user', home.fingerprint], text);
}

test('a clearsigned BSD-style CHECKSUM file (Fedora) verifies the archive', async () => {
  const v = await verifyChecksumFile({
    sums: clearsign(bsdSums),
    publicKeys: home.publicKeyArmored(),
    fileName: 'image.tar',
    fileDigestHex: archiveHex,
  });
  assert.equal(v.expectedHex, archiveHex);
  assert.equal(v.keyFingerprint, home.fingerprint);
});

test('a GNU SHA256SUMS with binary and armored detached signatures verifies', async () => {
  for (const armor of [false, true]) {
    const v = await verifyChecksumFile({
      sums: Buffer.from(gnuSums),
      signature: detach(gnuSums, armor),
      publicKeys: home.publicKeyArmored(),
      fileName: 'image.tar',
      fileDigestHex: archiveHex.toUpperCase(),
    });
    assert.equal(v.expectedHex, archiveHex);
  }
});

test('a file whose digest differs from the signed one is refused naming both', async () => {
  await assert.rejects(
    verifyChecksumFile({
      sums: clearsign(bsdSums),
      publicKeys: home.publicKeyArmored(),
      fileName: 'image.tar',
      fileDigestHex: otherHex,
    }),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SIGNATURE_INVALID');
      assert.match((err as Error).message, new RegExp(`expected ${archiveHex}, got ${otherHex}`));
      return true;
    },
  );
});

test('an unsigned checksum file is SIGNATURE_MISSING', async () => {
  await assert.rejects(
    verifyChecksumFile({
      sums: Buffer.from(gnuSums),
      publicKeys: home.publicKeyArmored(),
      fileName: 'image.tar',
      fileDigestHex: archiveHex,
    }),
    { code: 'SIGNATURE_MISSING' },
  );
});

test('a name listed twice or not at all is refused', async () => {
  const twice = `${archiveHex}  image.tar\n${otherHex}  image.tar\n`;
  await assert.rejects(
    verifyChecksumFile({
      sums: Buffer.from(twice),
      signature: detach(twice),
      publicKeys: home.publicKeyArmored(),
      fileName: 'image.tar',
      fileDigestHex: archiveHex,
    }),
    /expected exactly 1 entry, got 2/,
  );
  await assert.rejects(
    verifyChecksumFile({
      sums: clearsign(gnuSums),
      publicKeys: home.publicKeyArmored(),
      fileName: 'missing.tar',
      fileDigestHex: archiveHex,
    }),
    /expected exactly 1 entry, got 0/,
  );
});

test('a tampered clearsigned file is refused', async () => {
  const signed = clearsign(gnuSums).toString().replace(otherHex, 'e'.repeat(64));
  await assert.rejects(
    verifyChecksumFile({
      sums: Buffer.from(signed),
      publicKeys: home.publicKeyArmored(),
      fileName: 'image.tar',
      fileDigestHex: archiveHex,
    }),
    { code: 'SIGNATURE_INVALID' },
  );
});

test('checksum lines: GNU, BSD, comments; unknown lines refused', () => {
  const m = parseChecksumLines(`${gnuSums}\r\n${bsdSums}`);
  assert.deepEqual(m.get('image.tar'), [archiveHex, archiveHex]);
  assert.throws(() => parseChecksumLines('MD5 (x) = abc\n'), /line 1: expected/);
  assert.throws(() => parseChecksumLines(`\\${archiveHex}  a\\nb\n`), /line 1/);
});

test('sha256File hashes a file', async () => {
  const p = join(home.dir, 'image.tar');
  writeFileSync(p, archive);
  assert.equal(await sha256File(p), archiveHex);
  assert.equal(readFileSync(p).length, archive.length);
});
