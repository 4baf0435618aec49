// Gateway overhead on loopback, as ratios and differences measured in the same run:
//
//   npx tsx bench/gateway.ts [-- --rate 500 --seconds 10 --streams 100]
//
// Three processes: the model-server fixture, the gateway (real API-key check against a scratch
// PostgreSQL database, or PGlite with --database pglite; catalog
// and endpoint fed in memory — no cluster on the data path), and this load generator.
//   1. Open loop at a fixed rate (default 500 req/s) of small non-streamed completions, in
//      alternating blocks direct → fixture and through the gateway, for a bounded time; latency
//      percentiles of each, and the gateway's added p50/p99.
//   2. SSE time to first byte (first body chunk) of streamed chats, direct vs gateway, alternating
//      one by one; p50/p99 and their ratio.
//   3. Chunk by chunk: streams of 16 tokens paced 10 ms apart; the arrival of each SSE event
//      through the gateway vs direct (a buffering proxy would deliver them all at the end).
// Loopback only; bounded in count and time. Not a test: it prints figures.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fmt, percentile } from './lib.js';

const MODEL = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
/** Token pace of the fixture used to show chunk-by-chunk delivery. */
const TOKEN_MS = 10;
const ACCOUNT = 'bench';

const { values } = parseArgs({
  // `npm run`/tsx pass a literal `--` through; it separates nothing here.
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    role: { type: 'string', default: 'driver' },
    'upstream-port': { type: 'string' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    streams: { type: 'string', default: '100' },
    blocks: { type: 'string', default: '4' },
    /** Write a V8 CPU profile of the gateway process here (for finding where its time goes). */
    'profile-dir': { type: 'string' },
    /** API keys in this PostgreSQL (a scratch database is created and dropped); `pglite` for embedded. */
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'database-url': { type: 'string' },
    'slow-upstream-port': { type: 'string' },
  },
});

/** Spawns `node --import tsx <args>` and resolves with the child and its first JSON stdout line. */
async function child(args: string[], nodeArgs: string[] = []): Promise<{ proc: ChildProcess; first: Record<string, unknown> }> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const [line] = (await Promise.race([once(lines, 'line'), once(proc, 'exit').then(() => [undefined])])) as [string | undefined];
  if (!line) throw new Error(`${args.join(' ')} exited before it was ready`);
  return { proc, first: JSON.parse(line) as Record<string, unknown> };
}

// ---- gateway role: a gateway process routing `MODEL#bench/d` to the fixture --------------------

async function runGateway(upstreamPort: number, slowPort: number, databaseUrl: string | undefined): Promise<void> {
  const { openDatabase } = await import('../src/db/client.js');
  const { bootstrap } = await import('../src/auth/bootstrap.js');
  const { startGateway } = await import('../src/gateway/index.js');
  const { pino } = await import('pino');
  const database = await openDatabase({ url: databaseUrl });
  await database.migrate();
  const key = (await bootstrap(database.db, { accountId: ACCOUNT, email: 'bench@bench.example' })).apiKey!.key;
  const gw = await startGateway({ host: '127.0.0.1', port: 0, processMetrics: false }, { db: database.db, log: pino({ level: 'warn' }) });
  gw.core.catalog.upsertNamespace({ metadata: { name: 'acct-bench', labels: { 'hearth.dev/account': ACCOUNT } } });
  gw.core.catalog.upsertDeployment({ metadata: { namespace: 'acct-bench', name: 'd' }, spec: { baseModel: MODEL } });
  gw.core.upstreams.setSlice('acct-bench/d', 's', [{ address: '127.0.0.1', port: upstreamPort }]);
  gw.core.catalog.upsertDeployment({ metadata: { namespace: 'acct-bench', name: 'slow' }, spec: { baseModel: MODEL } });
  gw.core.upstreams.setSlice('acct-bench/slow', 's', [{ address: '127.0.0.1', port: slowPort }]);
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: gw.url, key })}\n`);
  process.once('SIGTERM', () => void gw.close(1000).then(() => database.close()).then(() => process.exit(0)));
}

// ---- driver ------------------------------------------------------------------------------------

interface Target {
  url: string;
  headers: Record<string, string>;
  model: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** One POST; resolves with [time to first body byte, total] in ms, or throws on a non-200. */
function call(t: Target, path: string, body: Record<string, unknown>): Promise<[number, number]> {
  const text = JSON.stringify({ ...body, model: t.model });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = NaN;
    const req = request(`${t.url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...t.headers } }, (res) => {
      res.on('data', () => {
        if (Number.isNaN(first)) first = performance.now() - t0;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve([first, performance.now() - t0]) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** A streamed chat; resolves with the arrival time (ms from sending) of each SSE event. */
function streamEvents(t: Target, body: Record<string, unknown>): Promise<number[]> {
  const text = JSON.stringify({ ...body, model: t.model });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const times: number[] = [];
    const req = request(`${t.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...t.headers } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        const now = performance.now() - t0;
        for (let i = c.indexOf('\n\n'); i >= 0; i = c.indexOf('\n\n', i + 2)) times.push(now);
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(times) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** Open loop: request i is sent at start + i/rate, whatever happened to the earlier ones. */
async function openLoop(t: Target, rate: number, seconds: number): Promise<{ lat: number[]; errors: number; achieved: number }> {
  const n = Math.round(rate * seconds);
  const lat: number[] = [];
  let errors = 0;
  const start = performance.now();
  const inflight: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      call(t, '/v1/completions', { prompt: 'Say this is a test', max_tokens: 4 }).then(
        ([, total]) => void lat.push(total),
        () => void errors++,
      ),
    );
  }
  const sendSecs = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  return { lat, errors, achieved: n / sendSecs };
}

/** CPU seconds (user + system) a child process has used so far, from /proc (Linux). */
function cpuSeconds(proc: ChildProcess): number {
  try {
    const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

function stats(xs: number[]): { p50: number; p90: number; p99: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), n: s.length };
}

/** A scratch PostgreSQL database for the API keys (PGlite in the gateway process if `pglite`). */
async function scratchDatabase(adminUrl: string): Promise<{ url?: string; drop(): Promise<void> }> {
  if (adminUrl === 'pglite') return { drop: async () => {} };
  const { ensurePostgres } = await import('../hack/lib/postgres.js');
  const { default: pg } = await import('pg');
  const admin = await ensurePostgres(adminUrl);
  const name = `hearth_bench_gateway_${process.pid}`;
  const sql = async (q: string): Promise<void> => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await sql(`CREATE DATABASE ${name}`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function driver(): Promise<void> {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const blocks = Math.max(2, Number(values.blocks));
  const streams = Number(values.streams);
  const fixture = await child(['test/fixtures/model-server/main.ts', '--port', '0', '--served-model-name', MODEL, '--tokens-per-response', '4']);
  const fxPort = Number(fixture.first.port);
  const slowFixture = await child(['test/fixtures/model-server/main.ts', '--port', '0', '--served-model-name', MODEL, '--tokens-per-response', '16', '--token-latency-ms', String(TOKEN_MS)]);
  const slowPort = Number(slowFixture.first.port);
  const profile = values['profile-dir'] ? ['--cpu-prof', '--cpu-prof-dir', values['profile-dir']] : [];
  const db = await scratchDatabase(values.database);
  const gateway = await child(['bench/gateway.ts', '--role', 'gateway', '--upstream-port', String(fxPort), '--slow-upstream-port', String(slowPort), ...(db.url ? ['--database-url', db.url] : [])], profile);
  const direct: Target = { url: `http://127.0.0.1:${fxPort}`, headers: {}, model: MODEL };
  const viaGw: Target = { url: `${String(gateway.first.url)}/inference`, headers: { authorization: `Bearer ${String(gateway.first.key)}` }, model: `${MODEL}#${ACCOUNT}/d` };
  try {
    // Warm up both paths (JIT, keep-alive pools, the key cache).
    await openLoop(direct, 200, 1);
    await openLoop(viaGw, 200, 1);

    const load0 = loadavg()[0] ?? NaN;
    const cpu0 = { gw: cpuSeconds(gateway.proc), fx: cpuSeconds(fixture.proc) };
    const d: number[] = [];
    const g: number[] = [];
    let errors = 0;
    const achieved: number[] = [];
    const blockSecs = seconds / blocks;
    for (let b = 0; b < blocks; b++) {
      for (const [t, sink] of [[direct, d], [viaGw, g]] as const) {
        const r = await openLoop(t, rate, blockSecs);
        sink.push(...r.lat);
        errors += r.errors;
        achieved.push(r.achieved);
      }
    }
    const gwUs = ((cpuSeconds(gateway.proc) - cpu0.gw) * 1e6) / g.length;
    const fxUs = ((cpuSeconds(fixture.proc) - cpu0.fx) * 1e6) / (g.length + d.length);
    const sd = stats(d);
    const sg = stats(g);
    console.log(`\n1. Non-streamed completions, open loop at ${rate} req/s, ${seconds} s per path in ${blocks} alternating blocks (loopback, 3 processes)`);
    console.log(`   sending rate achieved: min ${fmt(Math.min(...achieved))} req/s; errors: ${errors}`);
    console.log(`   direct   n=${sd.n}  p50 ${fmt(sd.p50, 3)} ms  p90 ${fmt(sd.p90, 3)} ms  p99 ${fmt(sd.p99, 3)} ms`);
    console.log(`   gateway  n=${sg.n}  p50 ${fmt(sg.p50, 3)} ms  p90 ${fmt(sg.p90, 3)} ms  p99 ${fmt(sg.p99, 3)} ms`);
    console.log(`   added    p50 ${fmt(sg.p50 - sd.p50, 3)} ms (goal < 1)   p99 ${fmt(sg.p99 - sd.p99, 3)} ms (goal < 5)   ratio p50 ${fmt(sg.p50 / sd.p50, 2)}×`);
    console.log(`   CPU per request: gateway ${fmt(gwUs, 0)} µs (${fmt((gwUs * rate) / 1e4, 1)}% of a core at ${rate} req/s), model-server fixture ${fmt(fxUs, 0)} µs: ratio ${fmt(gwUs / fxUs, 2)}×`);
    console.log(`   machine load average (1 min) ${fmt(load0, 2)} → ${fmt(loadavg()[0] ?? NaN, 2)} on ${cpus().length} CPUs: tails include time others' processes held the CPUs`);

    const td: number[] = [];
    const tg: number[] = [];
    const body = { messages: [{ role: 'user', content: 'stream' }], max_tokens: 4, stream: true };
    const body16 = { messages: [{ role: 'user', content: 'stream' }], max_tokens: 16, stream: true };
    for (let i = 0; i < streams; i++) {
      td.push((await call(direct, '/v1/chat/completions', body))[0]);
      tg.push((await call(viaGw, '/v1/chat/completions', body))[0]);
    }
    const a = stats(td);
    const b = stats(tg);
    console.log(`\n2. SSE time to first byte, ${streams} streamed chats per path, alternating one by one`);
    console.log(`   direct   p50 ${fmt(a.p50, 3)} ms  p99 ${fmt(a.p99, 3)} ms`);
    console.log(`   gateway  p50 ${fmt(b.p50, 3)} ms  p99 ${fmt(b.p99, 3)} ms`);
    console.log(`   added    p50 ${fmt(b.p50 - a.p50, 3)} ms  p99 ${fmt(b.p99 - a.p99, 3)} ms   ratio p50 ${fmt(b.p50 / a.p50, 2)}×  p99 ${fmt(b.p99 / a.p99, 2)}×`);

    // 3. Chunk by chunk: 16 tokens at TOKEN_MS each; when does event k arrive, direct vs gateway?
    const slowDirect: Target = { ...direct, url: `http://127.0.0.1:${slowPort}` };
    const slowGw: Target = { ...viaGw, model: `${MODEL}#${ACCOUNT}/slow` };
    const runs = Math.max(5, Math.round(streams / 5));
    const arrivals: Record<'d' | 'g', number[][]> = { d: [], g: [] };
    for (let i = 0; i < runs; i++) {
      arrivals.d.push(await streamEvents(slowDirect, body16));
      arrivals.g.push(await streamEvents(slowGw, body16));
    }
    const eventsPerStream = Math.min(...[...arrivals.d, ...arrivals.g].map((x) => x.length));
    const medianAt = (xs: number[][], k: number): number => stats(xs.map((x) => x[k] ?? NaN)).p50;
    const added = Array.from({ length: eventsPerStream }, (_, k) => medianAt(arrivals.g, k) - medianAt(arrivals.d, k));
    const spread = (xs: number[][]): number => stats(xs.map((x) => (x[x.length - 2] ?? NaN) - (x[1] ?? NaN))).p50;
    console.log(`\n3. Chunk by chunk: ${runs} streamed chats per path, 16 tokens at ${TOKEN_MS} ms each (${eventsPerStream} SSE events)`);
    console.log(`   first token → last token, median: direct ${fmt(spread(arrivals.d), 1)} ms, gateway ${fmt(spread(arrivals.g), 1)} ms (a buffering proxy would show ~0)`);
    if (process.env.BENCH_DEBUG) console.log(added.map((x) => x.toFixed(2)).join(" "));
    console.log(`   added delay per event (median over runs): median ${fmt(stats(added).p50, 3)} ms, max ${fmt(Math.max(...added), 3)} ms over the ${eventsPerStream} events\n`);
  } finally {
    agent.destroy();
    gateway.proc.kill('SIGTERM');
    fixture.proc.kill('SIGTERM');
    slowFixture.proc.kill('SIGTERM');
    await once(gateway.proc, 'exit');
    await db.drop();
  }
}

if (values.role === 'gateway') await runGateway(Number(values['upstream-port']), Number(values['slow-upstream-port']), values['database-url']);
else await driver();
