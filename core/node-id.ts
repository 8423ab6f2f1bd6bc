/**
 * Node identity and election priority.
 *
 * Priority is the numeric suffix of the id, so `node-10` outranks `node-9` (a plain string
 * compare would get this wrong). Ids without a trailing number rank below every numbered id;
 * equal numbers (`a-1`, `b-1`) and un-numbered ids are ordered by string compare, so the order
 * is total and every node computes the same ranking.
 */

const TRAILING_NUMBER = /(\d+)$/;

/** The numeric suffix of `id`, or `null` when the id does not end in digits. */
export function nodePriority(id: string): number | null {
  const match = TRAILING_NUMBER.exec(id);
  if (match === null || match[1] === undefined) return null;
  return Number.parseInt(match[1], 10);
}

/** Negative when `a` ranks below `b`, positive when above, 0 only for the same id. */
export function compareNodeIds(a: string, b: string): number {
  if (a === b) return 0;
  const pa = nodePriority(a);
  const pb = nodePriority(b);
  if (pa !== null && pb === null) return 1;
  if (pa === null && pb !== null) return -1;
  if (pa !== null && pb !== null && pa !== pb) return pa < pb ? -1 : 1;
  return a < b ? -1 : 1;
}

/** Ids in ascending priority, without duplicates. */
export function sortByPriority(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort(compareNodeIds);
}

/** The highest-priority id, or `null` for an empty input. */
export function highestPriority(ids: Iterable<string>): string | null {
  let best: string | null = null;
  for (const id of ids) if (best === null || compareNodeIds(id, best) > 0) best = id;
  return best;
}

export function outranks(a: string, b: string): boolean {
  return compareNodeIds(a, b) > 0;
}
