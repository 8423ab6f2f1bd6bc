import fs from 'node:fs';
import path from 'node:path';

/** Folders that hold no source of ours: dependencies, build output, runtime data, results. */
const IGNORED_DIRS = new Set([
  'node_modules', '.next', 'data', 'test-results', 'artifacts', 'chaos-results', 'public',
]);

/** The files under `dir` whose name `keep` accepts, sorted (hidden and IGNORED_DIRS skipped). */
export function sourceFiles(
  dir: string,
  keep: (name: string) => boolean,
  out: string[] = [],
): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    const skipped = entry.name.startsWith('.') || IGNORED_DIRS.has(entry.name);
    if (entry.isDirectory()) {
      if (!skipped) sourceFiles(file, keep, out);
    } else if (keep(entry.name)) out.push(file);
  }
  return out.sort();
}
