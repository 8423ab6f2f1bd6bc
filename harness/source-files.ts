import fs from 'node:fs';
import path from 'node:path';

/** Folders that hold no source of ours: dependencies, build output, runtime data, results. */
const IGNORED_DIRS = new Set([
  'node_modules', '.next', 'data', 'test-results', 'artifacts', 'chaos-results', 'public',
]);

/** The files under `dir` whose name `keep` accepts, sorted (hidden and IGNORED_DIRS skipped). */
export function sourceFiles(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      const skipped = entry.name.startsWith('.') || IGNORED_DIRS.has(entry.name);
      if (entry.isDirectory()) {
        if (!skipped) walk(file);
      } else if (keep(entry.name)) out.push(file);
    }
  };
  walk(dir);
  return out.sort();
}
