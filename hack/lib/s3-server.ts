// A real S3-compatible server for tests: versitygw (posix backend) built from its Go module by
// hack/build-bins.sh (pinned in hack/versions.env, cached in ~/.cache/hearth), started on a free
// loopback port over a temporary directory, and stopped (directory removed) by `stop()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, run } from './cluster.js';
import { freePort } from './free-port.js';

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The directory the server stores objects in (one subdirectory per bucket). */
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

/** The versitygw binary: built (or found in the cache) by hack/build-bins.sh. */
export async function versitygwBinary(): Promise<string> {
  const out = await run('bash', [join(ROOT, 'hack/build-bins.sh'), 'versitygw']);
  const bin = join(out.trim().split('\n').pop() ?? '', 'versitygw');
  if (!existsSync(bin)) throw new Error(`hack/build-bins.sh gave no versitygw in ${bin}`);
  return bin;
}

async function waitUntilListening(endpoint: string, child: ChildProcess, stderr: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`versitygw exited with ${child.exitCode}: ${stderr().slice(-2000)}`);
    try {
      // Any HTTP answer (403 without credentials) means it serves.
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`versitygw did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startS3Server(opts: { log?: (m: string) => void } = {}): Promise<S3Server> {
  const bin = await versitygwBinary();
  const dir = mkdtempSync(join(tmpdir(), 'hearth-s3-'));
  const port = await freePort();
  const accessKeyId = 'hearth-test';
  const secretAccessKey = randomBytes(18).toString('base64url');
  const endpoint = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, '.meta'));
  // --sidecar: object metadata in files beside the data, so the temp filesystem needs no xattrs.
  const child = spawn(bin, ['--port', `127.0.0.1:${port}`, '--access', accessKeyId, '--secret', secretAccessKey, 'posix', '--sidecar', join(dir, '.meta'), join(dir, 'data')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilListening(endpoint, child, () => err);
  } catch (e) {
    await stop();
    throw e;
  }
  opts.log?.(`versitygw ${endpoint} (pid ${child.pid}) over ${dir}`);
  return { endpoint, region: 'us-east-1', accessKeyId, secretAccessKey, dir, pid: child.pid ?? 0, stop };
}
