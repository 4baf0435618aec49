// Issue 15, "the tests that prove it": PostgreSQL stopped and started during traffic. The API runs
// as a real process (src/main.ts mode `api`) on a PostgreSQL of this test's own (initdb + pg_ctl in
// a temporary directory: the shared server is never stopped), and REST traffic — dataset creates,
// deployment creates (their quota is held in PostgreSQL), reads — runs while the server is stopped
// (fast shutdown, then an immediate one: a crash) and started again, several times. It checks:
//   - during an outage, what needs the database answers 503 with Retry-After, never 500; reads of
//     cached objects keep working;
//   - after each outage, every kind of request succeeds again without restarting the API, and
//     /readyz is 200;
//   - no acknowledged write is lost: every create answered 200 is there afterwards.
// HEARTH_PG_OUTAGES sets the number of outages (default 3). Skipped, loudly, when
// /usr/lib/postgresql/<version>/bin has no initdb and pg_ctl.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountNamespace } from '../../src/api/kube/namespaces.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { openDatabase } from '../../src/db/client.js';
import { loadKubeConfig, type PooledKubeConfig } from '../../src/kube/config.js';
import { kubeconfigPath } from '../support/env.js';
import { HearthProcess, envNumber } from '../support/hearth-process.js';
import { PrivatePostgres, findPostgresBin } from '../support/private-postgres.js';
import { waitFor } from '../support/wait.js';

const bin = findPostgresBin();
if (!bin) process.stderr.write('\n[postgres-outage] SKIPPED: no initdb/pg_ctl under /usr/lib/postgresql/*/bin — install the postgresql server package to run this test\n\n');

const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `pg-out-${suffix}`;
const OUTAGES = envNumber('HEARTH_PG_OUTAGES', 3);
const BASE_MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';

let server: PrivatePostgres | undefined;
let api: HearthProcess | undefined;
let kc: PooledKubeConfig;
let key = '';
let port = 0;
let artifactDir = '';
const acknowledged: Array<{ kind: 'datasets' | 'deployments'; id: string }> = [];
const failures: string[] = [];
const counts: Record<string, number> = {};
/** The last 503 body of each kind of request, for the report. */
const samples = new Map<string, string>();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; retryAfter: string | null; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), text: await r.text() };
}

const base = `/v1/accounts/${ACCOUNT}`;
let n = 0;

/** One request of the mix; a 503 must carry Retry-After, any other 5xx is a failure. */
async function request(phase: string): Promise<number> {
  const i = n++;
  const kind = i % 4;
  let r: Awaited<ReturnType<typeof call>>;
  let created: { kind: 'datasets' | 'deployments'; id: string } | undefined;
  try {
    if (kind === 0) {
      created = { kind: 'datasets', id: `ds-${i}` };
      r = await call('POST', `${base}/datasets`, { dataset: { format: 'CHAT' }, datasetId: created.id });
    } else if (kind === 1) {
      // Every other one needs GPUs at once (minReplicaCount 1): its quota is held in PostgreSQL.
      // One at zero needs only the cluster (the controller holds quota before it scales).
      created = { kind: 'deployments', id: `dep-${i}` };
      const min = (i >> 2) % 2;
      r = await call('POST', `${base}/deployments?deploymentId=${created.id}`, { baseModel: BASE_MODEL, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, minReplicaCount: min, maxReplicaCount: 1, placement: { region: 'US_VIRGINIA_2' } });
    } else if (kind === 2) r = await call('GET', `${base}/deployments?pageSize=5`);
    else r = await call('GET', `${base}/datasets?pageSize=5`);
  } catch (e) {
    failures.push(`${phase}: request ${i} failed without an answer: ${String(e)}`);
    return 0;
  }
  const what = ['create dataset', (i >> 2) % 2 === 1 ? 'create deployment (quota held)' : 'create deployment (none held)', 'list deployments', 'list datasets'][kind]!;
  counts[`${phase} ${r.status}`] = (counts[`${phase} ${r.status}`] ?? 0) + 1;
  counts[`${phase} ${what} ${r.status}`] = (counts[`${phase} ${what} ${r.status}`] ?? 0) + 1;
  if (r.status === 503) samples.set(what, r.text.slice(0, 200));
  if (r.status === 200 && created) acknowledged.push(created);
  if (r.status === 503 && !(Number(r.retryAfter) >= 1)) failures.push(`${phase}: 503 without Retry-After: ${r.text.slice(0, 200)}`);
  if (r.status >= 500 && r.status !== 503) failures.push(`${phase}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.status;
}

async function traffic(stop: { done: boolean }, phase: () => string): Promise<void> {
  await Promise.all(
    [0, 1, 2].map(async () => {
      while (!stop.done) {
        await request(phase());
        await sleep(50);
      }
    }),
  );
}

beforeAll(async () => {
  if (!bin) return;
  kc = loadKubeConfig(kubeconfigPath());
  server = await PrivatePostgres.create(bin);
  await server.createDatabase('hearth');
  const db = await openDatabase({ url: server.url('hearth') });
  await db.migrate();
  key = (await bootstrap(db.db, { accountId: ACCOUNT, email: `admin@${ACCOUNT}.example` })).apiKey!.key;
  await db.close();
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  artifactDir = mkdtempSync(join(tmpdir(), 'hearth-pg-outage-'));
  api = new HearthProcess({
    mode: 'api',
    env: { KUBECONFIG: kubeconfigPath(), DATABASE_URL: server.url('hearth'), PORT: String(port), HEARTH_RATE_LIMIT_RPS: '1000', HEARTH_RATE_LIMIT_BURST: '1000', HEARTH_ARTIFACT_DIR: artifactDir },
  });
  await api.waitForLog('ready', 120_000);
}, 240_000);

afterAll(async () => {
  await api?.kill();
  await server?.destroy();
  await kc?.makeApiClient(CoreV1Api).deleteNamespace({ name: accountNamespace(ACCOUNT) }).catch(() => undefined);
  if (artifactDir) rmSync(artifactDir, { recursive: true, force: true });
  kc?.destroy();
});

describe.skipIf(!bin)('PostgreSQL stopped and started during traffic', () => {
  it(`answers 503 with Retry-After during ${OUTAGES} outages, never 500, recovers fully, loses no acknowledged write`, async () => {
    const dump = async (): Promise<unknown> => ({ counts, failures, api: api?.problems().slice(-20), pg: server?.log });
    // Warm: the key is cached, a deployment and a dataset exist.
    await waitFor('a first dataset create', async () => (await request('warm')) === 200, { timeoutMs: 30_000, dump });
    await waitFor('a first deployment create', async () => (await request('warm')) === 200, { timeoutMs: 30_000, dump });
    const recovery: number[] = [];
    for (let o = 0; o < OUTAGES; o++) {
      let phase = `before-${o}`;
      const stop = { done: false };
      const load = traffic(stop, () => phase);
      await sleep(1500);
      phase = `outage-${o}`;
      await server!.stop(o % 2 === 0 ? 'fast' : 'immediate');
      await sleep(4000);
      expect(counts[`outage-${o} 503`] ?? 0, JSON.stringify(await dump())).toBeGreaterThan(0);
      // Reads of cached objects keep working while the database is down: the key was confirmed
      // before the outage (the authenticator's stale-if-error), the deployments are in the cache.
      expect(counts[`outage-${o} list deployments 200`] ?? 0, JSON.stringify(await dump())).toBeGreaterThan(0);
      expect(counts[`outage-${o} list deployments 503`] ?? 0, JSON.stringify(await dump())).toBe(0);
      // A create whose quota must be held cannot be admitted without the database: 503, not a create.
      expect(counts[`outage-${o} create deployment (quota held) 200`] ?? 0, JSON.stringify(await dump())).toBe(0);
      const ready = await call('GET', '/readyz');
      expect(ready.status).toBe(503);
      phase = `restart-${o}`;
      const startedAt = Date.now();
      await server!.start();
      // Full recovery: a create of each kind answers 200 again, and /readyz.
      await waitFor(
        `recovery after outage ${o + 1}`,
        async () => {
          const ds = await call('POST', `${base}/datasets`, { dataset: { format: 'CHAT' }, datasetId: `probe-${o}-${randomUUID().slice(0, 8)}` });
          const rz = await call('GET', '/readyz');
          return ds.status === 200 && rz.status === 200;
        },
        { timeoutMs: 30_000, intervalMs: 250, dump },
      );
      recovery.push(Date.now() - startedAt);
      phase = `after-${o}`;
      await sleep(1000);
      stop.done = true;
      await load;
    }
    // No acknowledged write lost.
    const lost: string[] = [];
    for (const w of acknowledged) {
      const r = await call('GET', `${base}/${w.kind}/${w.id}`);
      if (r.status !== 200) lost.push(`${w.kind}/${w.id}: ${r.status}`);
    }
    process.stderr.write(
      `[postgres-outage] ${OUTAGES} outages survived; recovery after start ${recovery.join(', ')} ms; ${acknowledged.length} acknowledged creates, ${lost.length} lost; answers ${JSON.stringify(counts)}; 503 bodies ${JSON.stringify(Object.fromEntries(samples))}\n`,
    );
    expect(failures, JSON.stringify(await dump())).toEqual([]);
    expect(lost).toEqual([]);
    expect(api!.running).toBe(true);
  }, 15 * 60_000);
});
