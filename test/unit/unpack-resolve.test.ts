import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cleanArchivePath } from '../../src/unpack/resolve-in-root.js';

describe('cleanArchivePath', () => {
  it('never yields "..", ".", or empty components, whatever the input', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('..', '.', '', 'a', 'b', '/', '...', '.wh.x')), (parts) => {
        const { components } = cleanArchivePath(parts.join('/'), 1024);
        for (const c of components) assert.ok(c !== '..' && c !== '.' && c !== '' && !c.includes('/'));
      }),
    );
  });

  it('clamps .. at the root and says so', () => {
    assert.deepEqual(cleanArchivePath('../../etc/passwd', 1024), { components: ['etc', 'passwd'], clamped: true });
    assert.deepEqual(cleanArchivePath('/etc/passwd', 1024), { components: ['etc', 'passwd'], clamped: true });
    assert.deepEqual(cleanArchivePath('./a/../b/', 1024), { components: ['b'], clamped: false });
  });

  it('treats the root spellings as the root', () => {
    for (const p of ['.', './', '/', '//', 'a/..']) assert.deepEqual(cleanArchivePath(p, 1024).components, []);
  });

  it('refuses paths deeper than the limit', () => {
    assert.throws(() => cleanArchivePath('a/'.repeat(11), 10), { code: 'LIMIT_EXCEEDED' });
  });
});
