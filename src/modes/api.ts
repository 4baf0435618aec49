// Mode `api`: the REST facade /v1/accounts/* on the process's informers and database.
import { buildApp } from '../api/app.js';
import { moveDatasetBytesToStore } from '../api/datasets/migrate-bytea.js';
import { KubeKindClients } from '../api/kube/kind-client.js';
import { NamespaceEnsurer, adoptionRule, namespaceOptions } from '../api/kube/namespaces.js';
import { installationSecretsRepo } from '../db/index.js';
import { openArtifactStore } from '../artifacts/index.js';
import { KubePodLogs } from '../kube/pod-logs.js';
import { datasetSettings, durationMs } from '../config.js';
import type { Service, Shared } from './service.js';

export async function startApi({ config, log, database, clients, informers, tenancy }: Shared): Promise<Service> {
  // The kind clients read the process's informers (in mode `all` the same watches as the controller's
  // and the gateway's) and write through its one rate-limited client.
  const kinds = new KubeKindClients({ clients, informers }, { log });
  await kinds.start();
  // Namespaces Hearth made before it sealed them are sealed when next used, for accounts older than the seal's secret.
  const sealedSince = (await installationSecretsRepo.getOrCreateSecret(database.db, installationSecretsRepo.SECRET_NAMES.tenancy)).createTime;
  const namespaces = new NamespaceEnsurer(clients, { ...namespaceOptions(config, tenancy), adoptUnsealed: adoptionRule(database.db, sealedSince) });
  const artifacts = await openArtifactStore(config.artifacts);
  log.info({ store: artifacts.kind, location: artifacts.location }, 'artifact store');
  // Datasets stored in PostgreSQL before the artifact store existed move into it (read from
  // PostgreSQL until then; a failure is logged and retried at the next start).
  await moveDatasetBytesToStore(database.db, artifacts, log);
  const app = await buildApp({
    db: database.db,
    artifacts,
    deployments: kinds.deployments,
    kinds: kinds.others,
    ensureNamespace: (a) => namespaces.ensure(a),
    podLogs: new KubePodLogs(clients),
    ...(config.gateway.metricsToken !== undefined ? { metricsToken: config.gateway.metricsToken } : {}),
    logger: log,
    pageTokenSecret: config.server.pageTokenSecret,
    rateLimit: { ratePerSecond: config.server.rateLimitRps, burst: config.server.rateLimitBurst },
    datasets: datasetSettings(config),
    timeline: {
      ...(config.history.prometheusUrl ? { prometheusUrl: config.history.prometheusUrl } : {}),
      sampleIntervalSeconds: Math.max(1, Math.round(durationMs(config.history.sampleInterval) / 1000)),
    },
    timeouts: config.http,
    readiness: [
      { name: 'kubernetes', check: async () => void (await clients.getJSON('/version')) },
      {
        name: 'caches',
        check: async () => {
          const missing = kinds.unsynced();
          if (missing.length > 0) throw new Error(`not synced: ${missing.join(', ')}`);
        },
      },
    ],
  });
  await app.listen({ port: config.server.port, host: config.server.host });
  return {
    name: 'api',
    async stop() {
      await app.close();
      await kinds.stop();
      await artifacts.close();
    },
  };
}
