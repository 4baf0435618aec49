// The RSS of the production controller process (issue 11 item 4): `node <flags> dist/main.js
// controller`, compiled by tsc as the image builds it and started with the image's Node flags, on
// an existing cluster, idle (no Deployments of its own). Not a test: it prints figures.
//
//   KUBECONFIG=… npx tsx bench/controller-rss.ts [--ref main] [--runs 3] [--hold-s 15] [--node-flags="…"]
//
// For each build (this checkout; with --ref also that git ref, built from `git archive` the same
// way, so before/after come from one run) and each of --runs processes, one after the other:
//   - the process's VmRSS when it logs "ready" (modules loaded, database migrated, services
//     started), when /readyz first answers 200 (every informer listed once: caches synced), and
//     --hold-s seconds later; VmHWM (the kernel's peak) at the end;
//   - same-run baselines: a bare `node -e` process, and one that imports @kubernetes/client-node
//     only.
// The controller runs with HEARTH_CONTROLLER_NAMESPACE (a namespace nobody uses) and
// HEARTH_CONTROLLER_SELECTOR (a label nothing carries), a scratch database, no leader election:
// on a shared cluster it reconciles nothing of anyone else's. What it caches cluster-wide (the
// Deployment controller's pods and children, namespaces, nodes) is whatever the cluster holds, so
// compare builds within one run. Node flags default to the image's (the Dockerfile's ENTRYPOINT,
// hack/lib/hearth-images.ts HEARTH_NODE_FLAGS); --node-flags= runs without.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HEARTH_NODE_FLAGS } from '../hack/lib/hearth-images.js';
import { freePort } from '../hack/lib/free-port.js';
import { DEFAULT_DATABASE_URL } from '../hack/lib/postgres.js';
import { admin, fmt, withDatabase } from './lib.js';

const { values } = parseArgs({
  options: {
    /** Also build and measure this git ref (e.g. main), for a same-run before/after. */
    ref: { type: 'string' },
    runs: { type: 'string', default: '3' },
    'hold-s': { type: 'string', default: '15' },
    'sync-timeout-s': { type: 'string', default: '180' },
    /** Node flags before dist/main.js (default: the image's). */
    'node-flags': { type: 'string' },
  },
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, '.bench-dist', 'controller-rss');
const NODE = process.execPath;
const MiB = 1024;
const log = (m: string): void => void process.stderr.write(`[controller-rss] ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** tsc -p tsconfig.build.json into `dir`, with the migrations beside db/ (as the Dockerfile copies them). */
function build(srcRoot: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const tsc = spawnSync(NODE, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(srcRoot, 'tsconfig.build.json'), '--outDir', dir, '--sourceMap', 'false'], { stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error(`tsc failed for ${srcRoot} (${tsc.status})`);
  cpSync(join(srcRoot, 'src', 'db', 'migrations'), join(dir, 'db', 'migrations'), { recursive: true });
}

/** Builds `ref` from `git archive` (src/ and the tsconfigs) into .bench-dist/controller-rss/<ref>. */
function buildRef(ref: string): string {
  const tree = join(OUT, `${ref.replace(/[^\w.-]/g, '_')}-src`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  const archive = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', ref, 'src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'], { maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`git archive ${ref}: ${archive.stderr.toString()}`);
  const tar = spawnSync('tar', ['-x', '-C', tree], { input: archive.stdout });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  rmSync(join(OUT, ref.replace(/[^\w.-]/g, '_')), { recursive: true, force: true });
  const dir = join(OUT, ref.replace(/[^\w.-]/g, '_'), 'dist');
  build(tree, dir);
  // Resolution of packages from dist/: node_modules beside it, as /app/node_modules in the image.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, '..', 'node_modules'));
  writeFileSync(join(dir, '..', 'package.json'), readFileSync(join(tree, 'package.json')));
  return dir;
}

function buildHere(): string {
  rmSync(join(OUT, 'this'), { recursive: true, force: true });
  const dir = join(OUT, 'this', 'dist');
  build(ROOT, dir);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, '..', 'node_modules'));
  writeFileSync(join(dir, '..', 'package.json'), readFileSync(join(ROOT, 'package.json')));
  return dir;
}

/** A bare node process's VmRSS after `code` ran (KiB): the same-run baselines. */
async function baseline(code: string): Promise<number> {
  const p = spawnSync(NODE, ['--input-type=module', '-e', `${code}\nconst m = /^VmRSS:\\s+(\\d+)/m.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8')); console.log(m[1]);`], { cwd: ROOT, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`baseline: ${p.stderr}`);
  return Number(p.stdout.trim());
}

interface Figures {
  ready: number;
  synced: number;
  held: number;
  hwm: number;
  readyMs: number;
  syncMs: number;
}

async function measure(dist: string, flags: string[], env: NodeJS.ProcessEnv, healthPort: number): Promise<Figures> {
  const t0 = performance.now();
  const proc = spawn(NODE, [...flags, join(dist, 'main.js'), 'controller'], { cwd: join(dist, '..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited: number | null | undefined;
  proc.once('exit', (code) => (exited = code));
  const f: Figures = { ready: NaN, synced: NaN, held: NaN, hwm: NaN, readyMs: NaN, syncMs: NaN };
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const rec = JSON.parse(line) as { msg?: string; level?: number };
        if (rec.msg === 'ready' && Number.isNaN(f.ready)) {
          f.ready = procKiB(proc.pid!, 'VmRSS');
          f.readyMs = performance.now() - t0;
        }
        if ((rec.level ?? 0) >= 50) log(`controller: ${line.slice(0, 300)}`);
      } catch {
        /* not a log line */
      }
    }
  });
  try {
    const deadline = performance.now() + Number(values['sync-timeout-s']) * 1000;
    while (performance.now() < deadline && exited === undefined) {
      const ok = await fetch(`http://127.0.0.1:${healthPort}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
      if (ok) {
        f.synced = procKiB(proc.pid!, 'VmRSS');
        f.syncMs = performance.now() - t0;
        break;
      }
      await sleep(100);
    }
    if (exited !== undefined) throw new Error(`the controller exited (${exited}): ${stderr.slice(-2000)}`);
    if (Number.isNaN(f.synced)) log('caches did not sync within --sync-timeout-s');
    await sleep(Number(values['hold-s']) * 1000);
    f.held = procKiB(proc.pid!, 'VmRSS');
    f.hwm = procKiB(proc.pid!, 'VmHWM');
  } finally {
    proc.kill('SIGTERM');
    await new Promise<void>((resolve) => (exited !== undefined ? resolve() : proc.once('exit', () => resolve())));
  }
  return f;
}

async function main(): Promise<void> {
  const kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error('KUBECONFIG must name the cluster (this script never starts one)');
  const flags = values['node-flags'] !== undefined ? values['node-flags'].split(/\s+/).filter(Boolean) : [...HEARTH_NODE_FLAGS];
  const builds: [string, string][] = [];
  log('building this checkout (tsc -p tsconfig.build.json) ...');
  builds.push(['this checkout', buildHere()]);
  if (values.ref) {
    log(`building ${values.ref} (git archive + tsc) ...`);
    builds.push([values.ref, buildRef(values.ref)]);
  }
  const suffix = randomBytes(3).toString('hex');
  const dbUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const adminUrl = withDatabase(dbUrl, 'postgres');
  const bare = await baseline('');
  const clientNode = await baseline("await import('@kubernetes/client-node');");
  console.log(`Node ${process.version}, flags ${flags.length ? flags.join(' ') : '(none)'}; same-run baselines: bare node ${fmt(bare / MiB)} MiB, node importing @kubernetes/client-node only ${fmt(clientNode / MiB)} MiB`);
  const rows: [string, Figures][] = [];
  for (let run = 0; run < Number(values.runs); run++) {
    for (const [name, dist] of builds) {
      const db = `hearth_rss_${suffix}_${run}_${rows.length}`;
      await admin(adminUrl, `CREATE DATABASE ${db}`);
      const healthPort = await freePort();
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        KUBECONFIG: kubeconfig,
        DATABASE_URL: withDatabase(dbUrl, db),
        HEARTH_CONTROLLER_HEALTH_PORT: String(healthPort),
        HEARTH_CONTROLLER_NAMESPACE: `rss-${suffix}`,
        HEARTH_CONTROLLER_SELECTOR: `hearth.dev/rss-run=${suffix}`,
        LOG_LEVEL: 'info',
      };
      try {
        const f = await measure(dist, flags, env, healthPort);
        rows.push([name, f]);
        console.log(
          `${name} (run ${run + 1}): ready ${fmt(f.ready / MiB)} MiB at ${fmt(f.readyMs / 1000, 2)} s, caches synced ${fmt(f.synced / MiB)} MiB at ${fmt(f.syncMs / 1000, 2)} s, ` +
            `${values['hold-s']} s later ${fmt(f.held / MiB)} MiB, peak (VmHWM) ${fmt(f.hwm / MiB)} MiB`,
        );
      } finally {
        await admin(adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      }
    }
  }
  for (const [name] of builds) {
    const mine = rows.filter(([n]) => n === name).map(([, f]) => f);
    const mean = (k: keyof Figures): string => fmt(mine.reduce((s, f) => s + f[k], 0) / mine.length / MiB);
    console.log(`${name}, mean of ${mine.length}: ready ${mean('ready')} MiB, caches synced ${mean('synced')} MiB, held ${mean('held')} MiB, peak ${mean('hwm')} MiB`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
