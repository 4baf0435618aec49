// Brings the simulated GPU cluster up and down: a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler) run by kwokctl's binary runtime, KWOK for nodes and
// pods, and the fleet of hack/fleet/sim-fleet.yaml. With KUBECONFIG set, uses that cluster instead.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  CoreV1Api,
  Health,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from '@kubernetes/client-node';
import { fleetNodes, loadFleet, SIMULATED_LABEL } from './fleet.js';
import { REAL_NODE_NAME, realNodeDir, realNodeLeftovers, realNodeSupport, runningRealNodeOwner, startRealNode, stopRealNode } from './real-node.js';

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
/** Where the simulated cluster keeps its state: `.hearth/` in the checkout (HEARTH_STATE_DIR overrides). */
export function stateDir(): string {
  return process.env.HEARTH_STATE_DIR ?? join(ROOT, '.hearth');
}
/** Where `cluster:up` writes the simulated cluster's kubeconfig (documented in the README). */
export function kubeconfigPath(): string {
  return join(stateDir(), 'kubeconfig');
}
/** The KWOK stages every simulated cluster runs with. */
export const KWOK_STAGES = join(ROOT, 'hack/kwok/stages.yaml');

function kwokWorkdir(): string {
  return join(stateDir(), 'kwok');
}
const CLUSTER = 'hearth';
const FIELD_MANAGER = 'hearth-sim-fleet';

export type Log = (msg: string) => void;
const defaultLog: Log = (m) => process.stderr.write(`[cluster] ${m}\n`);

export class ClusterError extends Error {}

/** Runs a command; resolves with stdout, rejects with a message that includes stderr's tail. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; inheritStderr?: boolean; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', opts.inheritStderr ? 'inherit' : 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new ClusterError(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new ClusterError(`${cmd} ${args.join(' ')} exited with ${code}\n${err.slice(-4000)}`));
    });
  });
}

/** Builds (or finds in the cache) the control-plane binaries; returns their directory. */
export async function ensureBinaries(log: Log = defaultLog): Promise<string> {
  log('checking the control-plane binaries (built from Go modules on first use) ...');
  const out = await run('bash', [join(ROOT, 'hack/build-bins.sh')], { inheritStderr: true }).catch((e: Error) => {
    throw new ClusterError(e.message.includes('Go is not installed') ? 'Go is not installed and KUBECONFIG is not set' : e.message);
  });
  const bin = out.trim().split('\n').pop() ?? '';
  if (!existsSync(join(bin, 'kube-apiserver'))) throw new ClusterError(`build-bins.sh gave no binaries in "${bin}"`);
  return bin;
}

export function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** True when the API server behind this kubeconfig answers /readyz within the timeout. */
export async function isReachable(kc: KubeConfig, timeoutMs = 3000): Promise<boolean> {
  try {
    return await new Health(kc).readyz({ signal: AbortSignal.timeout(timeoutMs) } as never);
  } catch {
    return false;
  }
}

/**
 * A running cluster is never mistaken for a dead one: while its processes exist, a slow /readyz
 * (a loaded machine) is waited for instead of replacing the cluster.
 */
async function isAlive(kc: KubeConfig, log: Log): Promise<boolean> {
  if (await isReachable(kc)) return true;
  if (clusterProcesses().length === 0) return false;
  log('the simulated cluster is running but slow to answer; waiting for it ...');
  return waitFor('the running API server to answer', 60_000, () => isReachable(kc, 5000), log).then(
    () => true,
    () => false,
  );
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>, log: Log): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`gave up waiting for ${what} after ${timeoutMs / 1000}s`);
  throw new ClusterError(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

/** True when nothing listens on 127.0.0.1:port. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function kwokEnv(bin: string): NodeJS.ProcessEnv {
  const versions = Object.fromEntries(
    readFileSync(join(ROOT, 'hack/versions.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=') as [string, string]),
  );
  return {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    KWOK_WORKDIR: kwokWorkdir(),
    KWOK_RUNTIME: 'binary',
    KWOK_KUBE_VERSION: versions.KUBE_VERSION,
    KWOK_KUBE_APISERVER_BINARY: join(bin, 'kube-apiserver'),
    KWOK_KUBE_CONTROLLER_MANAGER_BINARY: join(bin, 'kube-controller-manager'),
    KWOK_KUBE_SCHEDULER_BINARY: join(bin, 'kube-scheduler'),
    KWOK_CONTROLLER_BINARY: join(bin, 'kwok'),
    KWOK_ETCD_BINARY: join(bin, 'etcd'),
    KWOK_KUBECTL_BINARY: join(bin, 'kubectl'),
  };
}

export interface ClusterHandle {
  kubeconfig: string;
  /** true when KUBECONFIG named an existing cluster (nothing was started). */
  external: boolean;
  /** true when this call started the control plane (false when it was already up). */
  started: boolean;
}

export interface UpOptions {
  log?: Log;
  /** Add the simulated fleet's nodes. Default: yes for the simulated cluster; for an external one only if asked. */
  nodes?: boolean;
  /**
   * Start the real node (hack/lib/real-node.ts) beside the fleet. Default: yes for the simulated
   * cluster unless HEARTH_REAL_NODE=0; never for a KUBECONFIG cluster unless asked. Skipped with a
   * message where the machine cannot host it (not root, no namespaces).
   */
  realNode?: boolean;
}

/** Starts the real node unless it runs already; logs why when this machine cannot host it. */
export async function ensureRealNode(kubeconfig: string, log: Log = defaultLog): Promise<boolean> {
  const support = realNodeSupport();
  if (!support.ok) {
    log(`real node: SKIPPED (${support.reason}); the cluster has only simulated nodes, and tests that need real containers skip`);
    return false;
  }
  const owner = runningRealNodeOwner();
  if (owner && owner !== realNodeDir()) {
    log(`real node: SKIPPED (the machine's one real node belongs to the cluster in ${owner})`);
    return false;
  }
  const core = kubeConfigFrom(kubeconfig).makeApiClient(CoreV1Api);
  const node = await core.readNode({ name: REAL_NODE_NAME }).catch(() => undefined);
  const ready = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (ready && realNodeLeftovers().processes.some((p) => p.cmd.includes('kubelet'))) {
    log(`real node ${REAL_NODE_NAME} already running`);
    return true;
  }
  try {
    await startRealNode({ kubeconfig, log });
  } catch (e) {
    await stopRealNode({ kubeconfig, log: () => undefined }).catch(() => undefined);
    throw new ClusterError(
      `the real node did not start: ${(e as Error).message}\n(logs in ${realNodeDir()}/logs; HEARTH_REAL_NODE=0 starts the cluster without it)`,
    );
  }
  return true;
}

/** Idempotent: reuses a running simulated cluster, replaces a dead one, or uses KUBECONFIG. */
export async function clusterUp(opts: UpOptions = {}): Promise<ClusterHandle> {
  const log = opts.log ?? defaultLog;
  const external = process.env.KUBECONFIG;
  if (external) {
    const kc = kubeConfigFrom(external);
    if (!(await isReachable(kc, 5000))) {
      throw new ClusterError(
        `KUBECONFIG=${external} names ${kc.getCurrentCluster()?.server ?? 'no server'}, which does not answer /readyz. ` +
          'Start that cluster, or unset KUBECONFIG to use the simulated one.',
      );
    }
    log(`using the existing cluster in KUBECONFIG (${kc.getCurrentCluster()?.server})`);
    if (opts.nodes) await applyFleet(kc, log);
    if (opts.realNode) await ensureRealNode(external, log);
    return { kubeconfig: external, external: true, started: false };
  }

  if (existsSync(kubeconfigPath()) && (await isAlive(kubeConfigFrom(kubeconfigPath()), log))) {
    log(`simulated cluster already up (${kubeconfigPath()})`);
    if (opts.nodes !== false) await applyFleet(kubeConfigFrom(kubeconfigPath()), log);
    if (wantRealNode(opts)) await ensureRealNode(kubeconfigPath(), log);
    return { kubeconfig: kubeconfigPath(), external: false, started: false };
  }

  // Checked before anything is built or started, so the message comes at once.
  const port = process.env.HEARTH_APISERVER_PORT;
  if (port) {
    if (!(await portFree(Number(port)))) {
      throw new ClusterError(
        `port ${port} (HEARTH_APISERVER_PORT) is already in use on 127.0.0.1: stop what listens there ` +
          '(`ss -ltnp | grep :' + port + '`) or choose another port (unset it for a random free one).',
      );
    }
  }
  const bin = await ensureBinaries(log);
  const env = kwokEnv(bin);
  const args = ['create', 'cluster', '--name', CLUSTER, '--kubeconfig', join(stateDir(), 'kubeconfig.kwokctl')];
  args.push('--wait', '120s', '--timeout', '300s', '--disable-qps-limits');
  // Every Hearth Deployment has a Service: the default /24 service range (254 IPs) would cap a
  // fleet at ~250 deployments, so the simulated cluster gets a /16 as real clusters do.
  args.push('--extra-args', 'kube-apiserver=service-cluster-ip-range=10.96.0.0/16');
  // Hearth's KWOK lifecycle (hack/kwok/stages.yaml: the ordinary node and pod stages plus the
  // simulated batch job pods a test can give a duration and exit codes), and pod output from
  // kwok.x-k8s.io Logs objects, served through the API server's pod log endpoint (issue 13 item 6).
  args.push('--config', KWOK_STAGES, '--enable-crds', 'Logs,ClusterLogs');
  if (port) args.push('--kube-apiserver-port', port);
  mkdirSync(stateDir(), { recursive: true });
  // A cluster directory without a reachable API server is left over from a crash or reboot.
  await run(join(bin, 'kwokctl'), ['delete', 'cluster', '--name', CLUSTER], { env }).catch(() => undefined);
  killLeftovers(log);
  log('starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok ...');
  const t0 = Date.now();
  await run(join(bin, 'kwokctl'), args, { env });
  const flat = await run(join(bin, 'kwokctl'), ['get', 'kubeconfig', '--name', CLUSTER], { env });
  writeFileSync(kubeconfigPath(), flat, { mode: 0o600 });
  const kc = kubeConfigFrom(kubeconfigPath());
  await waitFor('the API server to be ready', 120_000, () => isReachable(kc), log);
  log(`control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s; kubeconfig: ${kubeconfigPath()}`);
  if (opts.nodes !== false) await applyFleet(kc, log);
  if (wantRealNode(opts)) await ensureRealNode(kubeconfigPath(), log);
  return { kubeconfig: kubeconfigPath(), external: false, started: true };
}

function wantRealNode(opts: UpOptions): boolean {
  if (opts.realNode !== undefined) return opts.realNode;
  if (process.env.HEARTH_REAL_NODE === '0') {
    defaultLog('real node: off (HEARTH_REAL_NODE=0)');
    return false;
  }
  return true;
}

/** Stops the simulated cluster and makes sure none of its processes remain. */
export async function clusterDown(opts: { log?: Log; nodes?: boolean } = {}): Promise<void> {
  const log = opts.log ?? defaultLog;
  const external = process.env.KUBECONFIG;
  if (external) {
    if (opts.nodes) await removeFleet(kubeConfigFrom(external), log);
    else log('KUBECONFIG is set: leaving that cluster alone (pass --nodes to remove the simulated nodes)');
    // A real node this checkout started beside that cluster (`cluster:up -- --real-node`) stops.
    if (runningRealNodeOwner() === realNodeDir()) await stopRealNode({ kubeconfig: external, log });
    return;
  }
  // The real node first, while the API server still answers (its Node object is deleted too).
  if (existsSync(realNodeDir())) {
    const kc = existsSync(kubeconfigPath()) ? kubeconfigPath() : undefined;
    await stopRealNode({ kubeconfig: kc, log });
  }
  const kwokctl = findCachedKwokctl();
  if (kwokctl && existsSync(kwokWorkdir())) {
    await run(kwokctl, ['delete', 'cluster', '--name', CLUSTER], {
      env: { ...process.env, KWOK_WORKDIR: kwokWorkdir(), KWOK_RUNTIME: 'binary' },
    }).catch((e: Error) => log(`kwokctl delete: ${e.message.split('\n')[0]}`));
  }
  killLeftovers(log);
  const deadline = Date.now() + 15_000;
  while (clusterProcesses().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const left = clusterProcesses();
  if (left.length > 0) throw new ClusterError(`processes still running after cluster:down: ${left.map((p) => p.pid).join(', ')}`);
  rmSync(kubeconfigPath(), { force: true });
  rmSync(join(stateDir(), 'kubeconfig.kwokctl'), { force: true });
  log('simulated cluster stopped');
}

function findCachedKwokctl(): string | undefined {
  const cache = process.env.HEARTH_CACHE ?? join(process.env.HOME ?? '/root', '.cache/hearth');
  const bins = join(cache, 'bin');
  if (!existsSync(bins)) return undefined;
  for (const d of readdirSync(bins)) {
    const p = join(bins, d, 'kwokctl');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Processes whose command line points into our kwok workdir (a crashed kwokctl leaves them). */
export function clusterProcesses(): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(kwokWorkdir() + '/')) found.push({ pid: Number(entry), cmd });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function killLeftovers(log: Log): void {
  for (const p of clusterProcesses()) {
    log(`stopping leftover process ${p.pid}: ${p.cmd.slice(0, 100)}`);
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

/** Server-side applies every fleet node (labels, taints, capacity) and removes stale simulated ones. */
export async function applyFleet(kc: KubeConfig, log: Log = defaultLog): Promise<V1Node[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = fleetNodes(loadFleet());
  const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  await Promise.all(
    nodes.map(async (node) => {
      const name = node.metadata!.name!;
      const { status, ...rest } = node;
      await core.patchNode({ name, body: rest, fieldManager: FIELD_MANAGER, force: true }, apply);
      await core.patchNodeStatus(
        { name, body: { apiVersion: 'v1', kind: 'Node', metadata: { name }, status }, fieldManager: FIELD_MANAGER, force: true },
        apply,
      );
    }),
  );
  const wanted = new Set(nodes.map((n) => n.metadata!.name!));
  const existing = await core.listNode({ labelSelector: `${SIMULATED_LABEL}=true` });
  for (const n of existing.items) {
    const name = n.metadata!.name!;
    if (!wanted.has(name)) {
      log(`removing node ${name}: no longer in the fleet file`);
      await core.deleteNode({ name }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }
  log(`fleet: ${nodes.length} simulated GPU nodes applied`);
  return nodes;
}

export async function removeFleet(kc: KubeConfig, log: Log = defaultLog): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const existing = await core.listNode({ labelSelector: `${SIMULATED_LABEL}=true` });
  await Promise.all(existing.items.map((n) => core.deleteNode({ name: n.metadata!.name! })));
  log(`removed ${existing.items.length} simulated nodes`);
}
