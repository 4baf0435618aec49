// The REST facade as a fastify application (fastify/demo layout): external plugins (errors,
// OpenAPI), then the `/v1` context with authentication and the route files. No listening here:
// `src/main.ts` serves it, tests call `app.inject`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { FsArtifactStore, type ArtifactStore } from '../artifacts/index.js';
import type { Db } from '../db/client.js';
import { silentLogger } from '../log.js';
import { ApiKeyAuthenticator, type AuthenticatorOptions } from '../auth/authenticator.js';
import { KeyRateLimiter, type RateLimitOptions } from '../auth/rate-limit.js';
import type { ApiContext } from './context.js';
import type { DeploymentClient, KindClients } from './kube/kind-client.js';
import { DEFAULT_SOFT_DELETE_RETENTION_MS } from './mappers/deployment.js';
import authPlugin from './plugins/auth.js';
import consolePlugin, { type ConsoleOptions } from './plugins/console.js';
import emptyBodyPlugin from './plugins/empty-body.js';
import noNulPlugin from './plugins/no-nul.js';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './plugins/errors.js';
import healthPlugin, { type ReadinessCheck } from './plugins/health.js';
import openapiPlugin from './plugins/openapi.js';
import { shapeOf } from './plugins/published-spec.js';
import unimplementedRoutes from './plugins/unimplemented.js';
import accountsRoutes from './routes/accounts.js';
import apiKeysRoutes from './routes/api-keys.js';
import batchJobsRoutes from './routes/batch-jobs.js';
import deploymentsRoutes from './routes/deployments.js';
import deploymentTimelineRoutes, { type TimelineRouteOptions } from './routes/deployment-timeline.js';
import deploymentShapesRoutes from './routes/deployment-shapes.js';
import datasetsRoutes, { datasetUploadUrlRoutes, type DatasetRoutesOptions } from './routes/datasets.js';
import deployedModelsRoutes from './routes/deployed-models.js';
import modelsRoutes, { modelFileUrlRoutes } from './routes/models.js';
import type { ModelFileOptions } from './models/files.js';
import quotasRoutes from './routes/quotas.js';
import nodePoolsRoutes from './routes/node-pools.js';
import nodePoolBindingsRoutes from './routes/node-pool-bindings.js';
import environmentsRoutes from './routes/environments.js';
import reservationsRoutes from './routes/reservations.js';
import sftJobsRoutes from './routes/sft-jobs.js';
import batchInferenceJobsRoutes from './routes/batch-inference-jobs.js';
import usersRoutes from './routes/users.js';
import { SftMetrics, sftMetricsRoute, sftTrainerRoutes } from './routes/sft-trainer.js';
import { serializerCompiler, validatorCompiler } from './validation.js';
import { PageTokenCodec } from './wire/pagination.js';
import type { JobPodLogs } from '../kube/pod-logs.js';

export const API_VERSION_STRING = '0.1.0';

export interface BuildAppOptions {
  db: Db;
  /** The watch-fed deployments client (started by the caller). Without it, deployments answer 503. */
  deployments?: DeploymentClient;
  /** Watch-fed clients of the other hearth.dev kinds; a collection without one answers 503. */
  kinds?: Partial<KindClients>;
  /** Batch jobs' rank pods and their output, for `:getLogs` of running jobs (absent: archived lines only). */
  podLogs?: JobPodLogs;
  /** Creates the account's namespace when missing (create paths call it). */
  ensureNamespace?: (accountId: string) => Promise<string>;
  /** The process logger (src/log.ts createLogger: credentials redacted); default: silent. */
  logger?: Logger;
  authenticator?: ApiKeyAuthenticator;
  authenticatorOptions?: AuthenticatorOptions;
  /** Per-key rate limit (default 50/s, burst 100); `false` turns it off. */
  rateLimit?: RateLimitOptions | false;
  /** HMAC secret of page tokens; give every replica the same one. */
  pageTokenSecret?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Dataset uploads: size limit, chunk size, signed-URL secret and base URL, validation limits. */
  datasets?: DatasetRoutesOptions;
  /** Model file uploads; unset: the datasets' signed-URL secret, TTL and base URL. */
  models?: ModelFileOptions;
  /**
   * Where model and dataset files live (main.ts opens the configured one). Unset (tests, tools): a
   * filesystem store in a fresh temporary directory, removed when the app closes.
   */
  artifacts?: ArtifactStore;
  softDeleteRetentionMs?: number;
  now?: () => Date;
  /** The web console at /console (plugins/console.ts): where its bundle is. */
  console?: ConsoleOptions;
  /** HEARTH_METRICS_TOKEN: GET /metrics/sft is served only with it (unset: not served). */
  metricsToken?: string;
  /** The deployment timeline (Hearth extension): Prometheus URL and the history's sample interval. */
  timeline?: TimelineRouteOptions;
  /** `/readyz`'s checks besides the database's (main: the API server and the informer caches). */
  readiness?: readonly ReadinessCheck[];
  /** The HTTP server's timeouts (config: HEARTH_HTTP_*); unset: HTTP_TIMEOUT_DEFAULTS. */
  timeouts?: Partial<HttpTimeouts>;
  /** Told of every route as it is registered (HEAD included): the inventory the REST fuzz covers. */
  onRoute?: (route: { method: string; url: string }) => void;
}

/** Bounds on how long a client may hold a connection or a request (Fastify's defaults are none). */
export interface HttpTimeouts {
  /** The whole request, body included, must arrive within this (a 1 GiB upload at ~2 MB/s fits). */
  requestTimeoutMs: number;
  /** The request's headers must arrive within this (slowloris); ≤ requestTimeoutMs. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no activity at all is destroyed after this. */
  idleTimeoutMs: number;
}

export const HTTP_TIMEOUT_DEFAULTS: HttpTimeouts = { requestTimeoutMs: 600_000, headersTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, idleTimeoutMs: 120_000 };

const readinessOf = (opts: BuildAppOptions): readonly ReadinessCheck[] => opts.readiness ?? [];

/** The database answers a trivial query: `/readyz`'s check that every app has. */
export function databaseCheck(db: Db): ReadinessCheck {
  return { name: 'database', check: async () => void (await db.execute(sql`select 1`)) };
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** The given store; without one (tests, tools), a filesystem store in a new temp dir (`scratch`, removed on close). */
async function artifactStoreOf(given: ArtifactStore | undefined): Promise<{ artifacts: ArtifactStore; scratch?: string }> {
  if (given) return { artifacts: given };
  const scratch = await mkdtemp(join(tmpdir(), 'hearth-artifacts-'));
  const artifacts = new FsArtifactStore(scratch);
  await artifacts.init();
  return { artifacts, scratch };
}

/** `opts.models`, else model files sign URLs as datasets do: the same secret, TTL and public base URL. */
function modelFileOptionsOf({ models, datasets: d }: Pick<BuildAppOptions, 'models' | 'datasets'>): ModelFileOptions {
  if (models) return models;
  return {
    ...(d?.uploadUrlSecret !== undefined ? { uploadUrlSecret: d.uploadUrlSecret } : {}),
    ...(d?.uploadUrlTtlMs !== undefined ? { uploadUrlTtlMs: d.uploadUrlTtlMs } : {}),
    ...(d?.publicBaseUrl !== undefined ? { publicBaseUrl: d.publicBaseUrl } : {}),
  };
}

/**
 * Outside /v1: the targets of signed dataset and model file URLs (the signature is the
 * credential), and the web console's static bundle (it signs in with an API key to /v1).
 */
async function routesOutsideV1(app: FastifyInstance, opts: Pick<BuildAppOptions, 'models' | 'datasets' | 'console' | 'metricsToken'>): Promise<void> {
  await app.register(datasetUploadUrlRoutes, opts.datasets ?? {});
  await app.register(modelFileUrlRoutes, modelFileOptionsOf(opts));
  await app.register(consolePlugin, opts.console ?? {});
  // The SFT trainer contract's endpoints (a job-scoped token is the credential) and their metrics.
  const sftMetrics = new SftMetrics();
  await app.register(sftTrainerRoutes(sftMetrics), opts.datasets ?? {});
  await app.register(sftMetricsRoute(sftMetrics, opts.metricsToken));
}

/** What every request goes through: the error format, empty bodies as `{}`, no NUL in any string (not encapsulated). */
const requestPlugins = fp(async (app: FastifyInstance, { bodyLimit }: { bodyLimit: number }) => {
  await app.register(errorsPlugin, { bodyLimit });
  await app.register(emptyBodyPlugin);
  await app.register(noNulPlugin);
});

/** Fastify's (and node:http's) options for the timeouts: unset ones take HTTP_TIMEOUT_DEFAULTS. */
function serverTimeouts(given: Partial<HttpTimeouts> | undefined) {
  const t = { ...HTTP_TIMEOUT_DEFAULTS, ...given };
  return {
    requestTimeout: t.requestTimeoutMs,
    connectionTimeout: t.idleTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    http: { headersTimeout: Math.min(t.headersTimeoutMs, t.requestTimeoutMs) },
  };
}

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const logger = opts.logger ?? silentLogger();
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit,
    ...serverTimeouts(opts.timeouts),
    // `/v1/accounts/a/deployments/d:scale` and `%3A` both reach the same route.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    requestIdHeader: 'x-request-id',
    // The router's and the HTTP parser's refusals leave as google.rpc.Status too (plugins/errors.ts).
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const authenticator =
    opts.authenticator ?? new ApiKeyAuthenticator(opts.db, { ...opts.authenticatorOptions, onError: (err, ctx) => logger.warn({ err, keyId: ctx.keyId }, 'lastUsed update failed') });
  const { artifacts, scratch } = await artifactStoreOf(opts.artifacts);
  const ctx: ApiContext = {
    db: opts.db,
    artifacts,
    authenticator,
    pageTokens: new PageTokenCodec(opts.pageTokenSecret),
    deployments: opts.deployments,
    kinds: opts.kinds ?? {},
    ensureNamespace: opts.ensureNamespace,
    ...(opts.podLogs ? { podLogs: opts.podLogs } : {}),
    softDeleteRetentionMs: opts.softDeleteRetentionMs ?? DEFAULT_SOFT_DELETE_RETENTION_MS,
    now: opts.now ?? (() => new Date()),
  };
  app.decorate('hearth', ctx);

  await app.register(requestPlugins, { bodyLimit });
  // Every route the route files register, for the 501s of the published operations they lack.
  const served = new Set<string>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && route.url.startsWith('/v1/')) served.add(`${method} ${shapeOf(route.url)}`);
      opts.onRoute?.({ method, url: route.url });
    }
  });
  await app.register(openapiPlugin, { version: API_VERSION_STRING });
  await app.register(routesOutsideV1, opts);
  await app.register(healthPlugin, { checks: [databaseCheck(opts.db), ...readinessOf(opts)] });

  const rateLimiter = opts.rateLimit === false ? undefined : new KeyRateLimiter(opts.rateLimit ?? { ratePerSecond: 50, burst: 100 });
  await app.register(
    async (v1) => {
      await v1.register(authPlugin, { authenticator, rateLimiter });
      await v1.register(accountsRoutes);
      await v1.register(usersRoutes);
      await v1.register(apiKeysRoutes);
      await v1.register(quotasRoutes);
      await v1.register(reservationsRoutes);
      await v1.register(deploymentsRoutes);
      await v1.register(deploymentTimelineRoutes, opts.timeline ?? {});
      await v1.register(deploymentShapesRoutes);
      await v1.register(batchJobsRoutes);
      await v1.register(sftJobsRoutes);
      await v1.register(batchInferenceJobsRoutes);
      await v1.register(nodePoolsRoutes);
      await v1.register(nodePoolBindingsRoutes);
      await v1.register(environmentsRoutes);
      await v1.register(datasetsRoutes, opts.datasets ?? {});
      await v1.register(modelsRoutes, modelFileOptionsOf(opts));
      await v1.register(deployedModelsRoutes);
      // Last: the published operations of these collections that no route above serves.
      await v1.register(unimplementedRoutes, { served: new Set(served), mountedAt: '/v1' });
    },
    { prefix: '/v1' },
  );
  app.addHook('onClose', async () => {
    await authenticator.flush();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });
  return app as unknown as FastifyInstance;
}
