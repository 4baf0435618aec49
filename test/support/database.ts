// A PostgreSQL database of a test file's own (created, migrated, dropped), so that files running
// against the same server never see each other's rows.
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/client.js';
import { databaseUrl } from './env.js';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The URL of database `name` on the test server. */
export function scratchDatabaseUrl(name: string): string {
  const u = new URL(databaseUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates database `name` on the test server, empty (whoever opens it migrates it). */
export async function createEmptyDatabase(name: string): Promise<void> {
  await admin(`create database ${name}`);
}

/** Creates database `name` on the test server, opens it and applies the migrations. */
export async function createScratchDatabase(name: string, opts: { maxConnections?: number } = {}): Promise<Database> {
  await createEmptyDatabase(name);
  const database = await openDatabase({ url: scratchDatabaseUrl(name), ...(opts.maxConnections ? { maxConnections: opts.maxConnections } : {}) });
  await database.migrate();
  return database;
}

/** Drops database `name`, closing any connection still open to it. */
export async function dropScratchDatabase(name: string): Promise<void> {
  await admin(`drop database if exists ${name} with (force)`);
}
