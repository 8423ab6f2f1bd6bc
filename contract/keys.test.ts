import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fillPath, openApiPath, splitKey } from './keys';

test('a key splits into method and path; a path is filled in (encoded) or made OpenAPI', () => {
  assert.deepEqual(splitKey('POST /api/bookings/:id/cancel'), ['POST', '/api/bookings/:id/cancel']);
  assert.equal(
    fillPath('/api/bookings/:id/cancel', { id: 'a b/c' }),
    '/api/bookings/a%20b%2Fc/cancel',
  );
  assert.equal(fillPath('/api/movies/:id', { id: 7 }), '/api/movies/7');
  assert.equal(openApiPath('/api/showtimes/:id/events'), '/api/showtimes/{id}/events');
});
