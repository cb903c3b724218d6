// Strict tar: Go archive/tar testdata (neg-size.tar, issue10968.tar, pax-bad-hdr-file.tar, pax-nul-path.tar,
// gnu-nil-sparse, writer-big), GNU tar manual checksum rules, node-tar CVE-2021-37712 (long-name confusion).
import { describe, it } from 'node:test';
import { Scene, SANDBOXES } from './harness.js';
import { entry, file, gnuLongName, header, pax, paxRecord, tar } from './tar-builder.js';

const MiB = 1024 * 1024;

const cases: { name: string; code: string; tar: () => Buffer }[] = [
  {
    // GNU tar "Basic Tar Format": a header whose checksum does not match is not a header.
    name: 'refuses a bad header checksum',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(entry({ name: 'f', checksum: 1234 }, 'x')),
  },
  {
    // Go archive/tar testdata neg-size.tar: negative base-256 size.
    name: 'refuses a negative size',
    code: 'ARCHIVE_INVALID',
    tar: () =>
      Buffer.concat([
        header({ name: 'f', rawSize: Buffer.from([0xff, ...new Array<number>(11).fill(0xff)]) }),
        Buffer.alloc(1024),
      ]),
  },
  {
    // Go archive/tar: ErrHeader on a size field that is not octal.
    name: 'refuses a non-octal size',
    code: 'ARCHIVE_INVALID',
    tar: () => Buffer.concat([header({ name: 'f', rawSize: Buffer.from('0000000009x\0') }), Buffer.alloc(1024)]),
  },
  {
    // Go archive/tar testdata issue10968.tar / truncated archives: data ends inside a body.
    name: 'refuses truncated entry data',
    code: 'ARCHIVE_INVALID',
    tar: () => file('f', Buffer.alloc(4096, 1)).subarray(0, 1024),
  },
  {
    // Truncated inside a header block.
    name: 'refuses a truncated header',
    code: 'ARCHIVE_INVALID',
    tar: () => file('f', 'x').subarray(0, 300),
  },
  {
    // Media-type confusion: a JSON document labelled as a tar layer is not sniffed or guessed at.
    name: 'refuses a non-tar payload',
    code: 'ARCHIVE_INVALID',
    tar: () => Buffer.from(JSON.stringify({ schemaVersion: 2 }).padEnd(2048, ' ')),
  },
  {
    // Go archive/tar refuses v7 headers without magic only by checksum; customs requires ustar magic.
    name: 'refuses a header without ustar magic',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(entry({ name: 'f', magic: 'none' }, 'x')),
  },
  {
    // Go archive/tar testdata pax-bad-hdr-file.tar: record length that does not match.
    name: 'refuses a PAX record with a wrong length',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(pax(Buffer.from('99 path=x\n')), file('f', 'x')),
  },
  {
    // POSIX pax: each record ends in a newline.
    name: 'refuses a PAX record without its newline',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(pax(Buffer.from('11 path=abc')), file('f', 'x')),
  },
  {
    // Parser differential: Go keeps the last duplicate key, others the first.
    name: 'refuses duplicate PAX keys',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(pax(Buffer.concat([paxRecord('path', 'a'), paxRecord('path', 'b')])), file('f', 'x')),
  },
  {
    // Go archive/tar testdata pax-nul-path.tar: NUL in a PAX path truncates it in C tools.
    name: 'refuses NUL in a PAX path',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(pax(paxRecord('path', Buffer.from('ok\0../../canary'))), file('f', 'x')),
  },
  {
    // Go archive/tar testdata pax-bad-mtime-file.tar.
    name: 'refuses a malformed PAX size',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(pax(paxRecord('size', '-1')), file('f', 'x')),
  },
  {
    // PAX bomb: a header that asks the reader to hold gigabytes in memory (Go caps at 1 MiB: errors ErrFieldTooLong).
    name: 'refuses a PAX header over 1 MiB',
    code: 'LIMIT_EXCEEDED',
    tar: () => tar(pax(paxRecord('comment', 'A'.repeat(MiB + 10))), file('f', 'x')),
  },
  {
    // GNU long-name bomb.
    name: 'refuses a GNU long name over 1 MiB',
    code: 'LIMIT_EXCEEDED',
    tar: () => tar(gnuLongName('a'.repeat(MiB + 10)), entry({ name: 'f', magic: 'gnu' }, 'x')),
  },
  {
    // node-tar CVE-2021-37712 family: two names for one entry; tools disagree which wins.
    name: 'refuses both a PAX path and a GNU long name',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(pax(paxRecord('path', 'a')), gnuLongName('b'), entry({ name: 'f', magic: 'gnu' }, 'x')),
  },
  {
    // Go skips bodies of header-only types, GNU tar reads them: a differential that hides entries.
    name: 'refuses a directory entry with a body',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(entry({ name: 'd', typeflag: '5' }, file('hidden', 'x'))),
  },
  {
    // Go archive/tar testdata sparse-formats.tar: sparse maps are not applied, so refused.
    name: 'refuses GNU sparse files',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(entry({ name: 'f', typeflag: 'S', magic: 'gnu' }, 'x')),
  },
  {
    // Smuggled second archive after the end marker (parsers that ignore the marker see more entries).
    name: 'refuses data after the end-of-archive marker',
    code: 'ARCHIVE_INVALID',
    tar: () => Buffer.concat([tar(file('a', 'x')), file('b', 'y'), Buffer.alloc(1024)]),
  },
  {
    // A PAX header that is not followed by any entry.
    name: 'refuses a dangling PAX header',
    code: 'ARCHIVE_INVALID',
    tar: () => tar(pax(paxRecord('path', 'a'))),
  },
  {
    // umoci/containerd: the root of the image must be a directory.
    name: 'refuses a root entry that is not a directory',
    code: 'UNSAFE_PATH',
    tar: () => tar(entry({ name: './', typeflag: '2', linkname: '/' })),
  },
  {
    // A regular-file root entry ("." as a file) would make DEST a file.
    name: 'refuses a root entry that is a regular file',
    code: 'UNSAFE_PATH',
    tar: () => tar(file('.', 'x')),
  },
];

for (const sandbox of SANDBOXES) {
  describe(`strict tar (sandbox ${sandbox})`, () => {
    for (const c of cases) {
      it(c.name, async () => {
        const s = new Scene();
        try {
          await s.assertRefused([s.plain(c.tar())], c.code, sandbox);
        } finally {
          s.cleanup();
        }
      });
    }
  });
}
