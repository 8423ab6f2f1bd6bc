/**
 * The clock rules of peer messages, in one place for the node shell and the simulator: for a
 * message type, what sending it and receiving it do to a node's logical clocks (Lamport and
 * vector). Pure functions over immutable values.
 *
 * - An **event** message (elections, Berkeley corrections, replication) ticks both clocks when it
 *   is sent (the stamp is the send event's) and runs the receive rule on arrival (max + 1, merge
 *   and count).
 * - A **knowledge** message (heartbeats and their replies, Berkeley clock polls) is stamped with
 *   the clock as it is and only merges on arrival (max, merge, no count): these arrive ten times a
 *   second per peer and would swamp the counters, yet merging keeps clocks comparable.
 * - An **unclocked** message (admin queries and switches, replies other than a heartbeat's)
 *   leaves the clocks alone on both ends.
 */
import * as lamport from './lamport-clock';
import * as vc from './vector-clock';

export type LogicalClock = { readonly lamport: number; readonly vector: vc.VectorClock };

export const LOGICAL_START: LogicalClock = {
  lamport: lamport.LAMPORT_START,
  vector: vc.EMPTY_VECTOR_CLOCK,
};

export type SendEffect = 'tick' | 'none';
export type ReceiveEffect = 'receive' | 'observe' | 'none';
export type ClockRule = { readonly send: SendEffect; readonly receive: ReceiveEffect };

export const EVENT_MESSAGE: ClockRule = { send: 'tick', receive: 'receive' };
export const KNOWLEDGE_MESSAGE: ClockRule = { send: 'none', receive: 'observe' };
export const UNCLOCKED_MESSAGE: ClockRule = { send: 'none', receive: 'none' };

const RULES: Readonly<Record<string, ClockRule>> = {
  heartbeat: KNOWLEDGE_MESSAGE,
  'heartbeat.reply': KNOWLEDGE_MESSAGE,
  'clock.poll': KNOWLEDGE_MESSAGE,
  election: EVENT_MESSAGE,
  'clock.adjust': EVENT_MESSAGE,
  'clock.history': UNCLOCKED_MESSAGE,
  'election.algorithm': UNCLOCKED_MESSAGE,
  'election.trigger': UNCLOCKED_MESSAGE,
  'election.stats': UNCLOCKED_MESSAGE,
  'repl.stats': UNCLOCKED_MESSAGE,
};

/** The rule of a message type; protocol messages not listed (replication) are events. */
export function clockRule(type: string): ClockRule {
  if (Object.hasOwn(RULES, type)) return RULES[type]!;
  return type.endsWith('.reply') ? UNCLOCKED_MESSAGE : EVENT_MESSAGE;
}

/** True when a message of this rule changes or carries clock knowledge (so a trace records it). */
export function isClocked(rule: ClockRule): boolean {
  return rule.receive !== 'none';
}

/** A local event (a booking, a hold, a message sent): tick both clocks. */
export function tick(clock: LogicalClock, nodeId: string): LogicalClock {
  return { lamport: lamport.tick(clock.lamport), vector: vc.increment(clock.vector, nodeId) };
}

/** The clock after sending a message of `rule`; it is also the stamp the message carries. */
export function send(clock: LogicalClock, nodeId: string, rule: ClockRule): LogicalClock {
  return rule.send === 'tick' ? tick(clock, nodeId) : clock;
}

/** The clock after receiving a message of `rule` stamped `stamp`. */
export function receive(
  clock: LogicalClock,
  nodeId: string,
  rule: ClockRule,
  stamp: LogicalClock,
): LogicalClock {
  if (rule.receive === 'receive')
    return {
      lamport: lamport.receive(clock.lamport, stamp.lamport),
      vector: vc.receive(clock.vector, stamp.vector, nodeId),
    };
  if (rule.receive === 'observe')
    return {
      lamport: Math.max(clock.lamport, stamp.lamport),
      vector: vc.merge(clock.vector, stamp.vector),
    };
  return clock;
}

/** Resume from persisted clocks after a restart: never below either (so no counter repeats). */
export function restore(clock: LogicalClock, persisted: LogicalClock): LogicalClock {
  return {
    lamport: Math.max(clock.lamport, persisted.lamport),
    vector: vc.merge(clock.vector, persisted.vector),
  };
}
