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
// Configuration comes from the environment, parsed once (every problem listed, then exit 2):
//   PORT (8080) · HOST (127.0.0.1) · DATABASE_URL (unset: embedded PGlite in memory; also
//   pglite://<dir>) · KUBECONFIG (unset: ~/.kube/config or in-cluster) · LOG_LEVEL (info) ·
//   HEARTH_PAGE_TOKEN_SECRET (same on every replica) · HEARTH_RATE_LIMIT_RPS (50) ·
//   datasets: HEARTH_UPLOAD_URL_SECRET (signs upload URLs; default derived from the page-token
//   secret) · HEARTH_PUBLIC_URL (base of signed URLs; default the request's origin) ·
//   HEARTH_DATASET_MAX_UPLOAD_BYTES (1 GiB) ·
//   HEARTH_RATE_LIMIT_BURST (100) · HEARTH_BOOTSTRAP_ACCOUNT + HEARTH_BOOTSTRAP_EMAIL (bootstrap
//   at start, e.g. on PGlite where no earlier bootstrap can exist) ·
//   HEARTH_MIN_SCALE_TO_ZERO_WINDOW (5m; the operator's floor under scaleToZeroWindow) ·
//   HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE (unset; TESTS AND DEMOS ONLY: replaces every deployment's
//   scale-to-zero window, which the CRD keeps ≥ 5m) · HEARTH_GATEWAY_SIMULATED_UPSTREAM (unset;
//   DEMO/SIMULATION ONLY: a loopback host:port where the gateway dials EVERY replica endpoint
//   instead of its pod IP, since a simulated KWOK fleet has no pod network; `npm run demo` points
//   it at the model-server test fixture; non-loopback hosts are refused; logged as a warning).
//   Controller throughput: HEARTH_CONTROLLER_QPS (100) · HEARTH_CONTROLLER_BURST (200) (its API
//   client limit) · HEARTH_CONTROLLER_WORKERS (8; concurrent reconciles) ·
//   HEARTH_CONTROLLER_SELECTOR (unset: every hearth.dev Deployment; a label selector shards the
//   controller or keeps it to its own objects on a shared cluster).
//   Load transport (split processes): HEARTH_INTERNAL_TOKEN (≥ 16 characters, the same in gateway
//   and controller) · gateway: HEARTH_GATEWAY_ADMIN_PORT (the admin listener serving
//   GET /internal/load) · controller: HEARTH_GATEWAY_LOAD_URLS (comma-separated admin base URLs) or
//   HEARTH_GATEWAY_LOAD_SELECTOR (EndpointSlices of the gateway admin Service, e.g.
//   kubernetes.io/service-name=hearth-gateway-admin) in HEARTH_GATEWAY_LOAD_NAMESPACE (POD_NAMESPACE).
// Mode `all` runs the autoscaler on one in-process LoadAggregator shared by gateway and controller.
// Mode `controller` alone scrapes the gateways (controllers/autoscaler/load-scraper.ts); without
// the token and a gateway list it keeps the spec-based count (replicaCount, else minReplicaCount).
// Startup: migrate the database, sync the caches, listen. SIGTERM/SIGINT: stop accepting, let
// in-flight requests finish, close the watch and the database, exit 0.
import { createHmac } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { z } from 'zod';
import { buildApp, createApiLogger } from './api/app.js';
import { bootstrap } from './auth/bootstrap.js';
import type { DatasetRoutesOptions } from './api/routes/datasets.js';
import { KubeResourceStores } from './api/kube/resource-store.js';
import { NamespaceEnsurer, ensureAccountNamespace } from './api/kube/namespaces.js';
import { openDatabase, redactUrl, type Database } from './db/client.js';
import { KubeConfigError, loadKubeConfig, type PooledKubeConfig } from './kube/config.js';
import { KubeClients } from './kube/client.js';
import { InformerFactory } from './kube/informer-factory.js';
import { Autoscaler } from './controllers/autoscaler/autoscaler.js';
import { kubeSoftDelete } from './controllers/autoscaler/soft-delete.js';
import { GatewayLoadScraper, endpointSliceTargets } from './controllers/autoscaler/load-scraper.js';
import { DEFAULT_CONTROLLER_CLIENT, DEFAULT_WORKERS, deploymentManager } from './controllers/deployment/controller.js';
import { durationSeconds } from './crds/duration.js';
import { LoadAggregator, gatewayConfigFromEnv, startGateway } from './gateway/index.js';
import { GatewayConfigError, simulatedDialTarget } from './gateway/config.js';
import { realClock } from './util/clock.js';

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.string().optional(),
  KUBECONFIG: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HEARTH_PAGE_TOKEN_SECRET: z.string().min(16).optional(),
  HEARTH_RATE_LIMIT_RPS: z.coerce.number().positive().default(50),
  HEARTH_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(100),
  HEARTH_BOOTSTRAP_ACCOUNT: z.string().optional(),
  HEARTH_LEADER_ELECTION_NAMESPACE: z.string().min(1).optional(),
  HEARTH_LEADER_ELECTION_LEASE_NAME: z.string().min(1).optional(),
  POD_NAME: z.string().min(1).optional(),
  HEARTH_BOOTSTRAP_EMAIL: z.string().optional(),
  HEARTH_MIN_SCALE_TO_ZERO_WINDOW: z
    .string()
    .refine((v) => durationSeconds(v) !== undefined, 'a duration such as 5m')
    .default('5m'),
  HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE: z
    .string()
    .refine((v) => durationSeconds(v) !== undefined, 'a duration such as 30s')
    .optional(),
  HEARTH_CONTROLLER_QPS: z.coerce.number().positive().default(DEFAULT_CONTROLLER_CLIENT.qps),
  HEARTH_CONTROLLER_BURST: z.coerce.number().int().min(1).default(DEFAULT_CONTROLLER_CLIENT.burst),
  HEARTH_CONTROLLER_WORKERS: z.coerce.number().int().min(1).max(64).default(DEFAULT_WORKERS),
  HEARTH_CONTROLLER_SELECTOR: z
    .string()
    .regex(/^[A-Za-z0-9._/\-=!,() ]+$/, 'a label selector such as hearth.dev/shard=a or team in (x,y)')
    .optional(),
  HEARTH_INTERNAL_TOKEN: z.string().min(16).optional(),
  HEARTH_GATEWAY_LOAD_URLS: z
    .string()
    .transform((v) => v.split(',').map((u) => u.trim()).filter((u) => u !== ''))
    .pipe(z.array(z.url({ protocol: /^https?$/ })))
    .optional(),
  HEARTH_GATEWAY_LOAD_SELECTOR: z.string().min(1).optional(),
  HEARTH_GATEWAY_LOAD_NAMESPACE: z.string().min(1).optional(),
  POD_NAMESPACE: z.string().min(1).optional(),
  HEARTH_UPLOAD_URL_SECRET: z.string().min(16).optional(),
  HEARTH_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  HEARTH_DATASET_MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).optional(),
});
export type Config = z.infer<typeof Env>;

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const r = Env.safeParse(env);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

class ConfigError extends Error {}

/** Something a mode started; stop() must let in-flight work finish. */
export interface Service {
  name: string;
  stop(): Promise<void>;
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
}

/** As the gateway sizes its own aggregator; a bad gateway setting is reported when the gateway starts. */
function aggregatorStaleMs(): number {
  try {
    return Math.max(10_000, gatewayConfigFromEnv(process.env).reportIntervalMs * 5);
  } catch {
    return 10_000;
  }
}

const ms = (duration: string): number => Math.round((durationSeconds(duration) ?? 0) * 1000);

type Starter = (shared: Shared) => Promise<Service>;

/**
 * Dataset upload settings. Signed upload URLs must verify on every replica: the secret is
 * HEARTH_UPLOAD_URL_SECRET, else one derived from HEARTH_PAGE_TOKEN_SECRET (HMAC with a fixed label,
 * so the two never share a key), else random per process (one replica only).
 */
export function datasetSettings(config: Pick<Config, 'HEARTH_UPLOAD_URL_SECRET' | 'HEARTH_PAGE_TOKEN_SECRET' | 'HEARTH_PUBLIC_URL' | 'HEARTH_DATASET_MAX_UPLOAD_BYTES'>): DatasetRoutesOptions {
  const secret =
    config.HEARTH_UPLOAD_URL_SECRET ??
    (config.HEARTH_PAGE_TOKEN_SECRET ? createHmac('sha256', config.HEARTH_PAGE_TOKEN_SECRET).update('hearth dataset upload urls').digest() : undefined);
  return {
    ...(secret !== undefined ? { uploadUrlSecret: secret } : {}),
    ...(config.HEARTH_PUBLIC_URL ? { publicBaseUrl: config.HEARTH_PUBLIC_URL.replace(/\/+$/, '') } : {}),
    ...(config.HEARTH_DATASET_MAX_UPLOAD_BYTES ? { maxUploadBytes: config.HEARTH_DATASET_MAX_UPLOAD_BYTES } : {}),
  };
}

async function startApi({ config, log, database, kube }: Shared): Promise<Service> {
  const kc = kube();
  const stores = new KubeResourceStores(kc, { log });
  await stores.start();
  const namespaces = new NamespaceEnsurer(kc);
  const app = await buildApp({
    db: database.db,
    deployments: stores.deployments,
    stores: stores.others,
    ensureNamespace: (a) => namespaces.ensure(a),
    logger: log,
    pageTokenSecret: config.HEARTH_PAGE_TOKEN_SECRET,
    rateLimit: { ratePerSecond: config.HEARTH_RATE_LIMIT_RPS, burst: config.HEARTH_RATE_LIMIT_BURST },
    datasets: datasetSettings(config),
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  return {
    name: 'api',
    async stop() {
      await app.close();
      await stores.stop();
    },
  };
}

async function startController({ config, log, database, kube, load }: Shared): Promise<Service> {
  const ns = config.HEARTH_LEADER_ELECTION_NAMESPACE;
  const controllerLog = log.child({ component: 'controller' });
  const override = config.HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE;
  const scraper = load ? undefined : gatewayScraper(config, kube(), controllerLog);
  const source = load ?? scraper;
  // Without load (no in-process gateway, no scrape configured) the spec-based default stays.
  if (!source) controllerLog.warn('no gateway load source (HEARTH_INTERNAL_TOKEN with HEARTH_GATEWAY_LOAD_URLS or HEARTH_GATEWAY_LOAD_SELECTOR): replicas follow the spec, no autoscaling');
  const autoscaler = source
    ? new Autoscaler({
        load: source,
        clock: realClock,
        settings: { minScaleToZeroWindowMs: ms(config.HEARTH_MIN_SCALE_TO_ZERO_WINDOW) },
        ...(override ? { scaleToZeroWindowOverrideMs: ms(override) } : {}),
        softDelete: kubeSoftDelete(kube()),
        log: controllerLog.child({ component: 'autoscaler' }),
      })
    : undefined;
  if (autoscaler && override) controllerLog.warn({ override }, 'HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE replaces every scale-to-zero window (tests and demos only)');
  const manager = deploymentManager({
    kubeConfig: kube(),
    db: database.db,
    log: controllerLog,
    client: { qps: config.HEARTH_CONTROLLER_QPS, burst: config.HEARTH_CONTROLLER_BURST },
    controller: {
      workers: config.HEARTH_CONTROLLER_WORKERS,
      ...(config.HEARTH_CONTROLLER_SELECTOR ? { selector: config.HEARTH_CONTROLLER_SELECTOR } : {}),
      ...(autoscaler ? { autoscaler } : {}),
    },
    ...(ns ? { leaderElection: { namespace: ns, name: config.HEARTH_LEADER_ELECTION_LEASE_NAME, identity: config.POD_NAME } } : {}),
  });
  scraper?.start();
  await manager.start();
  return {
    name: 'controller',
    stop: async () => {
      autoscaler?.stop();
      await scraper?.stop();
      await manager.stop();
    },
  };
}

/** Mode `controller` alone: the autoscaler pulls load from the gateways' admin listeners. */
function gatewayScraper(config: Config, kc: PooledKubeConfig, log: Logger): GatewayLoadScraper | undefined {
  const token = config.HEARTH_INTERNAL_TOKEN;
  const urls = config.HEARTH_GATEWAY_LOAD_URLS;
  const selector = config.HEARTH_GATEWAY_LOAD_SELECTOR;
  if (!token || (!urls?.length && !selector)) return undefined;
  const namespace = config.HEARTH_GATEWAY_LOAD_NAMESPACE ?? config.POD_NAMESPACE ?? 'default';
  log.info({ gateways: urls ?? { namespace, selector } }, 'autoscaler load: scraping the gateways');
  return new GatewayLoadScraper({
    clock: realClock,
    token,
    ...(urls?.length ? { targets: urls } : { discover: endpointSliceTargets(kc, namespace, selector!) }),
    staleMs: aggregatorStaleMs(),
    log: log.child({ component: 'load-scraper' }),
  });
}

async function startGatewayMode({ log, database, kube, load }: Shared): Promise<Service> {
  const gatewayConfig = gatewayConfigFromEnv(process.env);
  const dialTarget = simulatedDialTarget(gatewayConfig);
  if (dialTarget) {
    log.warn(
      { upstream: gatewayConfig.simulatedUpstream },
      'HEARTH_GATEWAY_SIMULATED_UPSTREAM is set (demo/simulation only): every replica endpoint is dialled at this loopback address instead of its pod IP',
    );
  }
  const gateway = await startGateway(gatewayConfig, { kubeConfig: kube(), db: database.db, log, ...(load ? { loadReporter: load } : {}), ...(dialTarget ? { dialTarget } : {}) });
  log.info({ url: gateway.url }, 'gateway listening');
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

async function runBootstrap(config: Config, args: string[], log: Logger): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { account: { type: 'string' }, email: { type: 'string' }, 'display-name': { type: 'string' }, 'rotate-key': { type: 'boolean' } },
  });
  if (!values.account || !values.email) throw new ConfigError('usage: bootstrap --account <id> --email <e-mail> [--display-name <name>] [--rotate-key]');
  if (!config.DATABASE_URL) throw new ConfigError('bootstrap needs DATABASE_URL (postgres://… or pglite://<dir>): an in-memory database would forget the key at exit');
  const database = await openDatabase({ url: config.DATABASE_URL, applicationName: 'hearth-bootstrap' });
  try {
    await database.migrate();
    const r = await bootstrap(database.db, {
      accountId: values.account,
      email: values.email,
      ...(values['display-name'] ? { displayName: values['display-name'] } : {}),
      issueKey: values['rotate-key'] ? 'always' : 'ifNone',
    });
    const kc = loadKubeConfig(config.KUBECONFIG);
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
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const log = createApiLogger({ level: config.LOG_LEVEL });
  if (mode === 'bootstrap') {
    try {
      await runBootstrap(config, rest, log);
      return 0;
    } catch (e) {
      if (e instanceof ConfigError || e instanceof KubeConfigError) {
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

  // The gateway's settings too are refused before anything starts (exit 2, every bad one named).
  if (starters.includes(startGatewayMode)) {
    try {
      gatewayConfigFromEnv(env);
    } catch (e) {
      if (!(e instanceof GatewayConfigError)) throw e;
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
  }
  // Every mode talks to Kubernetes: a missing configuration is refused before anything starts.
  let kc: PooledKubeConfig;
  try {
    kc = loadKubeConfig(config.KUBECONFIG);
  } catch (e) {
    if (!(e instanceof KubeConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  log.info({ mode, database: config.DATABASE_URL ? redactUrl(config.DATABASE_URL) : 'pglite (memory)' }, 'starting');
  const database = await openDatabase({ url: config.DATABASE_URL, onPoolError: (err) => log.warn({ err }, 'idle database connection failed') });
  await database.migrate();
  if (config.HEARTH_BOOTSTRAP_ACCOUNT && config.HEARTH_BOOTSTRAP_EMAIL) {
    const r = await bootstrap(database.db, { accountId: config.HEARTH_BOOTSTRAP_ACCOUNT, email: config.HEARTH_BOOTSTRAP_EMAIL });
    if (r.apiKey) process.stdout.write(`bootstrap API key for accounts/${r.account.accountId} (shown once):\n${r.apiKey.key}\n`);
  }
  // Mode `all`: ONE aggregator, the gateway's reporter and the autoscaler's load source.
  const load = mode === 'all' ? new LoadAggregator({ staleMs: aggregatorStaleMs() }) : undefined;
  const clients = new KubeClients(kc, { qps: config.HEARTH_CONTROLLER_QPS, burst: config.HEARTH_CONTROLLER_BURST }, realClock);
  const informers = new InformerFactory(clients, { clock: realClock, log: log.child({ component: 'informers' }) });
  const shared: Shared = { config, log, database, kube: () => kc, clients, informers, ...(load ? { load } : {}) };
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
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'shutting down');
  await shutdown();
  return 0;
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
