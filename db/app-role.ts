import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { sqlState } from './pool';

/**
 * Least privilege for the embedded database: the application connects as a role that is not a
 * superuser (no CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS) and owns only its own database and
 * what is in it. The superuser's credentials stay in DATA_DIR/postgres.json for this set-up step
 * alone; the role's password lives beside them in DATA_DIR/postgres-app.json (mode 0600).
 */
export const APP_ROLE = 'moviebook_app';
const APP_CREDENTIALS_FILE = 'postgres-app.json';
// Any constant: only processes provisioning the same server must agree on it.
const PROVISION_LOCK_KEY = 4_242_008;
/** As the app's pool: a server that does not answer is an error, not a hang. */
const CONNECT_TIMEOUT_MS = 10_000;
const ROLE_ATTRIBUTES = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';

/**
 * Create (or repair) the app role, make it own `database` (created if missing), hand it whatever
 * in the database's public schema another role still owns (a DATA_DIR from before this role
 * existed), and return the role's connection string. Idempotent; serialised between processes.
 */
export async function provisionAppDatabase(superuserUrl: string, database: string, dataDir: string, log: (msg: string) => void = () => {}): Promise<string> {
  const admin = new pg.Client({ connectionString: superuserUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await admin.connect();
  let password: string;
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [PROVISION_LOCK_KEY]);
    password = await appPassword(dataDir);
    await ensureRole(admin, password, log);
    await ensureOwnedDatabase(admin, database, log);
    await transferSchemaObjects(withDatabase(superuserUrl, database), log);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [PROVISION_LOCK_KEY]).catch(() => {});
    await admin.end();
  }
  const url = new URL(withDatabase(superuserUrl, database));
  url.username = APP_ROLE;
  url.password = password;
  return url.toString();
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function appPassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, APP_CREDENTIALS_FILE);
  try {
    const saved = JSON.parse(await fs.readFile(file, 'utf8')) as { password?: unknown };
    if (typeof saved.password === 'string' && saved.password.length >= 16) return saved.password;
  } catch {
    /* missing or unreadable: make a new one (the role's password is reset to it below) */
  }
  const password = randomBytes(18).toString('base64url');
  await fs.writeFile(file, JSON.stringify({ user: APP_ROLE, password }, null, 2) + '\n', { mode: 0o600 });
  await fs.chmod(file, 0o600);
  return password;
}

/** The role exists with exactly our attributes and the saved password (repairs a drifted role). */
async function ensureRole(admin: pg.Client, password: string, log: (msg: string) => void): Promise<void> {
  const role = admin.escapeIdentifier(APP_ROLE);
  const secret = admin.escapeLiteral(password);
  const found = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
  if (found.rowCount) {
    await admin.query(`ALTER ROLE ${role} WITH ${ROLE_ATTRIBUTES} PASSWORD ${secret}`);
    return;
  }
  log(`creating the database role ${APP_ROLE} (not a superuser) for the application`);
  await admin.query(`CREATE ROLE ${role} WITH ${ROLE_ATTRIBUTES} PASSWORD ${secret}`);
}

async function ensureOwnedDatabase(admin: pg.Client, database: string, log: (msg: string) => void): Promise<void> {
  const name = admin.escapeIdentifier(database);
  const role = admin.escapeIdentifier(APP_ROLE);
  const found = await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [database]);
  if (!found.rowCount) {
    await admin.query(`CREATE DATABASE ${name} OWNER ${role}`).catch((err: unknown) => {
      if (sqlState(err) !== '42P04' && sqlState(err) !== '23505') throw err;
    });
  } else if (found.rows[0]!.owner !== APP_ROLE) {
    log(`handing the database ${database} to ${APP_ROLE}`);
    await admin.query(`ALTER DATABASE ${name} OWNER TO ${role}`);
  }
  // Nobody else needs to connect to it.
  await admin.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
}

/**
 * Objects a superuser created in the public schema (every table of a DATA_DIR from before the app
 * role) become the role's. Tables first: their identity sequences follow them; then what is left.
 */
const TRANSFER_SQL = (role: string) => `DO $$
DECLARE o record;
BEGIN
  IF (SELECT nspowner <> 'pg_database_owner'::regrole AND nspowner <> '${role}'::regrole FROM pg_namespace WHERE nspname = 'public') THEN
    EXECUTE format('ALTER SCHEMA public OWNER TO %I', '${role}');
  END IF;
  FOR o IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relowner <> '${role}'::regrole LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I',
      CASE o.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, o.name, '${role}');
  END LOOP;
  FOR o IN SELECT c.oid::regclass AS name FROM pg_class c
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S' AND c.relowner <> '${role}'::regrole LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO %I', o.name, '${role}');
  END LOOP;
  FOR o IN SELECT p.oid::regprocedure AS name FROM pg_proc p
           WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> '${role}'::regrole LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', o.name, '${role}');
  END LOOP;
  FOR o IN SELECT t.oid::regtype AS name FROM pg_type t
           WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r') AND t.typowner <> '${role}'::regrole LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', o.name, '${role}');
  END LOOP;
END $$`;

async function transferSchemaObjects(databaseUrl: string, log: (msg: string) => void): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relowner <> $1::regrole`, [APP_ROLE],
    );
    if (rows[0]!.n > 0) log(`handing ${rows[0]!.n} tables, indexes and sequences to ${APP_ROLE}`);
    await client.query(TRANSFER_SQL(APP_ROLE));
  } finally {
    await client.end();
  }
}

/** True when the connection's role is a superuser (the app should not be). */
export async function connectedAsSuperuser(databaseUrl: string): Promise<{ role: string; superuser: boolean }> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    const { rows } = await client.query<{ role: string; superuser: boolean }>(
      'SELECT current_user AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
    );
    return rows[0]!;
  } finally {
    await client.end();
  }
}
