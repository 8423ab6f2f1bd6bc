import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ClockTraceRecord } from '../../core/clock-check';

/**
 * The clock trace recorder (CLOCK_TRACE_DIR): each node appends to `<dir>/<nodeId>.jsonl`, one
 * JSON line per clock change and per clocked peer message it sends or receives, in the order they
 * happen (program order, across restarts), for core/clock-check.ts to judge. Off unless
 * set. Bounded: at CLOCK_TRACE_MAX_BYTES (64 MiB by default) per file it writes one `truncated`
 * line and stops, so a forgotten setting cannot fill the disk.
 */
export type ClockTraceConfig = { dir: string; maxBytes: number };

export const DEFAULT_CLOCK_TRACE_MAX_BYTES = 64 * 1024 * 1024;

const envSchema = z.object({
  CLOCK_TRACE_DIR: z.string().min(1).optional(),
  CLOCK_TRACE_MAX_BYTES: z.coerce.number().int().min(1024).default(DEFAULT_CLOCK_TRACE_MAX_BYTES),
});

export function clockTraceConfig(env: NodeJS.ProcessEnv): ClockTraceConfig | undefined {
  const e = envSchema.parse(env);
  return e.CLOCK_TRACE_DIR ? { dir: path.resolve(e.CLOCK_TRACE_DIR), maxBytes: e.CLOCK_TRACE_MAX_BYTES } : undefined;
}

export class ClockTraceFile {
  private size: number;
  private full = false;

  private constructor(private readonly fd: number, private readonly boot: string, private readonly maxBytes: number) {
    this.size = fs.fstatSync(fd).size;
  }

  static open(config: ClockTraceConfig, nodeId: string, boot: string): ClockTraceFile {
    fs.mkdirSync(config.dir, { recursive: true });
    return new ClockTraceFile(fs.openSync(path.join(config.dir, `${nodeId}.jsonl`), 'a', 0o600), boot, config.maxBytes);
  }

  /** Appended at once (a kill loses nothing written): whole lines, one write each. */
  record(record: ClockTraceRecord): void {
    if (this.full) return;
    const line = Buffer.from(`${JSON.stringify({ ...record, boot: this.boot })}\n`);
    if (this.size + line.length > this.maxBytes) {
      this.full = true;
      fs.writeSync(this.fd, '{"kind":"truncated"}\n');
      return;
    }
    fs.writeSync(this.fd, line);
    this.size += line.length;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Every node's trace in `dir` (tests): the records, and which files hit the bound. */
export function readClockTraces(dir: string): { records: ClockTraceRecord[]; truncated: string[] } {
  const records: ClockTraceRecord[] = [];
  const truncated: string[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const value = JSON.parse(line) as ClockTraceRecord | { kind: 'truncated' };
      if (value.kind === 'truncated') truncated.push(name);
      else records.push(value);
    }
  }
  return { records, truncated };
}
