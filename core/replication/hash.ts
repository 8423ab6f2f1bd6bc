/**
 * Stable, non-cryptographic hashes for replica digests. They only need to be the same in every
 * process (they hash UTF-16 code units, as every JavaScript engine stores strings) and to make
 * accidental collisions unlikely; nothing here defends against a forged entry (peer messages are
 * signed by the shell).
 */

/** FNV-1a, 32 bits. Used to put a key into a digest bucket. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** cyrb53's two 32-bit lanes, kept apart: a 64-bit hash as [hi, lo]. */
export function hash64(text: string): readonly [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}

export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
