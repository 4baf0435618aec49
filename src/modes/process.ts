// The process behind src/main.ts (its entry point; the modes are listed there): parse the
// configuration (src/config.ts: every bad variable named, exit 2; the variables are in README.md,
// "Configuration") → logger → Kubernetes config → database (migrated) → the process's one client
// and one informer layer → the mode's services → wait for a signal (exit 0) or a failed service
// (exit 1) → stop the services in reverse, close the watches and the database.
import { ConfigError, aggregatorStaleMs, parseConfig, type Config } from '../config.js';
import { openDatabase, redactUrl, type Database } from '../db/client.js';
import { KubeClients } from '../kube/client.js';
import { KubeConfigError, loadKubeConfig, type PooledKubeConfig } from '../kube/config.js';
import { InformerFactory } from '../kube/informer-factory.js';
import { NamespaceSeal } from '../crds/account.js';
import { installationSecretsRepo } from '../db/index.js';
import { createLogger, type Logger } from '../log.js';
import { deliverKey, keyDelivery } from './bootstrap-key.js';
import { deferred, untilSignalOrFailure, type Service, type Shared, type Starter } from './service.js';
import { realClock } from '../util/clock.js';
import { SimulatedDialMap, directDialer, parseLoopbackHostPort } from '../kube/dial.js';

// Each mode's modules are imported when that mode runs, not before: a process loads only its own
// mode's (the controller neither fastify and the REST layer nor the gateway; issue 11 item 4).
const startController: () => Promise<Starter> = async () => (await import('./controller.js')).startController;
const startApi: () => Promise<Starter> = async () => (await import('./api.js')).startApi;
const startGatewayMode: () => Promise<Starter> = async () => (await import('./gateway.js')).startGatewayMode;

/** Modes and what they start, in order (stopped in reverse). */
const MODES: Record<string, (() => Promise<Starter>)[]> = {
  api: [startApi],
  controller: [startController],
  gateway: [startGatewayMode],
  all: [startController, startApi, startGatewayMode],
};
const PLANNED_MODES: string[] = [];

/** The process (src/main.ts is its entry point): the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [mode = 'api', ...rest] = argv;
  const config = refused(ConfigError, () => parseConfig(env));
  if (!config) return 2;
  const log = createLogger({ level: config.log.level });
  if (mode === 'bootstrap') return (await import('./bootstrap.js')).runBootstrap(config, rest, log);
  if (mode === 'model-files') return (await import('./model-files.js')).runModelFiles(config, log);
  const loaders = MODES[mode];
  if (!loaders) {
    // Every mode's modules are loaded before the refusal: the image's smoke test
    // (test/integration/real-node-images.test.ts) runs an unknown mode to see that they all load.
    await Promise.all(Object.values(MODES).flat().map((load) => load()));
    const known = [...Object.keys(MODES), 'bootstrap', 'model-files'].join(', ');
    process.stderr.write(PLANNED_MODES.includes(mode) ? `mode "${mode}" is not available yet\n` : `unknown mode "${mode}" (modes: ${known})\n`);
    return 2;
  }
  // Every mode talks to Kubernetes: a missing configuration is refused before anything starts.
  const kc = refused(KubeConfigError, () => loadKubeConfig(config.kube.kubeconfig, { inCluster: config.kube.serviceHost !== undefined }));
  if (!kc) return 2;
  const starters = await Promise.all(loaders.map((load) => load()));
  log.info({ mode, database: config.database.url ? redactUrl(config.database.url) : 'pglite (memory)' }, 'starting');
  return run(mode, starters, { config, log, kc, database: await openMigrated(config, log) });
}

/** `make()`, or undefined after printing the error if it is one of `refusal` (the caller exits 2). */
function refused<T>(refusal: new (...args: never[]) => Error, make: () => T): T | undefined {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof refusal)) throw e;
    process.stderr.write(`${e.message}\n`);
    return undefined;
  }
}

/** The database, migrated; with HEARTH_BOOTSTRAP_* set, the first account too (its key printed once). */
async function openMigrated(config: Config, log: Logger): Promise<Database> {
  const database = await openDatabase({ url: config.database.url, onPoolError: (err) => log.warn({ err }, 'idle database connection failed') });
  await database.migrate();
  if (config.bootstrap.account && config.bootstrap.email) {
    // A pod's standard output is its log: the key goes to a terminal or HEARTH_BOOTSTRAP_KEY_FILE only.
    const delivery = keyDelivery({ isTTY: process.stdout.isTTY === true, file: config.bootstrap.keyFile });
    const { bootstrap } = await import('../auth/bootstrap.js');
    const r = await bootstrap(database.db, { accountId: config.bootstrap.account, email: config.bootstrap.email, ...(delivery.to === 'nowhere' ? { issueKey: 'never' as const } : {}) });
    if (delivery.to === 'nowhere') log.warn({ account: r.account.accountId }, delivery.why);
    else if (r.apiKey) log.info({ account: r.account.accountId }, await deliverKey(r.apiKey.key, delivery, `bootstrap API key for accounts/${r.account.accountId} (shown once)`, process.stdout));
  }
  return database;
}

/**
 * DEMO/SIMULATION ONLY: the dial map of a simulated fleet (HEARTH_SIMULATED_DIAL_MAP_FILE, per pod)
 * with HEARTH_GATEWAY_SIMULATED_UPSTREAM as the target of every replica the map does not list;
 * undefined (pod IPs dialled as they are) when neither is set.
 */
function simulatedDialer(config: Config, log: Logger): SimulatedDialMap | undefined {
  const file = config.simulation.dialMapFile;
  const upstream = config.gateway.simulatedUpstream;
  if (!file && !upstream) return undefined;
  const map = new SimulatedDialMap(upstream ? parseLoopbackHostPort(upstream) : undefined); // loopback: validated by the config schema
  if (upstream) log.warn({ upstream }, 'HEARTH_GATEWAY_SIMULATED_UPSTREAM is set (demo/simulation only): replica endpoints are dialled at this loopback address instead of their pod IPs');
  if (file) {
    log.warn({ file }, 'HEARTH_SIMULATED_DIAL_MAP_FILE is set (demo/simulation only): the replicas it lists are dialled at loopback fixtures instead of their pod IPs');
    map.watchFile(file, (err) => log.error({ err, file }, 'simulated dial map: the file was not applied'));
  }
  return map;
}

/** Starts the mode's services on the process's shared pieces, waits for a signal or a failure, shuts down. */
async function run(mode: string, starters: Starter[], { config, log, kc, database }: { config: Config; log: Logger; kc: PooledKubeConfig; database: Database }): Promise<number> {
  // Mode `all`: ONE aggregator, the gateway's reporter and the autoscaler's load source.
  const load = mode === 'all' ? new (await import('../gateway/index.js')).LoadAggregator({ staleMs: aggregatorStaleMs(config) }) : undefined;
  const clients = new KubeClients(kc, { qps: config.controller.qps, burst: config.controller.burst }, realClock);
  // Every process reads namespaces through the installation's seal (src/crds/account.ts); the API seals what it creates.
  const tenancy = new NamespaceSeal(await installationSecretsRepo.installationSecret(database.db, installationSecretsRepo.SECRET_NAMES.tenancy));
  const informers = new InformerFactory(clients, { clock: realClock, log: log.child({ component: 'informers' }), tenancy });
  const sim = simulatedDialer(config, log);
  const shared: Shared = { config, log, database, kube: () => kc, clients, informers, tenancy, dial: sim?.dial ?? directDialer, ...(sim ? { simulated: true } : {}), ...(load ? { load, gatewayUrl: deferred<string>() } : {}) };
  const services: Service[] = [];
  const shutdown = async (): Promise<void> => {
    for (const s of [...services].reverse()) await s.stop().catch((err: unknown) => log.error({ err, service: s.name }, 'stop failed'));
    await informers.stop();
    sim?.close();
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
