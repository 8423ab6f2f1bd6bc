import fs from 'node:fs';
import path from 'node:path';
import type { LogicalClock } from '../../core/clock-rules';
import { isVectorClock } from '../../core/vector-clock';

/**
 * The node's logical clocks on local disk (`DATA_DIR/clocks/<nodeId>`), rewritten on every change
 * before the new value can leave the process, so a node killed at any moment resumes at or above
 * every stamp it ever handed out. The database copy (every membership refresh) lags up to a
 * second, which let a restarted node reuse counters (issue 13). One positioned write per change,
 * padded to the longest value written so far, into the page cache: a killed process cannot tear
 * it (a machine crash can; then the database copy is the fallback).
 */
export class ClockFile {
  private written = 0;

  private constructor(private readonly fd: number, readonly persisted: LogicalClock | undefined) {}

  static open(file: string): ClockFile {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const persisted = parse(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
    return new ClockFile(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600), persisted);
  }

  write(clock: LogicalClock): void {
    const text = JSON.stringify({ lamport: clock.lamport, vector: clock.vector });
    const bytes = Buffer.from(text.padEnd(this.written, ' '));
    fs.writeSync(this.fd, bytes, 0, bytes.length, 0);
    this.written = Math.max(this.written, bytes.length);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function parse(text: string): LogicalClock | undefined {
  try {
    const value = JSON.parse(text) as { lamport?: unknown; vector?: unknown };
    if (Number.isSafeInteger(value.lamport) && isVectorClock(value.vector)) return { lamport: value.lamport as number, vector: value.vector };
  } catch {
    /* empty or torn: the database copy counts */
  }
  return undefined;
}
