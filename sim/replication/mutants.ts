/**
 * Deliberately broken replication cores, for proving that the simulator's checkers can fail.
 * Each wraps a correct core and breaks one rule.
 */
import { EMPTY_VECTOR_CLOCK } from '../../core/vector-clock';
import { createReplication } from '../../core/replication/index';
import { catchUpId } from '../../core/replication/master-slave';
import type { Outgoing, ReplicationConfig, ReplicationCore, StepResult, ReplicaState } from '../../core/replication/replication';
import { absorbSeen } from '../../core/replication/store';
import type { ReplicationMode } from '../../core/vocabulary';

type Factory = (config: Partial<ReplicationConfig>) => ReplicationCore;

function wrap(mode: ReplicationMode, change: (core: ReplicationCore) => ReplicationCore['step']): Factory {
  return (config) => {
    const core = createReplication(mode, config);
    return { ...core, step: change(core) };
  };
}

/** Exchanges digests but forgets to send the entries the other lacks. */
export const forgetfulGossip: Factory = wrap('gossip', (core) => (state, event) => {
  const r = core.step(state, event);
  const send = r.send.map((o): Outgoing => (o.msg.type === 'syncReply' || o.msg.type === 'syncEntries' ? { ...o, msg: { ...o.msg, entries: [] } } : o));
  return { ...r, send };
});

/** Trusts a peer's `seen` as soon as it hears it, before receiving the entries behind it. */
export const credulousGossip: Factory = wrap('gossip', (core) => (state, event) => {
  if (event.type === 'message' && event.msg.type === 'sync') {
    const r = core.step(state, event);
    return { ...r, state: { ...r.state, store: absorbSeen(r.state.store, event.msg.seen) } };
  }
  return core.step(state, event);
});

/** Causal reads that ignore the session token (served from whatever the local replica holds). */
export function tokenBlind(mode: ReplicationMode): Factory {
  return wrap(mode, (core) => (state, event) => core.step(state, event.type === 'read' && event.consistency === 'causal' ? { ...event, token: EMPTY_VECTOR_CLOCK } : event));
}

/** Multi-master without hinted handoff, read repair or anti-entropy: only the first push of a write. */
export const noRepairMultiMaster: Factory = wrap('multi-master', (core) => (state, event) => {
  if (event.type === 'timer' && event.name === 'retry') return { state, send: [], effects: [{ type: 'setTimer', name: 'retry', afterMs: state.config.retryIntervalMs }] };
  const r = core.step(state, event);
  const send = r.send.filter((o) => o.msg.type !== 'sync' && !(o.msg.type === 'replicate' && event.type === 'message'));
  return { ...r, send };
});

/**
 * A new master that does not catch up: its catch-up requests are answered at once by fake,
 * empty replies, so it starts writing and serving strong reads from its own, possibly stale, replica.
 */
export const amnesiacMaster: Factory = wrap('master-slave', (core) => (state, event) => {
  let r: StepResult<ReplicaState> = core.step(state, event);
  const fakes = r.send.filter((o) => o.msg.type === 'sync' && o.msg.id === catchUpId(r.state.epoch));
  if (fakes.length === 0) return r;
  const send = r.send.filter((o) => !fakes.includes(o));
  const effects = [...r.effects];
  for (const { to } of fakes) {
    const epoch = r.state.epoch;
    r = core.step(r.state, { type: 'message', now: event.now, from: to, msg: { type: 'syncReply', id: catchUpId(epoch), epoch, digest: r.state.store.digest, seen: {}, entries: [] } });
    effects.push(...r.effects);
    send.push(...r.send.filter((o) => o.msg.type !== 'syncEntries'));
  }
  return { state: r.state, send, effects };
});

/** Master-slave whose master answers strong reads without confirming it still leads. */
export const unconfirmedMaster: Factory = wrap('master-slave', (core) => (state, event) => {
  const r = core.step(state, event);
  const checks = r.send.filter((o) => o.msg.type === 'leaderCheck');
  if (checks.length === 0) return r;
  let out = { ...r, send: r.send.filter((o) => !checks.includes(o)) };
  const first = checks[0];
  if (first === undefined || first.msg.type !== 'leaderCheck') return out;
  const epoch = first.msg.epoch;
  const id = first.msg.id;
  // Pretend every peer confirmed.
  for (const { to } of checks) {
    const next = core.step(out.state, { type: 'message', now: event.now, from: to, msg: { type: 'leaderCheckReply', epoch, id, ok: true } });
    out = { state: next.state, send: [...out.send, ...next.send], effects: [...out.effects, ...next.effects] };
  }
  return out;
});
