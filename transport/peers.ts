import type { Peer } from './transport';

/** CLUSTER_PEERS ("node-2=http://127.0.0.1:3002,…"): the peers, when they replace discovery. */
export function parsePeerList(value: string): Peer[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new Error(`CLUSTER_PEERS entry "${part}" is not id=url`);
      return { id: part.slice(0, eq), url: new URL(part.slice(eq + 1)).origin };
    });
}
