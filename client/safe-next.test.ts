import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { safeNextPath } from './safe-next';

const SITE = 'https://site.example';

test('paths of the site are kept, with their query and fragment', () => {
  for (const path of ['/', '/bookings', '/movies/3?showtime=12&seats=F7,F8', '/monitor#chaos', '/movies/a%20b']) {
    assert.equal(safeNextPath(path), path);
  }
});

test('anything that leaves the site, or could once decoded, becomes /', () => {
  const hostile = [
    '//evil.com', '/\\evil.com', '\\\\evil.com', 'https://evil.com', 'http:evil.com', 'javascript:alert(1)',
    '/%5Cevil.com', '/%2F/evil.com', '%2F%2Fevil.com', '/%252F/evil.com', '/\t/evil.com', '/\n/evil.com',
    ' /evil', 'evil.com', '', '/%E0%A4%A', '/%2525252525252F', `/${'a'.repeat(5_000)}`,
  ];
  for (const value of hostile) assert.equal(safeNextPath(value), '/', JSON.stringify(value));
  assert.equal(safeNextPath(null), '/');
  assert.equal(safeNextPath(undefined), '/');
});

test('whatever it returns stays on the site', () => {
  const pieces = fc.constantFrom('/', '\\', '%', '2F', '5C', '5c', '25', ':', '.', 'evil.com', 'javascript', '\t', '\n', '?', '#', '@', 'a', ' ');
  const arbitraryNext = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')));
  fc.assert(
    fc.property(arbitraryNext, (value) => {
      const next = safeNextPath(value);
      assert.equal(new URL(next, SITE).origin, SITE);
      assert.ok(next.startsWith('/') && !next.startsWith('//'), next);
      // The browser must not reinterpret it either: once more through the sanitizer, unchanged.
      assert.equal(safeNextPath(next), next);
    }),
    { numRuns: 5_000 },
  );
});
