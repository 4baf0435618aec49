// Mode `controller`: the controller manager (every controller, leader-elected when
// HEARTH_LEADER_ELECTION_NAMESPACE is set) and the Deployment autoscaler's load source: in mode
// `all` the in-process LoadAggregator the gateway reports to; in mode `controller` alone a scraper
// of the gateways (controllers/autoscaler/load-scraper.ts); without the token and a gateway list
// the spec-based count stays (replicaCount, else minReplicaCount).
import { aggregatorStaleMs, datasetSettings, durationMs as ms, type Config } from '../config.js';
import type { DeployedModelSettings } from '../controllers/deployed-model/controller.js';
import { loadModelServerConfig, type ModelServerConfig } from '../controllers/deployment/model-server-config.js';
import { Autoscaler } from '../controllers/autoscaler/autoscaler.js';
import { GatewayLoadScraper, endpointSliceTargets } from '../controllers/autoscaler/load-scraper.js';
import { kubeSoftDelete } from '../controllers/autoscaler/soft-delete.js';
import { openArtifactStore } from '../artifacts/index.js';
import { controllerManager } from '../controllers/manager.js';
import { deploymentInformers } from '../controllers/deployment/cache.js';
import { HistoryRecorder, type LoadReader } from '../controllers/history/recorder.js';
import { namespacesInformer } from '../controllers/runtime/projections.js';
import { accountOfNamespace } from '../crds/account.js';
import type { Database } from '../db/client.js';
import type { InformerFactory } from '../kube/informer-factory.js';
import { DEFAULT_TRAINER } from '../controllers/sft-job/trainer.js';
import type { KubeClients } from '../kube/client.js';
import type { Logger } from '../log.js';
import { realClock } from '../util/clock.js';
import type { Service, Shared } from './service.js';
import { startHealthServer } from './controller-health.js';

export async function startController({ config, log, database, load, clients, informers, dial, gatewayUrl }: Shared): Promise<Service> {
  const ns = config.controller.leaderElectionNamespace;
  const controllerLog = log.child({ component: 'controller' });
  const override = config.autoscaler.scaleToZeroWindowOverride;
  const scraper = load ? undefined : gatewayScraper(config, clients, controllerLog);
  const source = load ?? scraper;
  // Without load (no in-process gateway, no scrape configured) the spec-based default stays.
  if (!source) controllerLog.warn('no gateway load source (HEARTH_INTERNAL_TOKEN with HEARTH_GATEWAY_LOAD_URLS or HEARTH_GATEWAY_LOAD_SELECTOR): replicas follow the spec, no autoscaling');
  const autoscaler = source
    ? new Autoscaler({
        load: source,
        clock: realClock,
        settings: { minScaleToZeroWindowMs: ms(config.autoscaler.minScaleToZeroWindow) },
        ...(override ? { scaleToZeroWindowOverrideMs: ms(override) } : {}),
        softDelete: kubeSoftDelete(clients),
        log: controllerLog.child({ component: 'autoscaler' }),
      })
    : undefined;
  if (autoscaler && override) controllerLog.warn({ override }, 'HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE replaces every scale-to-zero window (tests and demos only)');
  // Batch inference jobs send their lines through a gateway: the configured one, else the in-process one.
  const bijGateway = config.batchInference.gatewayUrl;
  const bijUrl = bijGateway ? () => Promise.resolve(bijGateway) : gatewayUrl ? () => gatewayUrl.promise : undefined;
  if (!bijUrl) controllerLog.warn('no HEARTH_BATCH_INFERENCE_GATEWAY_URL: batch inference jobs are not run');
  // SFT jobs: trainer pods call the REST API (progress, files, signed dataset URLs).
  const trainerApiUrl = config.sft.trainerApiUrl ?? config.datasets.publicUrl;
  if (!trainerApiUrl) controllerLog.warn('no HEARTH_TRAINER_API_URL or HEARTH_PUBLIC_URL: supervised fine-tuning jobs are not run');
  // Batch inference and SFT jobs read and write dataset files where the REST API keeps them.
  const artifacts = bijUrl || trainerApiUrl ? await openArtifactStore(config.artifacts) : undefined;
  const sftJob =
    trainerApiUrl && artifacts
      ? {
          artifacts,
          trainer: {
            ...DEFAULT_TRAINER,
            image: config.sft.trainerImage,
            ...(config.sft.trainerCommand ? { command: config.sft.trainerCommand } : {}),
            apiUrl: trainerApiUrl,
            activeDeadlineSeconds: Math.round(ms(config.sft.trainerActiveDeadline) / 1000),
          },
        }
      : undefined;
  const files = modelFilesWiring(config, controllerLog);
  // The process's one client and one informer cache (shared with the API and the gateway in mode `all`).
  // HEARTH_CONTROLLER_NAMESPACE: the namespaced controllers watch only that namespace.
  const only = config.controller.namespace ? { namespace: config.controller.namespace } : {};
  const manager = controllerManager({
    ...(bijUrl ? { batchInference: { gatewayUrl: bijUrl, concurrency: config.batchInference.concurrency, ...(artifacts ? { artifacts } : {}) } } : {}),
    ...(sftJob ? { sftJob: { ...sftJob, ...only } } : {}),
    clients,
    informers,
    db: database.db,
    log: controllerLog,
    deployedModel: { dial, pollMs: ms(config.deployedModels.pollInterval), ...files.deployedModel, ...only },
    ...(config.controller.selector ? {} : { nodePool: { idleWindowMs: ms(config.nodePools.idleWindow), karpenterNodeClass: config.nodePools.karpenterNodeClass, ...only } }),
    environment: { ...only },
    batchJob: { logRetentionMs: ms(config.batchJobs.logRetention), ...only },
    metering: { intervalMs: ms(config.metering.interval), flushIntervalMs: ms(config.metering.flushInterval) },
    orphanHolds: {
      intervalMs: ms(config.controller.orphanHoldSweepInterval),
      graceMs: ms(config.controller.orphanHoldGrace),
      off: config.controller.orphanHoldSweep === 'off',
    },
    deployment: {
      ...files.deployment,
      workers: config.controller.workers,
      ...(config.controller.selector ? { selector: config.controller.selector } : {}),
      ...(autoscaler ? { autoscaler } : {}),
    },
    ...(ns ? {
          leaderElection: {
            namespace: ns,
            name: config.controller.leaderElectionLeaseName,
            identity: config.pod.name,
            leaseDurationMs: ms(config.controller.leaseDuration),
            renewDeadlineMs: ms(config.controller.renewDeadline),
            retryPeriodMs: ms(config.controller.retryPeriod),
          },
        } : {}),
  });
  const history = historyRecorder({ config, informers, database, load: source, log: controllerLog });
  scraper?.start();
  manager.start();
  history?.start();
  const healthPort = config.controller.healthPort;
  const health =
    healthPort === undefined
      ? undefined
      : await startHealthServer({ done: manager.done, isLeader: () => manager.isLeader(), hasSynced: () => informers.hasSynced() }, { port: healthPort, log: controllerLog });
  // Never resolves; rejects if a controller failed to start (main then exits 1).
  const failed = manager.done.then(() => new Promise<never>(() => {}));
  failed.catch(() => {}); // observed by main once every service has started; not unhandled before
  return {
    name: 'controller',
    failed,
    stop: async () => {
      autoscaler?.stop();
      await health?.close();
      await history?.stop();
      await scraper?.stop();
      await manager.stop();
      await artifacts?.close();
    },
  };
}

/** Mode `controller` alone: the autoscaler pulls load from the gateways' admin listeners. */
function gatewayScraper(config: Config, clients: KubeClients, log: Logger): GatewayLoadScraper | undefined {
  const token = config.load.internalToken;
  const urls = config.load.gatewayUrls;
  const selector = config.load.gatewaySelector;
  if (!token || (!urls?.length && !selector)) return undefined;
  const namespace = config.load.gatewayNamespace ?? config.pod.namespace ?? 'default';
  log.info({ gateways: urls ?? { namespace, selector } }, 'autoscaler load: scraping the gateways');
  return new GatewayLoadScraper({
    clock: realClock,
    token,
    ...(urls?.length ? { targets: urls } : { discover: endpointSliceTargets(clients, namespace, selector!) }),
    staleMs: aggregatorStaleMs(config),
    log: log.child({ component: 'load-scraper' }),
  });
}

/**
 * The model-server settings (HEARTH_MODEL_SERVER_CONFIG_FILE over the defaults: vendor images, the
 * CPU runtime, pod settings, models) and adapters' files into model-server pods
 * (HEARTH_MODEL_FILES_IMAGE + _SOURCE_URL): the Deployment controller gives pods of deployments
 * with addons the model-files sidecar, and the DeployedModel controller asks it for the files (URLs
 * signed with the API's secret, as :getDownloadEndpoint's).
 */
export function modelFilesWiring(config: Config, log: Logger): { deployment: { modelServerConfig?: ModelServerConfig }; deployedModel: Pick<DeployedModelSettings, 'modelFiles'> } {
  const settings = config.modelServer.configFile;
  const { image, sourceUrl } = config.modelFiles;
  if (settings?.servers?.cpu) log.info({ image: settings.servers.cpu.image }, 'model-server settings: a CPU runtime serves acceleratorType CPU deployments');
  if (!image || !sourceUrl) {
    log.warn('no HEARTH_MODEL_FILES_IMAGE: model-server pods get no model-files sidecar; adapters\' files must reach /mnt/models another way');
    return { deployment: settings ? { modelServerConfig: loadModelServerConfig(settings) } : {}, deployedModel: {} };
  }
  const secret = datasetSettings(config).uploadUrlSecret;
  if (secret === undefined) log.warn('neither HEARTH_UPLOAD_URL_SECRET nor HEARTH_PAGE_TOKEN_SECRET is set: the adapters\' download URLs verify only on an API in this process (mode all)');
  return {
    deployment: { modelServerConfig: loadModelServerConfig({ ...settings, modelFiles: { image, sourceUrl } }) },
    deployedModel: { modelFiles: { sourceUrl, ...(secret !== undefined ? { secret } : {}) } },
  };
}

/**
 * The deployment history for the console's timeline (controllers/history): replicas from the
 * Deployment controller's cache, load from the autoscaler's source. Every controller replica
 * records (writes are idempotent), so the history has no gap at a leader change.
 */
function historyRecorder(o: { config: Config; informers: InformerFactory; database: Database; load: LoadReader | undefined; log: Logger }): HistoryRecorder | undefined {
  const h = o.config.history;
  if (ms(h.retention) === 0) return undefined;
  const deployments = deploymentInformers(o.informers, o.config.controller.selector).deployments;
  const namespaces = namespacesInformer(o.informers);
  return new HistoryRecorder({
    db: o.database.db,
    clock: realClock,
    sources: { deployments: () => deployments.list(), accountOf: (ns) => accountOfNamespace(namespaces.get(ns)), ...(o.load ? { load: o.load } : {}) },
    settings: { sampleIntervalSeconds: Math.max(1, Math.round(ms(h.sampleInterval) / 1000)), rawForMs: ms(h.rawRetention), retentionMs: ms(h.retention) },
    log: o.log.child({ component: 'history' }),
  });
}
