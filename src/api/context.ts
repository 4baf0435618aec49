// What route handlers use, decorated onto the fastify instance as `app.hearth`.
import type { ArtifactStore } from '../artifacts/index.js';
import type { Db } from '../db/client.js';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import type { DeploymentClient, KindClients } from './kube/kind-client.js';
import type { PageTokenCodec } from './wire/pagination.js';
import type { JobPodLogs } from '../kube/pod-logs.js';

export interface ApiContext {
  db: Db;
  /** Where model and dataset files live (src/artifacts). */
  artifacts: ArtifactStore;
  authenticator: ApiKeyAuthenticator;
  pageTokens: PageTokenCodec;
  /** Absent when the API runs without a cluster (then the CR-backed routes answer UNAVAILABLE). */
  deployments?: DeploymentClient;
  /** The other hearth.dev kinds (deployedModels, nodePools, …); absent without a cluster. */
  kinds?: Partial<KindClients>;
  /** Batch jobs' rank pods and their output (the API server's pod log endpoint); absent without a cluster. */
  podLogs?: JobPodLogs;
  /** Makes sure an account's namespace exists (idempotent). */
  ensureNamespace?: (accountId: string) => Promise<string>;
  /** How long a soft-deleted deployment can be undeleted. */
  softDeleteRetentionMs: number;
  now: () => Date;
}

declare module 'fastify' {
  interface FastifyInstance {
    hearth: ApiContext;
  }
}
