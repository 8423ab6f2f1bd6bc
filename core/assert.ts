/**
 * An invariant the code relies on, checked where it is relied on. A failed one is a bug in this
 * program, never bad input (input gets a 4xx): it throws at once, with the rule that broke, rather
 * than let a wrong state travel on to other nodes or into the database.
 */
export class InvariantViolation extends Error {
  constructor(why: string) {
    super(`invariant violated: ${why}`);
    this.name = 'InvariantViolation';
  }
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new InvariantViolation(why);
}
