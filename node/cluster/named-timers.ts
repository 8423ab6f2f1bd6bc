/**
 * The timers a pure core asks for by name (`setTimer` / `cancelTimer` effects): setting a name
 * again replaces its timer, and a timer forgets its name when it fires.
 */
export class NamedTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  set(name: string, afterMs: number, fire: () => void): void {
    clearTimeout(this.timers.get(name));
    this.timers.set(name, setTimeout(() => {
      this.timers.delete(name);
      fire();
    }, afterMs));
  }

  cancel(name: string): void {
    clearTimeout(this.timers.get(name));
    this.timers.delete(name);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
