import fs from 'node:fs';

/** Read `.env` if present (as the spec's setup describes); real environment variables win. */
export function loadDotEnv(file = '.env'): void {
  if (fs.existsSync(file)) process.loadEnvFile(file);
}
