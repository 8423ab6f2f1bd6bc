import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** CLUSTER_SECRET, else the secret kept in DATA_DIR/cluster-secret (created once, mode 600). */
export async function clusterSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'cluster-secret');
  await fs.mkdir(dataDir, { recursive: true });
  try {
    await fs.writeFile(file, randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // Another node may have just created it: wait until it holds a whole secret.
  for (let attempt = 0; attempt < 50; attempt++) {
    const secret = (await fs.readFile(file, 'utf8')).trim();
    if (secret.length >= 64) return secret;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${file} does not hold a cluster secret`);
}
