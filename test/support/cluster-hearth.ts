// Hearth in-process on the shared test cluster, wired as `main.ts` mode `all` (the REST API, the
// gateway, the controller manager on one client and one informer factory, sealing and verifying
// with TEST_SEAL), for the end-to-end suites. One database of the run's own, one account with an
// admin key, its namespace; close() stops it all, clears the finalizers of Hearth's objects in the
// namespace, deletes it and drops the database.
//
// The cluster is shared by other suites running at the same time: every controller the manager
// starts is limited to this run by default — the namespaced ones (BatchJob, which always runs,
// DeployedModel, NodePool, Environment, SFTJob) to the run's namespace, the Deployment controller
// (which has only a label selector) to the account's label. A test overrides a scope only by
// naming another one. The BatchInferenceJob controller has no scope; a suite that runs it says so.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { installCrds } from '../../hack/lib/crds.js';
import { buildApp, type BuildAppOptions } from '../../src/api/app.js';
import { KubeKindClients } from '../../src/api/kube/kind-client.js';
import { NamespaceEnsurer, accountNamespace } from '../../src/api/kube/namespaces.js';
import { FsArtifactStore } from '../../src/artifacts/index.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import { controllerManager, type ControllerManagerOptions } from '../../src/controllers/manager.js';
import { KubeClients, type Manager } from '../../src/controllers/runtime/index.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import { KINDS } from '../../src/crds/registry.js';
import type { Database } from '../../src/db/client.js';
import { startGateway, type Gateway, type GatewayConfigInput, type GatewayDeps } from '../../src/gateway/index.js';
import { InformerFactory } from '../../src/kube/informer-factory.js';
import { createLogger, type Logger } from '../../src/log.js';
import { realClock } from '../../src/util/clock.js';
import { createScratchDatabase, dropScratchDatabase } from './database.js';
import { testKubeConfig } from './env.js';
import { TEST_SEAL } from './tenancy.js';

/** What the manager's options may be built from (URLs exist only once the API and gateway listen). */
export interface ClusterHearthParts {
  namespace: string;
  apiUrl: string;
  gateway?: Gateway;
  store?: FsArtifactStore;
}

export interface ClusterHearthOptions {
  /** The run's account (bootstrapped with an admin); its namespace is `acct-<account>`. */
  account: string;
  /** The run's own database (created, migrated; dropped by close()). */
  dbName: string;
  maxConnections?: number;
  /** Field manager for installing the CRDs. */
  crdManager: string;
  /** Make the account's namespace (sealed) before starting (default true). */
  ensureNamespace?: boolean;
  /** An FsArtifactStore in a temporary folder, given to the API (and removed by close()). */
  artifacts?: boolean;
  /** Listen on 127.0.0.1 (the URL is `apiUrl`), for callers over HTTP (trainers, the CLI). */
  listen?: boolean;
  /** More options of the REST app (podLogs, console, …). */
  app?: (clients: KubeClients) => Partial<BuildAppOptions>;
  /** Start the gateway with this config and these deps (the informers and database are added). */
  gateway?: { config?: Partial<GatewayConfigInput>; deps?: Omit<GatewayDeps, 'informers' | 'db' | 'log'> };
  /** The manager's controllers and settings; every controller is scoped to the run unless named otherwise. */
  manager?: (parts: ClusterHearthParts) => Omit<ControllerManagerOptions, 'clients' | 'informers' | 'db' | 'log'>;
  log?: Logger;
  /** The cluster's KubeConfig (default testKubeConfig(); e.g. the process's pooled one, as main.ts loads it). */
  kc?: KubeConfig;
}

export interface ClusterHearth {
  namespace: string;
  database: Database;
  /** Admin key of the account. */
  apiKey: string;
  clients: KubeClients;
  informers: InformerFactory;
  kinds: KubeKindClients;
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` when started with `listen`, else ''. */
  apiUrl: string;
  gateway?: Gateway;
  store?: FsArtifactStore;
  manager: Manager;
  /** A new manager with the same options on the same informers (a restart: a new leader's warm cache); close() stops it. */
  startManager(): Manager;
  log: Logger;
  close(): Promise<void>;
}

/** The manager's options with every controller limited to `namespace` / the account's label unless set. */
export function scopedManagerOptions(o: Omit<ControllerManagerOptions, 'clients' | 'informers' | 'db' | 'log'>, namespace: string, account: string): Omit<ControllerManagerOptions, 'clients' | 'informers' | 'db' | 'log'> {
  const ns = <T extends { namespace?: string }>(s: T | undefined): T | undefined => (s ? { namespace, ...s } : undefined);
  return {
    metering: false,
    shutdownTimeoutMs: 5000,
    ...o,
    deployment: { selector: `${LABELS.account}=${account}`, ...o.deployment },
    deployedModel: { namespace, ...o.deployedModel },
    batchJob: { namespace, ...o.batchJob },
    nodePool: ns(o.nodePool),
    environment: ns(o.environment),
    sftJob: ns(o.sftJob),
  };
}

export async function startClusterHearth(o: ClusterHearthOptions): Promise<ClusterHearth> {
  const kc = o.kc ?? testKubeConfig();
  const log = o.log ?? createLogger({ level: (process.env.HEARTH_TEST_LOG as 'warn' | undefined) ?? 'warn' });
  const namespace = accountNamespace(o.account);
  const stops: (() => Promise<unknown> | unknown)[] = [];
  const h = { namespace, log } as ClusterHearth;
  let storeDir = '';
  h.close = async () => {
    for (const stop of stops.reverse()) await stop();
    // The controllers are stopped: drop finalizers so the namespace can go.
    const custom = kc.makeApiClient(CustomObjectsApi);
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (const { plural } of KINDS) {
      const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural }).catch(() => ({ items: [] }))) as { items: { metadata: { name?: string } }[] };
      for (const obj of list.items) {
        await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name: obj.metadata.name ?? '', body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
      }
    }
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }).catch(() => undefined);
    await h.database?.close();
    await dropScratchDatabase(o.dbName).catch(() => undefined);
    await h.store?.close();
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  };
  try {
    await installCrds(kc, o.crdManager);
    h.database = await createScratchDatabase(o.dbName, { maxConnections: o.maxConnections ?? 8 });
    h.apiKey = (await bootstrap(h.database.db, { accountId: o.account, email: `admin@${o.account}.example` })).apiKey!.key;
    const namespaces = new NamespaceEnsurer(kc, { seal: TEST_SEAL });
    if (o.ensureNamespace !== false) await namespaces.ensure(o.account);
    if (o.artifacts) {
      storeDir = await mkdtemp(join(tmpdir(), `hearth-${o.crdManager}-`));
      h.store = new FsArtifactStore(storeDir);
      await h.store.init();
    }

    h.clients = new KubeClients(kc, { qps: 50, burst: 100 }, realClock);
    h.informers = new InformerFactory(h.clients, { clock: realClock, tenancy: TEST_SEAL, log, backoff: { initialMs: 200, maxMs: 2000 } });
    stops.push(() => h.informers.stop());
    h.kinds = new KubeKindClients({ clients: h.clients, informers: h.informers }, { log });
    stops.push(() => h.kinds.stop());
    await h.kinds.start();
    h.app = await buildApp({
      db: h.database.db,
      ...(h.store ? { artifacts: h.store } : {}),
      deployments: h.kinds.deployments,
      kinds: h.kinds.others,
      ensureNamespace: (a) => namespaces.ensure(a),
      logger: log,
      rateLimit: false,
      ...o.app?.(h.clients),
    });
    stops.push(() => h.app.close());
    h.apiUrl = o.listen ? await h.app.listen({ host: '127.0.0.1', port: 0 }) : '';
    if (o.gateway) {
      h.gateway = await startGateway({ host: '127.0.0.1', port: 0, processMetrics: false, ...o.gateway.config }, { informers: h.informers, db: h.database.db, log, ...o.gateway.deps });
      stops.push(() => h.gateway?.close(2000));
    }
    const managerOptions = scopedManagerOptions(o.manager?.({ namespace, apiUrl: h.apiUrl, gateway: h.gateway, store: h.store }) ?? {}, namespace, o.account);
    h.startManager = () => {
      h.manager = controllerManager({ clients: h.clients, informers: h.informers, db: h.database.db, log, ...managerOptions });
      h.manager.start();
      return h.manager;
    };
    stops.push(() => h.manager?.stop());
    h.startManager();
    await h.gateway?.synced;
  } catch (err) {
    await h.close().catch(() => undefined);
    throw err;
  }
  return h;
}
