// A PostgreSQL server of a test's own (initdb + pg_ctl from /usr/lib/postgresql/<version>/bin into
// a temporary directory, on a free port), for tests that stop and start the server itself — never
// the shared one other tests use. Run as root, the server runs as the `postgres` user (PostgreSQL
// refuses root). `findPostgresBin()` is undefined when the binaries are not installed: the test
// then skips, loudly.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../hack/lib/free-port.js';

const exec = promisify(execFile);

/** The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, if any. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

export class PrivatePostgres {
  readonly dir: string;
  readonly port: number;
  readonly #bin: string;
  readonly #asPostgres: boolean;
  #log = '';

  private constructor(bin: string, dir: string, port: number) {
    this.#bin = bin;
    this.dir = dir;
    this.port = port;
    this.#asPostgres = process.getuid?.() === 0;
  }

  /** initdb (trust auth, user postgres) and start; resolves once it accepts connections. */
  static async create(bin: string): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-pg-'));
    const server = new PrivatePostgres(bin, dir, await freePort());
    if (server.#asPostgres) {
      const { uid, gid } = await exec('id', ['-u', 'postgres']).then(async (u) => ({ uid: Number(u.stdout), gid: Number((await exec('id', ['-g', 'postgres'])).stdout) }));
      chownSync(dir, uid, gid);
      chmodSync(dir, 0o700);
    }
    await server.#run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await server.start();
    return server;
  }

  /** `postgres://postgres@127.0.0.1:<port>/<db>` */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off -c max_connections=50`;
    await this.#run('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start']);
  }

  /** Stops it; `fast` (the default) disconnects every client at once, as a crashed or restarted server does. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.#run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', '-t', '60', 'stop']);
  }

  async createDatabase(name: string): Promise<void> {
    const c = new pg.Client({ connectionString: this.url() });
    await c.connect();
    try {
      await c.query(`create database ${name}`);
    } finally {
      await c.end();
    }
  }

  /** Stops it (if running) and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** What pg_ctl and initdb said, for a failure's dump. */
  get log(): string {
    return this.#log.slice(-4000);
  }

  async #run(tool: string, args: string[]): Promise<void> {
    const path = join(this.#bin, tool);
    const [cmd, argv] = this.#asPostgres ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    try {
      const r = await exec(cmd, argv, { timeout: 90_000, cwd: this.dir });
      this.#log += r.stdout + r.stderr;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      this.#log += (err.stdout ?? '') + (err.stderr ?? '');
      throw new Error(`${tool} ${args.join(' ')} failed: ${err.message}\n${this.log}`);
    }
  }
}
