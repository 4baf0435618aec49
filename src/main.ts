// Hearth's one entry point: `node dist/main.js <mode>` (or `tsx src/main.ts <mode>`).
//
//   api        the REST facade /v1/accounts/* (this file wires it)
//   controller the controller manager (the Deployment controller; leader-elected when
//              HEARTH_LEADER_ELECTION_NAMESPACE is set, Lease HEARTH_LEADER_ELECTION_LEASE_NAME,
//              identity POD_NAME)
//   gateway    the inference edge /inference/v1/* (HEARTH_GATEWAY_* settings, port 8081)
//   all        every mode in one process
//   bootstrap  --account <id> --email <e-mail> [--display-name <n>] [--rotate-key]
//              creates the first account, its namespace and admin user, and prints an admin API
//              key once (`npm run bootstrap -- --account acme --email ann@acme.example`)
//
// Configuration comes from the environment, parsed once by src/config.ts (every bad variable
// named, then exit 2); the variables, their defaults and meanings: README.md, "Configuration".
// Mode `all` runs the autoscaler on one in-process LoadAggregator shared by gateway and controller.
// Mode `controller` alone scrapes the gateways (controllers/autoscaler/load-scraper.ts); without
// the token and a gateway list it keeps the spec-based count (replicaCount, else minReplicaCount).
// Startup: migrate the database, sync the caches, listen. SIGTERM/SIGINT: stop accepting, let
// in-flight requests finish, close the watch and the database, exit 0.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApp } from './api/app.js';
import { bootstrap } from './auth/bootstrap.js';
import { KubeResourceStores } from './api/kube/resource-store.js';
import { NamespaceEnsurer, ensureAccountNamespace } from './api/kube/namespaces.js';
import { openDatabase, redactUrl, type Database } from './db/client.js';
import { KubeConfigError, loadKubeConfig, type PooledKubeConfig } from './kube/config.js';
import { KubeClients } from './kube/client.js';
import { InformerFactory } from './kube/informer-factory.js';
import { Autoscaler } from './controllers/autoscaler/autoscaler.js';
import { kubeSoftDelete } from './controllers/autoscaler/soft-delete.js';
import { GatewayLoadScraper, endpointSliceTargets } from './controllers/autoscaler/load-scraper.js';
import { controllerManager } from './controllers/manager.js';
import { ConfigError, aggregatorStaleMs, datasetSettings, durationMs as ms, gatewayConfig, parseConfig, type Config } from './config.js';
import { LoadAggregator, simulatedDialTarget, startGateway } from './gateway/index.js';
import { createLogger, type Logger } from './log.js';
import { realClock } from './util/clock.js';

/** Something a mode started; stop() must let in-flight work finish. */
export interface Service {
  name: string;
  stop(): Promise<void>;
  /** Rejects if the service fails after it started (a controller that could not start): the process exits 1. */
  failed?: Promise<never>;
}

interface Shared {
  config: Config;
  log: Logger;
  database: Database;
  kube(): PooledKubeConfig;
  /** The process's one rate-limited API client (HEARTH_CONTROLLER_QPS / _BURST). */
  clients: KubeClients;
  /** The process's one informer layer: one watch per collection, whatever number of readers. */
  informers: InformerFactory;
  /** Mode `all`: the gateway's load reports, read by the controller's autoscaler in the same process. */
  load?: LoadAggregator;
  /** Mode `all`: the in-process gateway's URL once it listens (batch inference jobs send their lines there). */
  gatewayUrl?: Deferred<string>;
}

/** A value that arrives later (the in-process gateway starts after the controller). */
interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type Starter = (shared: Shared) => Promise<Service>;

async function startApi({ config, log, database, kube, clients, informers }: Shared): Promise<Service> {
  // The stores read the process's informers (in mode `all` the same watches as the controller's
  // and the gateway's) and write through its one rate-limited client.
  const stores = new KubeResourceStores({ clients, informers }, { log });
  await stores.start();
  const namespaces = new NamespaceEnsurer(kube());
  const app = await buildApp({
    db: database.db,
    deployments: stores.deployments,
    stores: stores.others,
    ensureNamespace: (a) => namespaces.ensure(a),
    logger: log,
    pageTokenSecret: config.server.pageTokenSecret,
    rateLimit: { ratePerSecond: config.server.rateLimitRps, burst: config.server.rateLimitBurst },
    datasets: datasetSettings(config),
  });
  await app.listen({ port: config.server.port, host: config.server.host });
  return {
    name: 'api',
    async stop() {
      await app.close();
      await stores.stop();
    },
  };
}

async function startController({ config, log, database, kube, load, clients, informers, gatewayUrl }: Shared): Promise<Service> {
  const ns = config.controller.leaderElectionNamespace;
  const controllerLog = log.child({ component: 'controller' });
  const override = config.autoscaler.scaleToZeroWindowOverride;
  const scraper = load ? undefined : gatewayScraper(config, kube(), controllerLog);
  const source = load ?? scraper;
  // Without load (no in-process gateway, no scrape configured) the spec-based default stays.
  if (!source) controllerLog.warn('no gateway load source (HEARTH_INTERNAL_TOKEN with HEARTH_GATEWAY_LOAD_URLS or HEARTH_GATEWAY_LOAD_SELECTOR): replicas follow the spec, no autoscaling');
  const autoscaler = source
    ? new Autoscaler({
        load: source,
        clock: realClock,
        settings: { minScaleToZeroWindowMs: ms(config.autoscaler.minScaleToZeroWindow) },
        ...(override ? { scaleToZeroWindowOverrideMs: ms(override) } : {}),
        softDelete: kubeSoftDelete(kube()),
        log: controllerLog.child({ component: 'autoscaler' }),
      })
    : undefined;
  if (autoscaler && override) controllerLog.warn({ override }, 'HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE replaces every scale-to-zero window (tests and demos only)');
  // Batch inference jobs send their lines through a gateway: the configured one, else the in-process one.
  const bijGateway = config.batchInference.gatewayUrl;
  const bijUrl = bijGateway ? () => Promise.resolve(bijGateway) : gatewayUrl ? () => gatewayUrl.promise : undefined;
  if (!bijUrl) controllerLog.warn('no HEARTH_BATCH_INFERENCE_GATEWAY_URL: batch inference jobs are not run');
  // The process's one client and one informer cache (shared with the API and the gateway in mode `all`).
  const manager = controllerManager({
    ...(bijUrl ? { batchInference: { gatewayUrl: bijUrl, concurrency: config.batchInference.concurrency } } : {}),
    clients,
    informers,
    db: database.db,
    log: controllerLog,
    deployment: {
      workers: config.controller.workers,
      ...(config.controller.selector ? { selector: config.controller.selector } : {}),
      ...(autoscaler ? { autoscaler } : {}),
    },
    ...(ns ? { leaderElection: { namespace: ns, name: config.controller.leaderElectionLeaseName, identity: config.pod.name } } : {}),
  });
  scraper?.start();
  manager.start();
  // Never resolves; rejects if a controller failed to start (main then exits 1).
  const failed = manager.done.then(() => new Promise<never>(() => {}));
  failed.catch(() => {}); // observed by main once every service has started; not unhandled before
  return {
    name: 'controller',
    failed,
    stop: async () => {
      autoscaler?.stop();
      await scraper?.stop();
      await manager.stop();
    },
  };
}

/** Mode `controller` alone: the autoscaler pulls load from the gateways' admin listeners. */
function gatewayScraper(config: Config, kc: PooledKubeConfig, log: Logger): GatewayLoadScraper | undefined {
  const token = config.load.internalToken;
  const urls = config.load.gatewayUrls;
  const selector = config.load.gatewaySelector;
  if (!token || (!urls?.length && !selector)) return undefined;
  const namespace = config.load.gatewayNamespace ?? config.pod.namespace ?? 'default';
  log.info({ gateways: urls ?? { namespace, selector } }, 'autoscaler load: scraping the gateways');
  return new GatewayLoadScraper({
    clock: realClock,
    token,
    ...(urls?.length ? { targets: urls } : { discover: endpointSliceTargets(kc, namespace, selector!) }),
    staleMs: aggregatorStaleMs(config),
    log: log.child({ component: 'load-scraper' }),
  });
}

async function startGatewayMode({ config, log, database, informers, load, gatewayUrl }: Shared): Promise<Service> {
  const gatewaySettings = gatewayConfig(config);
  const dialTarget = simulatedDialTarget(gatewaySettings);
  if (dialTarget) {
    log.warn(
      { upstream: gatewaySettings.simulatedUpstream },
      'HEARTH_GATEWAY_SIMULATED_UPSTREAM is set (demo/simulation only): every replica endpoint is dialled at this loopback address instead of its pod IP',
    );
  }
  // The gateway reads the process's informers: in mode `all` the controller's and the API's watches.
  const gateway = await startGateway(gatewaySettings, { informers, db: database.db, log, ...(load ? { loadReporter: load } : {}), ...(dialTarget ? { dialTarget } : {}) });
  log.info({ url: gateway.url }, 'gateway listening');
  gatewayUrl?.resolve(gateway.url);
  return { name: 'gateway', stop: () => gateway.close() };
}

/** Modes and what they start, in order (stopped in reverse). */
const MODES: Record<string, Starter[]> = {
  api: [startApi],
  controller: [startController],
  gateway: [startGatewayMode],
  all: [startController, startApi, startGatewayMode],
};
const PLANNED_MODES: string[] = [];

/** A command line that cannot work (exit 2, like a bad configuration). */
class UsageError extends Error {}

async function runBootstrap(config: Config, args: string[], log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { account: { type: 'string' }, email: { type: 'string' }, 'display-name': { type: 'string' }, 'rotate-key': { type: 'boolean' } },
  });
  if (!values.account || !values.email) throw new UsageError('usage: bootstrap --account <id> --email <e-mail> [--display-name <name>] [--rotate-key]');
  if (!config.database.url) throw new UsageError('bootstrap needs DATABASE_URL (postgres://… or pglite://<dir>): an in-memory database would forget the key at exit');
  const database = await openDatabase({ url: config.database.url, applicationName: 'hearth-bootstrap' });
  try {
    await database.migrate();
    const r = await bootstrap(database.db, {
      accountId: values.account,
      email: values.email,
      ...(values['display-name'] ? { displayName: values['display-name'] } : {}),
      issueKey: values['rotate-key'] ? 'always' : 'ifNone',
    });
    const kc = loadKubeConfig(config.kube.kubeconfig, { inCluster: config.kube.serviceHost !== undefined });
    try {
      const ns = await ensureAccountNamespace(kc, r.account.accountId);
      log.info({ namespace: ns }, 'account namespace ready');
    } finally {
      kc.destroy();
    }
    process.stdout.write(`account accounts/${r.account.accountId} ${r.accountCreated ? 'created' : 'exists'}; admin ${r.admin.email} ${r.adminCreated ? 'created' : 'exists'}\n`);
    if (r.apiKey) process.stdout.write(`API key (shown once, store it now):\n${r.apiKey.key}\n`);
    else process.stdout.write('the admin already has a usable API key; none issued (use --rotate-key for a new one)\n');
  } finally {
    await database.close();
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [mode = 'api', ...rest] = argv;
  let config: Config;
  try {
    config = parseConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  const log = createLogger({ level: config.log.level });
  if (mode === 'bootstrap') {
    try {
      await runBootstrap(config, rest, log);
      return 0;
    } catch (e) {
      if (e instanceof UsageError || e instanceof KubeConfigError) {
        process.stderr.write(`${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }
  const starters = MODES[mode];
  if (!starters) {
    const known = [...Object.keys(MODES), 'bootstrap'].join(', ');
    process.stderr.write(PLANNED_MODES.includes(mode) ? `mode "${mode}" is not available yet\n` : `unknown mode "${mode}" (modes: ${known})\n`);
    return 2;
  }

  // Every mode talks to Kubernetes: a missing configuration is refused before anything starts.
  let kc: PooledKubeConfig;
  try {
    kc = loadKubeConfig(config.kube.kubeconfig, { inCluster: config.kube.serviceHost !== undefined });
  } catch (e) {
    if (!(e instanceof KubeConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  log.info({ mode, database: config.database.url ? redactUrl(config.database.url) : 'pglite (memory)' }, 'starting');
  const database = await openDatabase({ url: config.database.url, onPoolError: (err) => log.warn({ err }, 'idle database connection failed') });
  await database.migrate();
  if (config.bootstrap.account && config.bootstrap.email) {
    const r = await bootstrap(database.db, { accountId: config.bootstrap.account, email: config.bootstrap.email });
    if (r.apiKey) process.stdout.write(`bootstrap API key for accounts/${r.account.accountId} (shown once):\n${r.apiKey.key}\n`);
  }
  // Mode `all`: ONE aggregator, the gateway's reporter and the autoscaler's load source.
  const load = mode === 'all' ? new LoadAggregator({ staleMs: aggregatorStaleMs(config) }) : undefined;
  const clients = new KubeClients(kc, { qps: config.controller.qps, burst: config.controller.burst }, realClock);
  const informers = new InformerFactory(clients, { clock: realClock, log: log.child({ component: 'informers' }) });
  const shared: Shared = { config, log, database, kube: () => kc, clients, informers, ...(load ? { load, gatewayUrl: deferred<string>() } : {}) };
  const services: Service[] = [];
  const shutdown = async (): Promise<void> => {
    for (const s of [...services].reverse()) await s.stop().catch((err: unknown) => log.error({ err, service: s.name }, 'stop failed'));
    await informers.stop();
    kc.destroy();
    await database.close();
  };
  try {
    for (const start of starters) services.push(await start(shared));
  } catch (e) {
    log.error({ err: e }, 'startup failed');
    await shutdown();
    return 1;
  }
  log.info({ mode, services: services.map((s) => s.name) }, 'ready');
  const code = await untilSignalOrFailure(services, log);
  await shutdown();
  return code;
}

/** Somewhere SIGTERM/SIGINT come from (process; an EventEmitter in tests). */
export interface Signals {
  once(signal: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
  removeListener(signal: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
}

/**
 * Waits for SIGTERM/SIGINT (→ 0) or for a service to fail (→ 1, e.g. a controller whose caches
 * never synced: an inert controller must not keep the process looking healthy).
 */
export async function untilSignalOrFailure(services: readonly Service[], log: Logger, signals: Signals = process): Promise<number> {
  let onSignal: (() => void) | undefined;
  const signalled = new Promise<number>((resolve) => {
    onSignal = () => resolve(0);
    signals.once('SIGTERM', onSignal);
    signals.once('SIGINT', onSignal);
  });
  const failures = services.map((s) =>
    (s.failed ?? new Promise<never>(() => {})).catch((err: unknown) => {
      log.error({ err, service: s.name }, 'service failed; shutting down');
      return 1;
    }),
  );
  const code = await Promise.race([signalled, ...failures]);
  if (onSignal) {
    signals.removeListener('SIGTERM', onSignal);
    signals.removeListener('SIGINT', onSignal);
  }
  log.info({ exitCode: code }, 'shutting down');
  return code;
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
