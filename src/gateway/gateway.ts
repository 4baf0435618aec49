// The gateway process: watches (catalog, endpoints), load reporting, the HTTP server.
//
// main.ts hook for the `gateway` mode (and `all`, sharing the controller's aggregator and the
// process's informers):
//   const gw = await startGateway(gatewayConfig(config), { informers, db, log }); // gatewayConfig: src/config.ts
//   process.once('SIGTERM', () => void gw.close());
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { Agent } from 'undici';
import type { Db } from '../db/client.js';
import type { InformerFactory } from '../kube/informer-factory.js';
import { realClock, type Clock } from '../util/clock.js';
import { createAdminHandler } from './admin.js';
import { apiKeyAuthenticate } from './auth.js';
import { Catalog } from './catalog.js';
import { GatewayConfig, type GatewayConfigInput } from './config.js';
import { HoldQueue } from './hold.js';
import { Admission } from './limits.js';
import { LoadAggregator, LoadTracker, type LoadReporter } from './load.js';
import { LoadBoard, teeReporter } from './load-endpoint.js';
import { GatewayMetrics } from './metrics.js';
import { adapterHoldKey, createRequestHandler, type Authenticate, type DialTarget, type GatewayCore } from './server.js';
import { startSources, type Sources } from './sources.js';
import { Upstreams } from './upstreams.js';

export interface GatewayDeps {
  /**
   * The process's informers, which the gateway reads its Namespaces, Deployments, DeployedModels
   * and EndpointSlices from (sources.ts); without them the gateway routes only what tests put in
   * its catalog and upstreams.
   */
  informers?: InformerFactory;
  /** API keys are checked against this database (the REST API's tables)… */
  db?: Db;
  /** …or by this function (tests). One of the two is required. */
  authenticate?: Authenticate;
  /** Where load goes; default: a LoadAggregator in this process (`gateway.aggregator`). */
  loadReporter?: LoadReporter;
  /** Connect target for an endpoint; default the endpoint itself. */
  dialTarget?: DialTarget;
  log?: Logger;
  clock?: Clock;
}

export interface Gateway {
  /** `http://host:port` of the listening server. */
  url: string;
  port: number;
  core: GatewayCore;
  /** The in-process aggregator, when no `loadReporter` was given. */
  aggregator?: LoadAggregator;
  /** This replica's newest load, as `GET /internal/load` serves it. */
  loadBoard: LoadBoard;
  /** `http://host:port` of the admin listener (`/internal/load`, `/metrics`), when `adminPort` is set. */
  adminUrl?: string;
  /** Resolves once the watches have listed once (requests before that may see unknown models). */
  synced: Promise<void>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), stops watches and reports. */
  close(graceMs?: number): Promise<void>;
}

export async function startGateway(config: GatewayConfigInput | GatewayConfig, deps: GatewayDeps = {}): Promise<Gateway> {
  const cfg = GatewayConfig.parse(config);
  const clock = deps.clock ?? realClock;
  const log = (deps.log ?? pino({ name: 'hearth-gateway', redact: ['req.headers.authorization', '*.apiKey', '*.token'] })).child({ component: 'gateway' });
  const authenticate = deps.authenticate ?? (deps.db ? apiKeyAuthenticate(deps.db) : undefined);
  if (!authenticate) throw new Error('startGateway needs deps.db (API keys) or deps.authenticate');
  const gatewayId = cfg.gatewayId ?? `gateway-${randomBytes(4).toString('hex')}`;
  const aggregator = deps.loadReporter ? undefined : new LoadAggregator({ staleMs: Math.max(10_000, cfg.reportIntervalMs * 5) });
  const board = new LoadBoard(gatewayId);
  const reporter = teeReporter(board, deps.loadReporter ?? (aggregator as LoadAggregator));

  const catalog = new Catalog();
  const upstreams = new Upstreams();
  const hold = new HoldQueue(clock);
  const admission = new Admission(cfg, clock);
  const metrics = new GatewayMetrics({ processMetrics: cfg.processMetrics });
  const load = new LoadTracker(gatewayId, reporter, clock, cfg.reportIntervalMs);
  upstreams.onReady((key) => {
    const n = hold.release(key);
    if (n > 0) log.info({ deployment: key, released: n }, 'replica ready: releasing held requests');
  });
  // Adapter requests wait for a replica that has the adapter: one appears when the controller
  // reports a new load, or when a replica it already reported becomes ready here.
  catalog.onAdapterLoaded((key) => void hold.release(adapterHoldKey(key)));
  upstreams.onAdded((deployment) => {
    for (const key of catalog.deployedModelsOn(deployment)) hold.release(adapterHoldKey(key));
  });
  catalog.onAdapterRemoved((key) => {
    const n = hold.release(adapterHoldKey(key), 'gone');
    if (n > 0) log.info({ deployedModel: key, released: n }, 'deployed model removed: held requests answered 404');
  });
  catalog.onRemoved((key) => {
    const n = hold.release(key, 'gone');
    if (n > 0) log.info({ deployment: key, released: n }, 'deployment deleted: held requests answered 404');
  });
  metrics.beforeScrape = () => {
    metrics.bufferedBytes.set(admission.bufferedBytes);
    metrics.readyEndpoints.reset();
    for (const [key, n] of upstreams.counts()) {
      const [namespace = '', deployment = ''] = key.split('/');
      metrics.readyEndpoints.set({ namespace, deployment }, n);
    }
  };
  let sources: Sources | undefined;
  if (deps.informers) sources = startSources(deps.informers, catalog, upstreams, log);
  const synced = sources?.synced ?? Promise.resolve();
  let closing = false;
  const agent = new Agent({ connections: cfg.maxSocketsPerEndpoint, keepAliveTimeout: 4_000, headersTimeout: cfg.upstreamTimeoutMs, bodyTimeout: cfg.upstreamTimeoutMs });
  const core: GatewayCore = {
    config: cfg,
    clock,
    catalog,
    upstreams,
    hold,
    admission,
    load,
    metrics,
    authenticate,
    dialTarget: deps.dialTarget ?? ((ep) => ({ host: ep.address, port: ep.port })),
    agent,
    log,
    isReady: () => sources?.isSynced() ?? true,
    synced,
    isClosing: () => closing,
  };
  // Every listener is bounded: slow headers, slow bodies and idle keep-alives cannot hold sockets.
  const timeouts = { keepAliveTimeout: cfg.keepAliveTimeoutMs, requestTimeout: cfg.requestTimeoutMs, headersTimeout: Math.min(cfg.headersTimeoutMs, cfg.requestTimeoutMs) };
  const server: Server = createServer({ noDelay: true, ...timeouts }, createRequestHandler(core));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const closingAdmin = new AbortController();
  let admin: Server | undefined;
  if (cfg.adminPort !== undefined) {
    const handler = createAdminHandler({ board, clock, internalToken: cfg.internalToken, metricsToken: cfg.metricsToken, metrics, closing: closingAdmin.signal, log });
    admin = createServer(timeouts, handler);
    await new Promise<void>((resolve, reject) => {
      admin!.once('error', reject);
      admin!.listen(cfg.adminPort, cfg.host, () => {
        admin!.off('error', reject);
        resolve();
      });
    });
    if (cfg.internalToken === undefined) log.warn('admin listener without HEARTH_INTERNAL_TOKEN: /internal/load is disabled (the autoscaler sees no load from this gateway)');
  }
  load.start();
  const port = (server.address() as AddressInfo).port;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const adminUrl = admin ? `http://${hostPart}:${(admin.address() as AddressInfo).port}` : undefined;
  log.info({ port, gatewayId, ...(adminUrl ? { adminUrl } : {}) }, 'gateway listening');

  return {
    url: `http://${hostPart}:${port}`,
    port,
    core,
    ...(aggregator ? { aggregator } : {}),
    loadBoard: board,
    ...(adminUrl ? { adminUrl } : {}),
    synced,
    async close(graceMs = 30_000) {
      closing = true;
      // Held requests would outlive the grace period: tell them to retry (another replica) now.
      hold.closeAll();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their last response ends: close them as they do.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      server.closeIdleConnections();
      await done;
      clearInterval(idle);
      clearTimeout(timer);
      load.stop();
      load.flush();
      // The last report (in-flight requests drained) goes to waiting scrapes; then the admin port closes.
      closingAdmin.abort();
      if (admin) {
        const a = admin;
        await new Promise<void>((resolve) => {
          a.close(() => resolve());
          a.closeAllConnections();
        });
      }
      await sources?.stop();
      await agent.close();
    },
  };
}
