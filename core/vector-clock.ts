/**
 * Vector clocks: one counter per node, missing entries count as 0.
 * Clocks are immutable plain objects (JSON-safe); every function returns a new clock.
 * Lookups use own properties only, so ids such as `__proto__` or `constructor` are safe.
 */

export type VectorClock = Readonly<Record<string, number>>;

export type CausalOrder = 'before' | 'after' | 'equal' | 'concurrent';

export const EMPTY_VECTOR_CLOCK: VectorClock = Object.freeze({});

export function entry(clock: VectorClock, nodeId: string): number {
  return Object.hasOwn(clock, nodeId) ? (clock[nodeId] ?? 0) : 0;
}

function set(out: Record<string, number>, key: string, value: number): void {
  // A plain assignment to `__proto__` would change the prototype instead of adding an entry.
  if (key === '__proto__')
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else out[key] = value;
}

/** Count one local event at `nodeId`. */
export function increment(clock: VectorClock, nodeId: string): VectorClock {
  // Spread and computed keys define own properties, so `__proto__` stays an ordinary entry.
  return { ...clock, [nodeId]: entry(clock, nodeId) + 1 };
}

/** Entrywise maximum. */
export function merge(a: VectorClock, b: VectorClock): VectorClock {
  const out: Record<string, number> = { ...a };
  for (const k in b) {
    if (!Object.hasOwn(b, k)) continue;
    const v = b[k] ?? 0;
    if (v > entry(out, k)) set(out, k, v);
  }
  return out;
}

/** Receive rule: merge the remote clock, then count the receive event locally. */
export function receive(local: VectorClock, remote: VectorClock, nodeId: string): VectorClock {
  return increment(merge(local, remote), nodeId);
}

/** How `a` relates to `b`: 'before' means a happened-before b. */
export function compare(a: VectorClock, b: VectorClock): CausalOrder {
  let aLess = false;
  let bLess = false;
  // for…in over own keys: no key arrays allocated (this runs for every message in the simulator).
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    const x = a[k] ?? 0;
    const y = entry(b, k);
    if (x < y) aLess = true;
    else if (x > y) bLess = true;
  }
  if (!aLess) {
    for (const k in b) {
      if (Object.hasOwn(b, k) && !Object.hasOwn(a, k) && (b[k] ?? 0) > 0) {
        aLess = true;
        break;
      }
    }
  }
  if (aLess && bLess) return 'concurrent';
  if (aLess) return 'before';
  if (bLess) return 'after';
  return 'equal';
}

/**
 * a ≥ b entrywise: `a` has seen everything `b` has (e.g. a replica clock covers a session token).
 */
export function dominates(a: VectorClock, b: VectorClock): boolean {
  for (const k of Object.keys(b)) if (entry(a, k) < (b[k] ?? 0)) return false;
  return true;
}

/** Alias of `dominates`, read as "replica clock covers token". */
export const covers = dominates;

/** True for a plain object whose values are non-negative safe integers (for parsing input). */
export function isVectorClock(value: unknown): value is VectorClock {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  );
}
