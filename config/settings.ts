import { z } from 'zod';

/**
 * One way for every process (node, gateway, launcher) to read its settings from the environment:
 * a zod schema per process gives the types and each setting's own bounds, a `relations` check
 * refuses settings valid alone but not together (etcd's `Config.validate()`), and what is wrong
 * is said one line per bad setting — its name, the value given, what it may be — never as a stack.
 */

export type Env = Record<string, string | undefined>;

/** Every bad setting at once, one line each. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'SettingsError';
  }
}

type ObjectSchema = z.ZodObject<z.ZodRawShape>;

/** The settings, or a SettingsError naming each bad one (relations once each one is valid). */
export function readSettings<S extends ObjectSchema>(
  schema: S,
  env: Env,
  relations: (settings: z.infer<S>) => string[] = () => [],
): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const names = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '')))];
    throw new SettingsError(names.map((name) => problemLine(schema, env, name)));
  }
  const broken = relations(parsed.data);
  if (broken.length) throw new SettingsError(broken);
  return parsed.data;
}

function problemLine(schema: ObjectSchema, env: Env, name: string): string {
  const given = env[name];
  const allowed = allowedValues(schema.shape[name] as z.ZodType | undefined);
  return `${given === undefined ? name : `${name}=${given}`}: must be ${allowed}`;
}

/**
 * What a setting may be, read from its schema — "one of a, b", "an integer from 1 to 200
 * (default 20)" — or its `.describe()` text where the schema's form says too little (a pattern).
 */
export function allowedValues(setting: z.ZodType | undefined): string {
  let inner = setting as z.ZodType | undefined;
  let fallback: unknown;
  let described = setting?.description;
  while (
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodOptional ||
    inner instanceof z.ZodPipe
  ) {
    if (inner instanceof z.ZodDefault) fallback = inner._zod.def.defaultValue;
    inner = (
      inner instanceof z.ZodPipe ? inner._zod.def.out : inner._zod.def.innerType
    ) as z.ZodType;
    described ??= inner.description;
  }
  const suffix = fallback === undefined ? '' : ` (default ${String(fallback)})`;
  if (described) return `${described}${suffix}`;
  if (inner instanceof z.ZodEnum) return `one of ${inner.options.join(', ')}${suffix}`;
  if (inner instanceof z.ZodNumber) {
    const what = inner.isInt ? 'an integer' : 'a number';
    // `.int()` alone bounds an integer by the safe range: that says nothing to an operator.
    const bounded = (v: number | null) => v !== null && Math.abs(v) < Number.MAX_SAFE_INTEGER;
    const [min, max] = [inner.minValue, inner.maxValue];
    const range = bounded(max)
      ? bounded(min)
        ? ` from ${min} to ${max}`
        : ` of at most ${max}`
      : bounded(min)
        ? ` of at least ${min}`
        : '';
    return `${what}${range}${suffix}`;
  }
  if (inner instanceof z.ZodURL) return 'a URL';
  if (inner instanceof z.ZodString) {
    const min = inner.minLength ?? 0;
    return min > 0
      ? `a text of at least ${min} characters`
      : `a text of the expected form${suffix}`;
  }
  return `valid${suffix}`;
}

/**
 * For a process's entry point: a SettingsError is printed line by line (no stack) and the process
 * exits with 2, the usual code for bad usage; anything else is for the caller.
 */
export function exitOnBadSettings(err: unknown, who: string): void {
  if (err instanceof SettingsError) exitWithBadSettings(err.problems, who);
}

/** Print each bad setting on a line of its own and exit 2. */
export function exitWithBadSettings(problems: readonly string[], who: string): never {
  for (const line of problems) console.error(`${who}: invalid setting ${line}`);
  process.exit(2);
}
