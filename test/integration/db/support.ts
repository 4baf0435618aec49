// Each DB test file runs its tests against both engines: a fresh PostgreSQL database of its own
// (created here, dropped afterwards, so runs never collide) and an in-memory PGlite.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type Database, type Db } from '../../../src/db/client.js';
import { databaseUrl } from '../../support/env.js';

export interface DbTarget {
  name: 'postgres' | 'pglite';
  readonly db: Db;
  readonly database: Database;
  /** Another handle on the same database (a second replica); PGlite has only one. */
  openAnother(): Promise<Database>;
}

function withDatabase(url: string, dbName: string): string {
  const u = new URL(url);
  u.pathname = `/${dbName}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: databaseUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Registers beforeAll/afterAll hooks; use the result with `describe.each(targets)`. */
export function dbTargets(label: string, opts: { maxConnections?: number } = {}): DbTarget[] {
  const dbName = `hearth_t_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  let url = '';
  const opened: Database[] = [];
  const make = (name: DbTarget['name'], open: () => Promise<Database>): DbTarget & { init(): Promise<void> } => {
    let database: Database | undefined;
    return {
      name,
      get database() {
        if (!database) throw new Error(`${name} database not ready`);
        return database;
      },
      get db() {
        return this.database.db;
      },
      async openAnother() {
        if (name === 'pglite') return this.database;
        const d = await openDatabase({ url, maxConnections: opts.maxConnections });
        opened.push(d);
        return d;
      },
      async init() {
        database = await open();
        opened.push(database);
        await database.migrate();
      },
    };
  };
  const targets = [
    make('postgres', () => openDatabase({ url, maxConnections: opts.maxConnections ?? 20 })),
    make('pglite', () => openDatabase()),
  ];

  beforeAll(async () => {
    await admin((c) => c.query(`create database ${dbName}`));
    url = withDatabase(databaseUrl(), dbName);
    for (const t of targets) await t.init();
  });

  afterAll(async () => {
    for (const d of opened.reverse()) await d.close().catch(() => undefined);
    await admin((c) => c.query(`drop database if exists ${dbName} with (force)`));
  });

  return targets;
}

/** A unique id for a test's own account, so tests sharing a database do not see each other. */
export function uniqueId(prefix = 'acct'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
