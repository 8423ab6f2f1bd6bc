import fs from 'node:fs';
import path from 'node:path';

/**
 * Chaos from the monitor: a node asked to crash (`POST /api/cluster/crash`) exits with this code,
 * without a graceful leave, so its peers find out through failure detection as after a real crash.
 */
export const CRASH_EXIT_CODE = 137;

/**
 * A crash may ask to be restarted: the node cannot restart itself, so it leaves a note for its
 * supervisor (the launcher, `npm start`) in `DATA_DIR/restart-requests/<nodeId>` holding the delay
 * in ms, then exits with CRASH_EXIT_CODE. The supervisor takes the note when it sees that exit.
 */
function requestFile(dataDir: string, nodeId: string): string {
  return path.join(dataDir, 'restart-requests', nodeId);
}

export function requestRestart(dataDir: string, nodeId: string, afterMs: number): void {
  fs.mkdirSync(path.dirname(requestFile(dataDir, nodeId)), { recursive: true });
  fs.writeFileSync(requestFile(dataDir, nodeId), `${Math.round(afterMs)}\n`);
}

/** Remove a stale note (a crash without restart must not pick up an older request). */
export function clearRestartRequest(dataDir: string, nodeId: string): void {
  fs.rmSync(requestFile(dataDir, nodeId), { force: true });
}

/**
 * For the supervisor, when a node exited: the delay after which to restart it, or undefined (no
 * restart asked, or the exit was not a requested crash). The note is consumed either way.
 */
export function takeRestartRequest(dataDir: string, nodeId: string, exitCode: number | null): number | undefined {
  const file = requestFile(dataDir, nodeId);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  fs.rmSync(file, { force: true });
  const ms = Number(text.trim());
  return exitCode === CRASH_EXIT_CODE && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
