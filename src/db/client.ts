// One way to open the database: real PostgreSQL through `pg` when a URL is given, embedded PGlite
// otherwise. Both yield the same drizzle type (`Db`), so repositories do not care which it is.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
/** A drizzle database or a transaction on it: what every repository function takes. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema>;

export type Driver = 'pg' | 'pglite';

export interface OpenDatabaseOptions {
  /**
   * `postgres://…` / `postgresql://…` → PostgreSQL through `pg`.
   * `pglite://<dir>` or `file://<dir>` → PGlite persisted in that directory; `pglite://memory` or
   * unset → PGlite in memory.
   */
  url?: string | undefined;
  /** Pool size for PostgreSQL (default 10). */
  maxConnections?: number;
  /** Name reported to PostgreSQL (`application_name`). */
  applicationName?: string;
  /** How long getting a connection may take before the query fails (default 5 s). */
  connectTimeoutMs?: number;
  /** Errors of idle pooled connections (server restart, failover); they never crash the process. */
  onPoolError?: (err: Error) => void;
}

export interface Database {
  db: Db;
  driver: Driver;
  /** Applies the committed migrations (idempotent; serialised across processes on PostgreSQL). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** Migrations are committed beside this file; in a build they are copied next to the output. */
export function migrationsFolder(): string {
  const here = fileURLToPath(new URL('./migrations', import.meta.url));
  if (existsSync(here)) return here;
  const fromDist = fileURLToPath(new URL('../../src/db/migrations', import.meta.url));
  if (existsSync(fromDist)) return fromDist;
  throw new Error(`database migrations not found at ${here}`);
}

/** Arbitrary but fixed: serialises concurrent `migrate()` calls of several replicas. */
const MIGRATION_LOCK_ID = 0x6865_6172; // 'hear'

function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://');
}

function pgliteDataDir(url: string | undefined): string | undefined {
  if (url === undefined || url === '' || url === 'pglite://memory' || url === 'memory://') return undefined;
  if (url.startsWith('pglite://')) return url.slice('pglite://'.length);
  if (url.startsWith('file://')) return fileURLToPath(url);
  throw new Error(`unsupported database URL scheme in ${redactUrl(url)} (use postgres://, pglite:// or file://)`);
}

/** For log lines and errors: the password never leaves this function. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

// Each engine's modules are loaded only when it is used: an API replica on PostgreSQL never loads
// PGlite, the demo on PGlite never loads `pg`.
export async function openDatabase(opts: OpenDatabaseOptions = {}): Promise<Database> {
  if (opts.url !== undefined && isPostgresUrl(opts.url)) return openPostgres(opts.url, opts);
  return openPglite(pgliteDataDir(opts.url));
}

async function openPostgres(url: string, opts: OpenDatabaseOptions): Promise<Database> {
  const [{ default: pg }, { drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
    import('drizzle-orm/node-postgres/migrator'),
  ]);
  const pool = new pg.Pool({
    connectionString: url,
    max: Math.max(2, opts.maxConnections ?? 10),
    application_name: opts.applicationName ?? 'hearth',
    // An unreachable server fails a request (503) instead of holding it until the client gives up.
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
  });
  // A client losing its server (restart, failover, an immediate shutdown) must not crash the
  // process: the pool listens on idle clients only, and a client checked out for a transaction
  // emits 'error' too when its connection ends between queries (its queries fail on their own), so
  // every client gets a listener of its own when it is made.
  pool.on('error', (err) => opts.onPoolError?.(err));
  pool.on('connect', (client) => void client.on('error', (err) => opts.onPoolError?.(err)));
  const db = drizzlePg({ client: pool, schema });
  return {
    db,
    driver: 'pg',
    async migrate() {
      // Session-level lock on a dedicated connection; drizzle's migrator uses another one.
      const lock = await pool.connect();
      try {
        await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
        await migratePg(db, { migrationsFolder: migrationsFolder() });
      } finally {
        await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
        lock.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  const client = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  await client.waitReady;
  const db = drizzlePglite({ client, schema });
  return {
    db,
    driver: 'pglite',
    // PGlite is single-connection, in-process: nothing to serialise against.
    migrate: () => migratePglite(db, { migrationsFolder: migrationsFolder() }),
    close: () => client.close(),
  };
}

/** Takes a transaction-scoped advisory lock (PostgreSQL and PGlite alike). */
export async function advisoryXactLock(tx: Db, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${key}))`);
}
