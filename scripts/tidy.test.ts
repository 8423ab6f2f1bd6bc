import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { sourceFiles } from '../harness/source-files';
import * as vocabulary from '../core/vocabulary';

/**
 * Style as a test (TigerBeetle's `tidy`). In core/ and contract/ the limits hold outright:
 * functions of at most 70 lines, lines of at most 100 columns (their tests excepted; Prettier keeps
 * both rooms within them). Everywhere else a ratchet: per room, the functions and lines over
 * those limits may only become fewer — `scripts/tidy-baseline.json` holds today's
 * counts, and must be lowered when the code gets better (the test says to what). And the shared
 * words (core/vocabulary.ts) are spelled out nowhere else.
 */

const MAX_FUNCTION_LINES = 70;
const MAX_LINE_COLUMNS = 100;
const STRICT_ROOMS = new Set(['core', 'contract']);
const BASELINE_FILE = path.join('scripts', 'tidy-baseline.json');

type Finding = { file: string; line: number; what: string };
type Counts = { longFunctions: number; longLines: number };

const VOCABULARY_FILE = path.join('core', 'vocabulary.ts');
const WORD_LISTS = Object.entries(vocabulary as Record<string, unknown>)
  .filter((e): e is [string, readonly string[]] => Array.isArray(e[1]));

/** The shared list an array literal or a union of string literals alone spells, if any. */
function spelledList(node: ts.ArrayLiteralExpression | ts.UnionTypeNode): string | undefined {
  const members = ts.isUnionTypeNode(node) ? node.types : node.elements;
  if (members.length < 2) return undefined;
  const words = members.map((m) => (ts.isLiteralTypeNode(m) ? m.literal : m));
  if (!words.every(ts.isStringLiteral)) return undefined;
  const spelled = words.map((w) => (w as ts.StringLiteral).text);
  // A union has no order; an array in another order (or with repeats) is a sequence or a mix of
  // its own — the order of a test's mode switches, the weights of a workload — not a copy.
  const copies = (list: readonly string[]) => ts.isUnionTypeNode(node)
    ? new Set(spelled).size === list.length && list.every((w) => spelled.includes(w))
    : spelled.join() === list.join();
  return WORD_LISTS.find(([, list]) => copies(list))?.[0];
}

type Findings = { longFunctions: Finding[]; longLines: Finding[]; vocabularyCopies: Finding[] };

/**
 * One file, parsed and walked once: functions longer than the limit and lines wider than it
 * (tests included), and copies of the shared word lists (core/vocabulary.ts itself excepted).
 */
export function findingsOf(file: string, text: string): Findings {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const longFunctions: Finding[] = [];
  const vocabularyCopies: Finding[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = lineOf(node);
      const lines = source.getLineAndCharacterOfPosition(node.getEnd()).line + 2 - first;
      const name = (node as ts.FunctionDeclaration).name?.getText(source) ?? '(anonymous)';
      if (lines > MAX_FUNCTION_LINES) longFunctions.push({ file, line: first, what: `${name}: ${lines} lines` });
    }
    if (file !== VOCABULARY_FILE && (ts.isArrayLiteralExpression(node) || ts.isUnionTypeNode(node))) {
      const list = spelledList(node);
      if (list) vocabularyCopies.push({ file, line: lineOf(node), what: `spells ${list}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const longLines = text.split('\n').flatMap((l, i) => (l.length > MAX_LINE_COLUMNS ? [{ file, line: i + 1, what: `${l.length} columns` }] : []));
  return { longFunctions, longLines, vocabularyCopies };
}

/** A file's room (its first folder); the tests of a strict room are ratcheted as a room of their own. */
function roomOf(file: string): string {
  const room = file.includes(path.sep) ? file.split(path.sep)[0]! : '.';
  return STRICT_ROOMS.has(room) && /\.test\.tsx?$/.test(file) ? `${room} (tests)` : room;
}
const list = (findings: Finding[]) => findings.map((f) => `  ${f.file}:${f.line} ${f.what}`).join('\n');

const byRoom = new Map<string, { longFunctions: Finding[]; longLines: Finding[] }>();
const vocabularyCopies: Finding[] = [];
for (const file of sourceFiles('.', (name) => /\.tsx?$/.test(name) && !name.endsWith('.d.ts'))) {
  const found = findingsOf(file, fs.readFileSync(file, 'utf8'));
  const room = byRoom.get(roomOf(file)) ?? { longFunctions: [], longLines: [] };
  room.longFunctions.push(...found.longFunctions);
  room.longLines.push(...found.longLines);
  byRoom.set(roomOf(file), room);
  vocabularyCopies.push(...found.vocabularyCopies);
}

test(`core/ and contract/: no function over ${MAX_FUNCTION_LINES} lines, no line over ${MAX_LINE_COLUMNS} columns`, () => {
  for (const room of STRICT_ROOMS) {
    const found = byRoom.get(room);
    assert.ok(found, `${room}/ exists`);
    assert.equal(found.longFunctions.length, 0, `functions over ${MAX_FUNCTION_LINES} lines:\n${list(found.longFunctions)}`);
    assert.equal(found.longLines.length, 0, `lines over ${MAX_LINE_COLUMNS} columns:\n${list(found.longLines)}`);
  }
});

test('elsewhere the long functions and long lines only become fewer (scripts/tidy-baseline.json)', () => {
  const now: Record<string, Counts> = {};
  for (const [room, found] of [...byRoom].sort(([a], [b]) => a.localeCompare(b))) {
    if (STRICT_ROOMS.has(room)) continue;
    now[room] = { longFunctions: found.longFunctions.length, longLines: found.longLines.length };
  }
  // `TIDY_WRITE_BASELINE=1` writes today's counts (after a clean-up, to lower the baseline).
  if (process.env.TIDY_WRITE_BASELINE === '1') fs.writeFileSync(BASELINE_FILE, `${JSON.stringify(now, null, 2)}\n`);
  const baseline = JSON.parse(fs.readFileSync(BASELINE_FILE, 'utf8')) as Record<string, Counts>;
  const grew: string[] = [];
  const shrank: string[] = [];
  for (const [room, counts] of Object.entries(now)) {
    const was = baseline[room] ?? { longFunctions: 0, longLines: 0 };
    for (const key of ['longFunctions', 'longLines'] as const) {
      if (counts[key] > was[key]) grew.push(`${room}/ ${key}: ${was[key]} → ${counts[key]}\n${list(byRoom.get(room)![key])}`);
      if (counts[key] < was[key]) shrank.push(`${room}/ ${key}: ${was[key]} → ${counts[key]}`);
    }
  }
  assert.deepEqual(grew, [], 'new long functions or lines: shorten them');
  assert.deepEqual(shrank, [], `fewer than the baseline — lower ${BASELINE_FILE} to: ${JSON.stringify(now)}`);
});

test('the check finds a long function and a long line', () => {
  const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const v${i} = ${i};`).join('\n');
  const found = findingsOf('x.ts', `function tooLong() {\n${body}\n}\nconst wide = '${'x'.repeat(MAX_LINE_COLUMNS)}';\n`);
  assert.deepEqual(found.longFunctions.map((f) => f.what), [`tooLong: ${MAX_FUNCTION_LINES + 2} lines`]);
  assert.equal(found.longLines.length, 1);
});

test('the shared words are declared once, in core/vocabulary.ts', () => {
  const where = vocabularyCopies.map((c) => `${c.file}:${c.line} ${c.what}`);
  assert.deepEqual(where, [], 'import the list (or its type) from core/vocabulary.ts');
});

test('the vocabulary check finds a copied list and a copied union', () => {
  const text = [
    "type M = 'gossip' | 'master-slave' | 'multi-master';",
    "const a = z.enum(['bully', 'ring']);",
    "const b = ['bully'];",
    "const c = ['ring', 'bully'];",
  ].join('\n');
  const found = findingsOf('x.ts', text).vocabularyCopies.map((f) => f.what);
  assert.deepEqual(found, ['spells REPLICATION_MODES', 'spells ELECTION_ALGORITHMS']);
});
