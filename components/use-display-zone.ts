'use client';

import { useSyncExternalStore } from 'react';
import { SERVER_ZONE, VISITOR_ZONE, type DateZone } from '@/client/format';

const never = () => () => {};

/**
 * The zone to show dates in: the server's while hydrating what the server rendered (so both
 * renders agree), the visitor's own from the next render on — and at once on a page the browser
 * renders itself.
 */
export function useDisplayZone(): DateZone {
  return useSyncExternalStore(
    never,
    () => VISITOR_ZONE,
    () => SERVER_ZONE,
  );
}
