import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkClockTrace, type ClockTraceRecord } from './clock-check';
import * as rules from './clock-rules';

/** Builds a trace the way nodes do: by the clock rules, so an unaltered one is correct. */
class Trace {
  readonly records: ClockTraceRecord[] = [];
  private readonly clocks = new Map<string, rules.LogicalClock>();
  private seq = 0;

  private clock(node: string): rules.LogicalClock {
    return this.clocks.get(node) ?? rules.LOGICAL_START;
  }

  local(node: string): this {
    this.clocks.set(node, rules.tick(this.clock(node), node));
    this.records.push({ node, kind: 'local', clock: this.clock(node) });
    return this;
  }

  /** Send `type` from → to; returns the message id. */
  send(from: string, to: string, type: string): string {
    const rule = rules.clockRule(type);
    this.clocks.set(from, rules.send(this.clock(from), from, rule));
    const id = `${from}/boot/${++this.seq}`;
    this.records.push({
      node: from,
      kind: 'send',
      id,
      type,
      to,
      event: rule.send === 'tick',
      clock: this.clock(from),
    });
    return id;
  }

  receive(id: string): this {
    const sent = this.records.find((r) => r.kind === 'send' && r.id === id) as Extract<
      ClockTraceRecord,
      { kind: 'send' }
    >;
    const rule = rules.clockRule(sent.type);
    const node = sent.to;
    this.clocks.set(node, rules.receive(this.clock(node), node, rule, sent.clock));
    this.records.push({
      node,
      kind: 'receive',
      id,
      type: sent.type,
      from: sent.node,
      effect: rule.receive as 'receive' | 'observe',
      stamp: sent.clock,
      clock: this.clock(node),
    });
    return this;
  }

  restore(node: string, persisted: rules.LogicalClock): this {
    this.clocks.set(node, rules.restore(rules.LOGICAL_START, persisted));
    this.records.push({ node, kind: 'restore', clock: this.clock(node) });
    return this;
  }
}

/** a and b exchange events and heartbeats, c works alone, then hears from b. */
function scenario(): Trace {
  const t = new Trace();
  t.local('a').local('c');
  const e1 = t.send('a', 'b', 'election');
  t.local('c');
  t.receive(e1).local('b');
  const h1 = t.send('b', 'a', 'heartbeat');
  const r1 = t.send('a', 'b', 'repl');
  t.receive(h1).receive(r1).local('a');
  const h2 = t.send('b', 'c', 'heartbeat');
  t.local('c').receive(h2).local('c');
  return t;
}

function violations(records: readonly ClockTraceRecord[]): string[] {
  return checkClockTrace(records).violations.map((v) => `${v.check}: ${v.detail}`);
}

test('a trace built by the clock rules passes, and every pair of events is compared', () => {
  const report = checkClockTrace(scenario().records);
  assert.deepEqual(report.violations, []);
  assert.equal(report.messagesDelivered, 4);
  assert.equal(report.events, 11);
  assert.equal(report.pairsChecked, (11 * 10) / 2);
});

test('a receive stamp not above its send stamp is caught', () => {
  const t = scenario();
  const i = t.records.findIndex((r) => r.kind === 'receive' && r.type === 'election');
  const r = t.records[i]!;
  t.records[i] = { ...r, clock: { ...r.clock, lamport: 1 } }; // max() skipped: the sender's stamp was 2
  assert.ok(
    violations(t.records).some((v) =>
      /^lamport: b: received .* stamped L=2 and then read L=1/.test(v),
    ),
    violations(t.records).join('\n'),
  );
});

test('a vector that claims concurrency where a path exists is caught', () => {
  const t = scenario();
  // c's last event: the heartbeat from b gave it a path from a and b; forget b's entry.
  const i = t.records.length - 1;
  const r = t.records[i]!;
  const { b: _forgotten, ...vector } = r.clock.vector;
  t.records[i] = { ...r, clock: { ...r.clock, vector } };
  const found = violations(t.records);
  assert.ok(
    found.some((v) => /^vector: c: after local the vector clock is .*, the history gives/.test(v)),
    found.join('\n'),
  );
  assert.ok(
    found.some((v) =>
      /^vector: events .* the history says before, compare says concurrent/.test(v),
    ),
    found.join('\n'),
  );
});

test('a compare that answers "before" for concurrent events is caught', () => {
  const report = checkClockTrace(scenario().records, { compare: () => 'before' });
  assert.ok(
    report.violations.some((v) =>
      /the history says (concurrent|after), compare says before/.test(v.detail),
    ),
  );
});

test('a restart that resumes below what it stamped before is caught; resuming at it is not', () => {
  const good = scenario();
  const last = good.records.filter((r) => r.node === 'a').at(-1)!.clock;
  good.restore('a', last).local('a');
  assert.deepEqual(violations(good.records), []);
  const lost = scenario();
  lost.restore('a', { lamport: 1, vector: { a: 1 } }).local('a'); // the persisted copy lagged
  const found = violations(lost.records);
  assert.ok(
    found.some((v) => /^vector: a: the restore lost clock values/.test(v)),
    found.join('\n'),
  );
  assert.ok(
    found.some((v) => /^lamport: a: L went from 5 to 1 at restore/.test(v)),
    found.join('\n'),
  );
});

test('a receive with no recorded send, a stamp altered in transit and a double delivery are caught', () => {
  const t = scenario();
  const i = t.records.findIndex((r) => r.kind === 'receive' && r.type === 'repl');
  const r = t.records[i] as Extract<ClockTraceRecord, { kind: 'receive' }>;
  t.records.push({ ...r });
  t.records.push({ ...r, id: 'x/boot/99' });
  t.records[i] = { ...r, stamp: { ...r.stamp, lamport: r.stamp.lamport + 1 } };
  const found = violations(t.records).join('\n');
  assert.match(found, /was delivered twice/);
  assert.match(found, /received x\/boot\/99 \(repl\), which no trace records as sent/);
  assert.match(found, /stamped L=\d+ .* when sent, received with L=/);
});

test('heartbeats only observe: they carry knowledge without counting events', () => {
  const t = new Trace();
  t.local('a');
  const h = t.send('a', 'b', 'heartbeat');
  t.receive(h).local('b');
  const report = checkClockTrace(t.records);
  assert.deepEqual(report.violations, []);
  assert.equal(report.events, 2);
  assert.deepEqual(t.records.at(-1)!.clock, { lamport: 2, vector: { a: 1, b: 1 } });
});
