// Makes sure the PostgreSQL that integration tests use is reachable, starting the local server
// if it is installed here but stopped.
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { run } from './cluster.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function canConnect(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (e) {
    return (e as Error).message || String(e);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '';
}

/** Resolves with the URL once a connection works; otherwise throws a message that says what to do. */
export async function ensurePostgres(
  url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
  log: (m: string) => void = () => {},
  opts: { startLocal?: boolean } = {},
): Promise<string> {
  let err = await canConnect(url);
  if (!err) return url;
  const clusters = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (opts.startLocal !== false && isLocal(url) && clusters.length > 0) {
    log(`PostgreSQL not reachable (${err}); starting the local server ...`);
    for (const version of clusters) {
      await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']).catch(() => undefined);
    }
    for (let i = 0; i < 20 && err; i++) {
      await new Promise((r) => setTimeout(r, 500));
      err = await canConnect(url);
    }
    if (!err) return url;
  }
  const shown = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  throw new Error(
    `PostgreSQL is unreachable at ${shown}: ${err}\n` +
      'Start PostgreSQL (e.g. `pg_ctlcluster <version> main start`) or set DATABASE_URL to a server you can reach.',
  );
}
