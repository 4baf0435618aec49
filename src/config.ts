// Hearth's configuration: one nested zod schema for every mode, read from the environment ONCE
// (`parseConfig(env)` in main.ts). Nothing below main.ts reads the environment: each part receives its
// section (`config.server`, `config.gateway`, …).
//
// Every leaf is one environment variable: `variable(NAME, schema, what it sets)` attaches the name
// and the description to the schema, so the same declaration gives
//   - the value (an empty variable counts as unset),
//   - the error (`NAME: rule`, every bad variable listed; main.ts exits 2),
//   - the README's configuration table (`configTable()`, kept in step by src/config.test.ts;
//     `npm run gen:config-table` rewrites it).
import { createHmac } from 'node:crypto';
import type { V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadModelServerConfig, type ModelServerConfigOverride } from './controllers/deployment/model-server-config.js';
import type { DatasetRoutesOptions } from './api/routes/datasets.js';
import { DEFAULT_CONTROLLER_CLIENT, DEFAULT_WORKERS } from './controllers/deployment/controller.js';
import { durationSeconds } from './crds/duration.js';
import { MODEL_FILES_PORT } from './fleet/lora.js';
import { GatewayConfig } from './gateway/config.js';
import { DEFAULT_TRAINER, unknownPlaceholders } from './controllers/sft-job/trainer.js';

interface Variable {
  /** The environment variable. */
  name: string;
  /** What it sets, for the README table (also the schema's `.describe()`). */
  description: string;
}

const VARIABLES = z.registry<Variable>();

/** A leaf of the schema: `schema` read from the environment variable `name`. */
function variable<T extends z.ZodType>(name: string, schema: T, description: string): T {
  // describe() returns a copy, so a schema shared with another module (the gateway's) is not marked.
  const leaf = schema.describe(description) as T;
  VARIABLES.add(leaf as z.ZodType, { name, description });
  return leaf;
}

const port = () => z.coerce.number().int().min(0).max(65535);
const duration = (example: string) => z.string().refine((v) => durationSeconds(v) !== undefined, `a duration such as ${example}`);
const gw = GatewayConfig.shape;

export const ConfigSchema = z.object({
  server: z.object({
    port: variable('PORT', port().default(8080), 'Port of the REST API (modes api, all); 0 picks a free one.'),
    host: variable('HOST', z.string().min(1).default('127.0.0.1'), 'Address the REST API listens on.'),
    pageTokenSecret: variable('HEARTH_PAGE_TOKEN_SECRET', z.string().min(16).optional(), 'HMAC secret of page tokens (≥ 16 characters), the same on every API replica; unset: random per process.'),
    rateLimitRps: variable('HEARTH_RATE_LIMIT_RPS', z.coerce.number().positive().default(50), 'Requests per second per user (all of its API keys together).'),
    rateLimitBurst: variable('HEARTH_RATE_LIMIT_BURST', z.coerce.number().int().min(1).default(100), 'Burst per user (all of its API keys together).'),
  }),
  /** Every HTTP listener's bounds (the REST API, the gateway's inference and admin listeners). */
  http: z.object({
    requestTimeoutMs: variable('HEARTH_HTTP_REQUEST_TIMEOUT_MS', z.coerce.number().int().min(1000).default(600_000), 'A whole request (headers and body, e.g. a dataset upload) must arrive within this, else 408.'),
    headersTimeoutMs: variable('HEARTH_HTTP_HEADERS_TIMEOUT_MS', z.coerce.number().int().min(1000).default(30_000), 'A request\'s headers must arrive within this (slow clients cannot hold sockets); at most the request timeout.'),
    keepAliveTimeoutMs: variable('HEARTH_HTTP_KEEP_ALIVE_TIMEOUT_MS', z.coerce.number().int().min(1000).default(65_000), 'An idle keep-alive connection is closed after this (longer than a load balancer\'s idle timeout).'),
    idleTimeoutMs: variable('HEARTH_HTTP_IDLE_TIMEOUT_MS', z.coerce.number().int().min(1000).default(120_000), 'A REST API socket with no activity at all is destroyed after this.'),
  }),
  database: z.object({
    url: variable('DATABASE_URL', z.string().optional(), '`postgres://…` or `pglite://<dir>`; unset: embedded PGlite in memory (forgotten at exit).'),
  }),
  kube: z.object({
    kubeconfig: variable('KUBECONFIG', z.string().optional(), 'A kubeconfig file; unset: ~/.kube/config, else the in-cluster service account.'),
    serviceHost: variable('KUBERNETES_SERVICE_HOST', z.string().optional(), 'Set by Kubernetes in a pod: without a kubeconfig, the in-cluster service account is used.'),
  }),
  log: z.object({
    level: variable('LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'fatal, error, warn, info, debug, trace or silent.'),
  }),
  pod: z.object({
    name: variable('POD_NAME', z.string().min(1).optional(), 'The pod (downward API): the controller\'s leader-election identity.'),
    namespace: variable('POD_NAMESPACE', z.string().min(1).optional(), 'The pod\'s namespace (downward API): the default of HEARTH_GATEWAY_LOAD_NAMESPACE.'),
    hostname: variable('HOSTNAME', z.string().optional(), 'Set in every pod: the default of HEARTH_GATEWAY_ID.'),
  }),
  controller: z.object({
    qps: variable('HEARTH_CONTROLLER_QPS', z.coerce.number().positive().default(DEFAULT_CONTROLLER_CLIENT.qps), 'The process\'s Kubernetes API client limit, requests per second.'),
    burst: variable('HEARTH_CONTROLLER_BURST', z.coerce.number().int().min(1).default(DEFAULT_CONTROLLER_CLIENT.burst), 'The process\'s Kubernetes API client burst.'),
    workers: variable('HEARTH_CONTROLLER_WORKERS', z.coerce.number().int().min(1).max(64).default(DEFAULT_WORKERS), 'Concurrent reconciles (1–64).'),
    selector: variable(
      'HEARTH_CONTROLLER_SELECTOR',
      z
        .string()
        .regex(/^[A-Za-z0-9._/\-=!,() ]+$/, 'a label selector such as hearth.dev/shard=a or team in (x,y)')
        .optional(),
      'A label selector: the controller reconciles only these Deployments (sharding, a shared cluster); unset: every hearth.dev Deployment.',
    ),
    namespace: variable(
      'HEARTH_CONTROLLER_NAMESPACE',
      z.string().min(1).optional(),
      'Set: the BatchJob, Environment, DeployedModel, SFTJob and NodePool controllers watch only this namespace (one account namespace, a shared cluster, tests); with HEARTH_CONTROLLER_SELECTOR for Deployments. Unset: every namespace.',
    ),
    orphanHoldSweep: variable(
      'HEARTH_ORPHAN_HOLD_SWEEP',
      z.enum(['on', 'off']).default('on'),
      'The sweep that frees quota holds of Deployments that no longer exist (the safety net under the release on delete; with HEARTH_CONTROLLER_SELECTOR it lists every Deployment from the API server at each sweep): on, or off.',
    ),
    orphanHoldSweepInterval: variable('HEARTH_ORPHAN_HOLD_SWEEP_INTERVAL', duration('5m').default('5m'), 'How often holds are compared with the Deployments that exist.'),
    orphanHoldGrace: variable('HEARTH_ORPHAN_HOLD_GRACE', duration('10m').default('10m'), 'A hold of no Deployment is freed once nobody wrote it for this long (a create the cache has not seen yet is younger).'),
    healthPort: variable(
      'HEARTH_CONTROLLER_HEALTH_PORT',
      z.coerce.number().int().min(0).max(65535).optional(),
      'Mode controller: the health listener for probes (GET /healthz: the manager runs; GET /readyz: its caches have synced), e.g. 8081; 0: any free port; unset: none.',
    ),
    leaderElectionNamespace: variable('HEARTH_LEADER_ELECTION_NAMESPACE', z.string().min(1).optional(), 'Set: the controller is leader-elected with a Lease in this namespace; unset: no election.'),
    leaderElectionLeaseName: variable('HEARTH_LEADER_ELECTION_LEASE_NAME', z.string().min(1).optional(), 'The Lease\'s name; unset: hearth-deployment-controller.'),
    leaseDuration: variable(
      'HEARTH_LEADER_ELECTION_LEASE_DURATION',
      duration('15s').default('15s'),
      'How long a lease not renewed keeps others from taking it: a dead leader is replaced about this long after its last renewal (bench:failover at 15s/10s/2s: max 15.2 s from SIGKILL to the new leader\'s first reconcile). Faster failover: 5s / 3s / 1s (max 5.2 s). Must exceed the renew deadline.',
    ),
    renewDeadline: variable('HEARTH_LEADER_ELECTION_RENEW_DEADLINE', duration('10s').default('10s'), 'How long a leader that cannot renew keeps working before it steps down (less than the lease duration; the difference is the margin against two leaders). Faster failover: 3s.'),
    retryPeriod: variable(
      'HEARTH_LEADER_ELECTION_RETRY_PERIOD',
      duration('2s').default('2s'),
      'Interval between renewals, and between a standby\'s polls of the lease (jittered up to 2.2×; it also watches the lease). The renew deadline must exceed 1.2× this. Faster failover: 1s.',
    ),
  }),
  autoscaler: z.object({
    minScaleToZeroWindow: variable('HEARTH_MIN_SCALE_TO_ZERO_WINDOW', duration('5m').default('5m'), 'The operator\'s floor under every Deployment\'s scaleToZeroWindow.'),
    scaleToZeroWindowOverride: variable(
      'HEARTH_SCALE_TO_ZERO_WINDOW_OVERRIDE',
      duration('30s').optional(),
      'TESTS AND DEMOS ONLY: replaces every Deployment\'s scale-to-zero window (the CRD keeps it ≥ 5m); logged as a warning.',
    ),
  }),
  /** GPU-seconds into the usage ledger (controllers/metering). */
  metering: z.object({
    interval: variable(
      'HEARTH_METERING_INTERVAL',
      duration('60s').refine((v) => (durationSeconds(v) ?? 0) > 0, 'longer than 0s').default('60s'),
      'Length of a usage ledger interval (rows are keyed by its aligned start). Never change it while replicas with rows run: a restart with another value misaligns their intervals.',
    ),
    flushInterval: variable('HEARTH_METERING_FLUSH_INTERVAL', duration('60s').refine((v) => (durationSeconds(v) ?? 0) > 0, 'longer than 0s').default('60s'), 'How often closed intervals are written to the ledger (also a bound on what a killed meter can lose, see src/controllers/metering/README.md).'),
  }),
  /** Deployment history for the console's timeline (controllers/history, api/timeline). */
  history: z.object({
    sampleInterval: variable('HEARTH_HISTORY_SAMPLE_INTERVAL', duration('10s').default('10s'), 'Controller: how often each deployment\'s replicas and load are recorded in the database (the timeline\'s finest step).'),
    rawRetention: variable('HEARTH_HISTORY_RAW_RETENTION', duration('2h').default('2h'), 'Controller: samples older than this are rolled up into 1-minute averages (downsampling).'),
    retention: variable('HEARTH_HISTORY_RETENTION', duration('168h').default('168h'), 'Controller: samples and scaling decisions older than this are deleted; "0s" records no history.'),
    prometheusUrl: variable(
      'HEARTH_PROMETHEUS_URL',
      z.url({ protocol: /^https?$/ }).optional(),
      'API: a Prometheus that scrapes the gateways (e.g. http://prometheus:9090); the timeline then reads load and ready replicas from it instead of Hearth\'s history.',
    ),
  }),
  /** Batch inference jobs: run by the controller (leader only), their lines sent through the gateway. */
  batchInference: z.object({
    gatewayUrl: variable(
      'HEARTH_BATCH_INFERENCE_GATEWAY_URL',
      z.url({ protocol: /^https?$/ }).optional(),
      'Controller: the inference gateway batch inference jobs send their lines to, e.g. http://hearth-gateway:8081; unset: the in-process gateway in mode all, else batch inference jobs do not run.',
    ),
    concurrency: variable('HEARTH_BATCH_INFERENCE_CONCURRENCY', z.coerce.number().int().min(1).max(256).default(8), 'Requests in flight per batch inference job unless the job sets maxConcurrency (1–256).'),
  }),
  /** Batch jobs: the output of finished ranks is archived in PostgreSQL for `:getLogs`. */
  batchJobs: z.object({
    logRetention: variable('HEARTH_BATCH_JOB_LOG_RETENTION', duration('720h').default('720h'), 'How long the archived output of a finished batch job rank is kept (e.g. 720h = 30 days); the controller purges older output hourly.'),
  }),
  /** Supervised fine-tuning: the trainer image and command the SFTJob controller runs (src/controllers/sft-job/README.md). */
  sft: z.object({
    trainerApiUrl: variable(
      'HEARTH_TRAINER_API_URL',
      z.url({ protocol: /^https?$/ }).optional(),
      'Controller: the REST API as trainer pods reach it (progress, files, signed dataset URLs), e.g. http://hearth-api:8080; unset: HEARTH_PUBLIC_URL, else SFT jobs do not run.',
    ),
    trainerImage: variable('HEARTH_TRAINER_IMAGE', z.string().min(1).default(DEFAULT_TRAINER.image), 'Controller: the trainer container image (the reference: TRL `trl sft` with the contract shim).'),
    trainerCommand: variable(
      'HEARTH_TRAINER_COMMAND',
      z
        .string()
        .transform((v, ctx) => {
          try {
            const a = JSON.parse(v) as unknown;
            if (Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === 'string')) {
              const bad = unknownPlaceholders(a);
              if (bad.length === 0) return a;
              ctx.addIssue({ code: 'custom', message: `unknown placeholders ${bad.map((b) => `{{${b}}}`).join(', ')}` });
              return z.NEVER;
            }
          } catch {
            // reported below
          }
          ctx.addIssue({ code: 'custom', message: 'a JSON array of strings (the argv template)' });
          return z.NEVER;
        })
        .optional(),
      'Controller: the trainer argv as a JSON array with {{placeholders}} (an argument with an unset one is dropped); unset: the TRL reference mapping.',
    ),
    trainerActiveDeadline: variable('HEARTH_TRAINER_ACTIVE_DEADLINE', duration('168h').default('168h'), 'Controller: longest a trainer Job may run (its activeDeadlineSeconds).'),
  }),
  /** Load transport between split processes: the controller's autoscaler scrapes the gateways. */
  load: z.object({
    internalToken: variable('HEARTH_INTERNAL_TOKEN', z.string().min(16).optional(), 'Shared secret (≥ 16 characters) of the gateway\'s admin listener and the controller\'s scraper; unset: GET /internal/load answers 404.'),
    gatewayUrls: variable(
      'HEARTH_GATEWAY_LOAD_URLS',
      z
        .string()
        .transform((v) => v.split(',').map((u) => u.trim()).filter((u) => u !== ''))
        .pipe(z.array(z.url({ protocol: /^https?$/ })))
        .optional(),
      'Controller: the gateways\' admin base URLs, comma-separated.',
    ),
    gatewaySelector: variable('HEARTH_GATEWAY_LOAD_SELECTOR', z.string().min(1).optional(), 'Controller: a label selector of the EndpointSlices of the gateway admin Service, e.g. kubernetes.io/service-name=hearth-gateway-admin.'),
    gatewayNamespace: variable('HEARTH_GATEWAY_LOAD_NAMESPACE', z.string().min(1).optional(), 'Controller: where those EndpointSlices are; unset: POD_NAMESPACE, else default.'),
  }),
  gateway: z.object({
    host: variable('HEARTH_GATEWAY_HOST', gw.host, 'Address the inference gateway listens on.'),
    port: variable('HEARTH_GATEWAY_PORT', gw.port, 'Port of the inference gateway; 0 picks a free one.'),
    gatewayId: variable('HEARTH_GATEWAY_ID', gw.gatewayId, 'Names this replica in load reports; unset: HOSTNAME, else a random id.'),
    maxHeldPerDeployment: variable('HEARTH_GATEWAY_MAX_HELD_PER_DEPLOYMENT', gw.maxHeldPerDeployment, 'Cold start: requests held per Deployment at once (a Deployment\'s annotation may override).'),
    holdTimeoutMs: variable('HEARTH_GATEWAY_HOLD_TIMEOUT_MS', gw.holdTimeoutMs, 'Cold start: how long a request waits for a ready replica (a Deployment\'s annotation may override).'),
    queueFullRetryAfterSeconds: variable('HEARTH_GATEWAY_QUEUE_FULL_RETRY_AFTER_SECONDS', gw.queueFullRetryAfterSeconds, 'Retry-After of the 429 sent when the hold queue is full.'),
    notReadyRetryAfterSeconds: variable('HEARTH_GATEWAY_NOT_READY_RETRY_AFTER_SECONDS', gw.notReadyRetryAfterSeconds, 'Retry-After of the 503 sent when no replica became ready in time.'),
    upstreamTimeoutMs: variable('HEARTH_GATEWAY_UPSTREAM_TIMEOUT_MS', gw.upstreamTimeoutMs, 'Idle time on an upstream connection before 504.'),
    maxBodyBytes: variable('HEARTH_GATEWAY_MAX_BODY_BYTES', gw.maxBodyBytes, 'Largest inference request body.'),
    maxInFlight: variable('HEARTH_GATEWAY_MAX_IN_FLIGHT', gw.maxInFlight, 'Inference requests in flight (held ones included) in one gateway replica; beyond: 503 with Retry-After.'),
    maxInFlightPerKey: variable('HEARTH_GATEWAY_MAX_IN_FLIGHT_PER_KEY', gw.maxInFlightPerKey, 'Inference requests in flight per API key in one replica; beyond: 429 with Retry-After.'),
    maxInFlightPerAccount: variable('HEARTH_GATEWAY_MAX_IN_FLIGHT_PER_ACCOUNT', gw.maxInFlightPerAccount, 'Inference requests in flight per account in one replica; beyond: 429 with Retry-After.'),
    maxBufferedBytes: variable('HEARTH_GATEWAY_MAX_BUFFERED_BYTES', gw.maxBufferedBytes, 'Request body bytes buffered at once (held and in-flight bodies) in one replica; beyond: 503 with Retry-After.'),
    maxBufferedBytesPerKey: variable('HEARTH_GATEWAY_MAX_BUFFERED_BYTES_PER_KEY', gw.maxBufferedBytesPerKey, 'Request body bytes buffered at once per API key; beyond: 429 with Retry-After.'),
    keyRatePerSecond: variable('HEARTH_GATEWAY_KEY_RATE_PER_SECOND', gw.keyRatePerSecond, 'Inference requests per second per API key (per replica); beyond the burst: 429 with Retry-After.'),
    keyRateBurst: variable('HEARTH_GATEWAY_KEY_RATE_BURST', gw.keyRateBurst, 'Burst of the per-key inference rate.'),
    accountRatePerSecond: variable('HEARTH_GATEWAY_ACCOUNT_RATE_PER_SECOND', gw.accountRatePerSecond, 'Inference requests per second per account, all its keys together (per replica); beyond the burst: 429 with Retry-After.'),
    accountRateBurst: variable('HEARTH_GATEWAY_ACCOUNT_RATE_BURST', gw.accountRateBurst, 'Burst of the per-account inference rate.'),
    reportIntervalMs: variable('HEARTH_GATEWAY_REPORT_INTERVAL_MS', gw.reportIntervalMs, 'How often load reports go to the autoscaler (the controller counts a report stale after 5 intervals, at least 10 s).'),
    maxSocketsPerEndpoint: variable('HEARTH_GATEWAY_MAX_SOCKETS_PER_ENDPOINT', gw.maxSocketsPerEndpoint, 'Keep-alive connections per model-server endpoint.'),
    adminPort: variable('HEARTH_GATEWAY_ADMIN_PORT', gw.adminPort, 'The admin listener (GET /internal/load, GET /metrics, /healthz), off the inference port; unset: none (and no /metrics: it is never on the inference port).'),
    metricsToken: variable('HEARTH_METRICS_TOKEN', gw.metricsToken, 'Bearer token (≥ 16 characters) GET /metrics on the admin listener requires; unset: /metrics is open to whoever reaches the admin port (the chart\'s NetworkPolicy decides).'),
    simulatedUpstream: variable(
      'HEARTH_GATEWAY_SIMULATED_UPSTREAM',
      gw.simulatedUpstream,
      'DEMO/SIMULATION ONLY: a loopback host:port dialled for EVERY replica endpoint instead of its pod IP (a KWOK fleet has no pod network); other hosts are refused; logged as a warning.',
    ),
  }),
  simulation: z.object({
    dialMapFile: variable(
      'HEARTH_SIMULATED_DIAL_MAP_FILE',
      z.string().min(1).optional(),
      'DEMO/SIMULATION ONLY: a JSON file {"<pod IP>:<port>": "<loopback host>:<port>"} re-read when it changes; the gateway AND the DeployedModel controller dial each listed replica there instead of its pod IP (a KWOK fleet has no pod network; one model-server fixture per pod). Non-loopback targets are refused; logged as a warning.',
    ),
  }),
  deployedModels: z.object({
    pollInterval: variable('HEARTH_ADAPTER_POLL_INTERVAL', duration('10s').default('10s'), "How often the DeployedModel controller re-reads each Ready replica's loaded adapters (a restarted server's lost adapters are loaded again)."),
  }),
  modelServer: z.object({
    configFile: variable(
      'HEARTH_MODEL_SERVER_CONFIG_FILE',
      z
        .string()
        .min(1)
        .transform((path, ctx) => {
          const r = readModelServerConfigFile(path);
          if ('override' in r) return r.override;
          for (const p of r.problems) ctx.addIssue({ code: 'custom', message: p });
          return z.NEVER;
        })
        .optional(),
      "Controller: a YAML or JSON file of model-server settings over the defaults (src/controllers/deployment/model-server-config.ts): servers.nvidia / servers.amd (vLLM images), servers.cpu (the runtime of acceleratorType CPU deployments: image, cpu, memory, nodeSelector, tolerations; unset: CPU deployments fail UnsupportedAcceleratorType), workload, lora, models, modelPathTemplate. Refused at start, every bad field named.",
    ),
  }),
  /**
   * Adapters' files into model-server pods: the `model-files` sidecar (mode `model-files`,
   * src/artifacts/model-files-server.ts) in pods of deployments with addons.
   */
  modelFiles: z.object({
    sourceUrl: variable(
      'HEARTH_MODEL_FILES_SOURCE_URL',
      z.url({ protocol: /^https?$/ }).optional(),
      'The REST API as model-server pods reach it, e.g. http://hearth-api.hearth-system.svc:8080. Controller: the base of the signed download URLs it gives each pod\'s model-files sidecar; mode model-files: the only source it fetches from (required there).',
    ),
    image: variable(
      'HEARTH_MODEL_FILES_IMAGE',
      z.string().min(1).optional(),
      'Controller: Hearth\'s image, run as the model-files sidecar of model-server pods of deployments with addons, which puts adapters\' files into /mnt/models before they are loaded (needs HEARTH_MODEL_FILES_SOURCE_URL); unset: no sidecar, lora_path must be provided another way.',
    ),
    dir: variable('HEARTH_MODEL_FILES_DIR', z.string().min(1).default('/mnt/models'), 'Mode model-files: the model mount it writes each model into (<dir>/<account>/<model>).'),
    host: variable('HEARTH_MODEL_FILES_HOST', z.string().min(1).default('0.0.0.0'), 'Mode model-files: the address it listens on (the controller calls it at the pod IP).'),
    port: variable('HEARTH_MODEL_FILES_PORT', port().default(MODEL_FILES_PORT), 'Mode model-files: its port (the controller dials 8079).'),
  }),
  nodePools: z.object({
    idleWindow: variable('HEARTH_NODE_POOL_IDLE_WINDOW', duration('10m').default('10m'), 'How long a node a NodePool created stays without pods before the pool shrinks (never below minNodeCount).'),
    karpenterNodeClass: variable('HEARTH_KARPENTER_NODE_CLASS', z.string().min(1).default('default'), 'The EC2NodeClass the Karpenter NodePools Hearth writes for eksNodePool pools refer to.'),
  }),
  datasets: z.object({
    uploadUrlSecret: variable('HEARTH_UPLOAD_URL_SECRET', z.string().min(16).optional(), 'Signs dataset and model file URLs (≥ 16 characters); unset: derived from HEARTH_PAGE_TOKEN_SECRET, else random per process.'),
    publicUrl: variable('HEARTH_PUBLIC_URL', z.url({ protocol: /^https?$/ }).optional(), 'Base of signed file URLs (datasets, models); unset: the request\'s origin.'),
    maxUploadBytes: variable('HEARTH_DATASET_MAX_UPLOAD_BYTES', z.coerce.number().int().min(1).optional(), 'Largest dataset upload; unset: 1 GiB.'),
  }),
  /** Where model and dataset files live (src/artifacts): a directory, or an S3-compatible bucket. */
  artifacts: z.object({
    store: variable('HEARTH_ARTIFACT_STORE', z.enum(['fs', 's3']).default('fs'), '`fs` (files under HEARTH_ARTIFACT_DIR) or `s3` (objects in HEARTH_S3_BUCKET).'),
    dir: variable('HEARTH_ARTIFACT_DIR', z.string().min(1).default('.hearth/artifacts'), 'The filesystem store\'s directory (relative to the working directory); give every API replica the same shared volume, or use s3.'),
    s3Endpoint: variable('HEARTH_S3_ENDPOINT', z.url({ protocol: /^https?$/ }).optional(), 'The S3-compatible server, e.g. http://minio:9000; unset: AWS S3 in HEARTH_S3_REGION.'),
    s3Region: variable('HEARTH_S3_REGION', z.string().min(1).default('us-east-1'), 'The bucket\'s region.'),
    s3Bucket: variable('HEARTH_S3_BUCKET', z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name (3–63 characters: a-z, 0-9, ".", "-")').optional(), 'The bucket (required with HEARTH_ARTIFACT_STORE=s3).'),
    s3Prefix: variable('HEARTH_S3_PREFIX', z.string().optional(), 'A key prefix inside the bucket, e.g. hearth/.'),
    s3AccessKeyId: variable('HEARTH_S3_ACCESS_KEY_ID', z.string().min(1).optional(), 'Access key; unset: the AWS SDK\'s default credential chain (AWS_* variables, a web identity, instance metadata).'),
    s3SecretAccessKey: variable('HEARTH_S3_SECRET_ACCESS_KEY', z.string().min(1).optional(), 'Secret key (with HEARTH_S3_ACCESS_KEY_ID).'),
    s3ForcePathStyle: variable('HEARTH_S3_FORCE_PATH_STYLE', z.stringbool().default(true), 'Path-style URLs (http://host/bucket/key), which most S3-compatible servers need; false: virtual-hosted (AWS).'),
    s3CreateBucket: variable('HEARTH_S3_CREATE_BUCKET', z.stringbool().default(false), 'Create the bucket at start when it is missing.'),
  }),
  isolation: z.object({
    modelServerIngressFrom: variable(
      'HEARTH_MODEL_SERVER_INGRESS_FROM',
      z
        .string()
        .transform((v, ctx) => {
          const peers = parseJsonList(v);
          if (peers) return peers as V1NetworkPolicyPeer[];
          ctx.addIssue({ code: 'custom', message: 'a non-empty JSON array of NetworkPolicyPeer objects, e.g. [{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"hearth-system"}},"podSelector":{"matchLabels":{"app.kubernetes.io/component":"gateway"}}}]' });
          return z.NEVER;
        })
        .optional(),
      'Who may reach model-server pods (the one NetworkPolicy of each account namespace): a JSON array of NetworkPolicyPeer; unset: pods labelled app.kubernetes.io/part-of=hearth in POD_NAMESPACE (hearth-system outside a pod).',
    ),
  }),
  bootstrap: z.object({
    account: variable('HEARTH_BOOTSTRAP_ACCOUNT', z.string().optional(), 'With HEARTH_BOOTSTRAP_EMAIL: creates this account and its admin at start (e.g. on PGlite, where no earlier bootstrap can exist); the key goes once to a terminal or HEARTH_BOOTSTRAP_KEY_FILE, never to the log.'),
    email: variable('HEARTH_BOOTSTRAP_EMAIL', z.string().optional(), 'The bootstrap admin\'s e-mail.'),
    keyFile: variable('HEARTH_BOOTSTRAP_KEY_FILE', z.string().min(1).optional(), 'Where the start-up bootstrap writes the key (mode 0600) when standard output is not a terminal; unset there: no key is issued (it is never written to the log).'),
  }),
});
export type Config = z.output<typeof ConfigSchema>;

/** A non-empty JSON array of objects, or undefined. */
function parseJsonList(v: string): object[] | undefined {
  try {
    const x: unknown = JSON.parse(v);
    return Array.isArray(x) && x.length > 0 && x.every((p) => p !== null && typeof p === 'object' && !Array.isArray(p)) ? (x as object[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Cross-variable rules of the artifact store (one `NAME: rule` line each, like the schema's). */
function artifactProblems(c: Config['artifacts']): string[] {
  const problems: string[] = [];
  if (c.store === 's3' && !c.s3Bucket) problems.push('HEARTH_S3_BUCKET: required with HEARTH_ARTIFACT_STORE=s3');
  if (!!c.s3AccessKeyId !== !!c.s3SecretAccessKey) problems.push('HEARTH_S3_SECRET_ACCESS_KEY: HEARTH_S3_ACCESS_KEY_ID and HEARTH_S3_SECRET_ACCESS_KEY go together');
  return problems;
}

/** The sidecar fetches from the API's URL: an image without it could never get a file. */
function modelFilesProblems(c: Config['modelFiles']): string[] {
  return c.image && !c.sourceUrl ? ['HEARTH_MODEL_FILES_SOURCE_URL: required with HEARTH_MODEL_FILES_IMAGE'] : [];
}

/** Bad settings: `problems` has one `<VARIABLE>: <rule>` line per problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

interface Leaf {
  /** Where the value goes in the config, e.g. ['server', 'port']. */
  path: string[];
  section: string;
  schema: z.ZodType;
  variable: Variable;
}

/** Every variable of the schema, in its order. */
export function configVariables(): Leaf[] {
  const leaves: Leaf[] = [];
  for (const [section, object] of Object.entries(ConfigSchema.shape)) {
    for (const [key, schema] of Object.entries(object.shape as Record<string, z.ZodType>)) {
      const v = VARIABLES.get(schema);
      if (!v) throw new Error(`config.ts: ${section}.${key} has no environment variable`);
      leaves.push({ path: [section, key], section, schema, variable: v });
    }
  }
  return leaves;
}

/** The model-server settings file (HEARTH_MODEL_SERVER_CONFIG_FILE): the override it holds, or every problem with it. */
export function readModelServerConfigFile(path: string): { override: ModelServerConfigOverride } | { problems: string[] } {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    return { problems: [`${path}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`] };
  }
  try {
    loadModelServerConfig(raw); // the whole, merged over the defaults, must be valid
    return { override: (raw ?? {}) as ModelServerConfigOverride };
  } catch (e) {
    if (!(e instanceof z.ZodError)) throw e;
    return { problems: e.issues.map((i) => `${path}: ${i.path.join('.') || '(top level)'}: ${i.message}`) };
  }
}

/** The configuration from the environment; throws a ConfigError naming every bad variable. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const leaves = configVariables();
  const raw: Record<string, Record<string, string>> = {};
  for (const { path: [section = '', key = ''], variable: v } of leaves) {
    const value = env[v.name];
    raw[section] ??= {};
    if (value !== undefined && value !== '') raw[section][key] = value;
  }
  const r = ConfigSchema.safeParse(raw);
  if (r.success) {
    const problems = [...artifactProblems(r.data.artifacts), ...modelFilesProblems(r.data.modelFiles)];
    if (problems.length > 0) throw new ConfigError(problems);
    return r.data;
  }
  const nameOf = (path: PropertyKey[]): string =>
    leaves.find((l) => l.path[0] === path[0] && l.path[1] === path[1])?.variable.name ?? path.map(String).join('.');
  throw new ConfigError(r.error.issues.map((i) => `${nameOf(i.path)}: ${i.message}`));
}

/** The gateway's settings as `startGateway` takes them (the token and the id default come from other sections). */
export function gatewayConfig(config: Config): GatewayConfig {
  const gatewayId = config.gateway.gatewayId ?? config.pod.hostname;
  return GatewayConfig.parse({
    ...config.gateway,
    ...(gatewayId ? { gatewayId } : {}),
    ...(config.load.internalToken ? { internalToken: config.load.internalToken } : {}),
    requestTimeoutMs: config.http.requestTimeoutMs,
    headersTimeoutMs: config.http.headersTimeoutMs,
    keepAliveTimeoutMs: config.http.keepAliveTimeoutMs,
  });
}

/** How long a gateway's load report counts (the in-process aggregator and the scraper): 5 intervals, at least 10 s. */
export function aggregatorStaleMs(config: Config): number {
  return Math.max(10_000, config.gateway.reportIntervalMs * 5);
}

/** A duration setting (validated by the schema) in milliseconds. */
export const durationMs = (duration: string): number => Math.round((durationSeconds(duration) ?? 0) * 1000);

/**
 * Dataset upload settings. Signed upload URLs must verify on every replica: the secret is
 * HEARTH_UPLOAD_URL_SECRET, else one derived from HEARTH_PAGE_TOKEN_SECRET (HMAC with a fixed label,
 * so the two never share a key), else random per process (one replica only).
 */
export function datasetSettings(config: Pick<Config, 'datasets' | 'server'>): DatasetRoutesOptions {
  const { uploadUrlSecret, publicUrl, maxUploadBytes } = config.datasets;
  const pageTokenSecret = config.server.pageTokenSecret;
  const secret = uploadUrlSecret ?? (pageTokenSecret ? createHmac('sha256', pageTokenSecret).update('hearth dataset upload urls').digest() : undefined);
  return {
    ...(secret !== undefined ? { uploadUrlSecret: secret } : {}),
    ...(publicUrl ? { publicBaseUrl: publicUrl.replace(/\/+$/, '') } : {}),
    ...(maxUploadBytes ? { maxUploadBytes } : {}),
  };
}

/** The README's configuration table: every variable, its default (parsed from the schema) and what it sets. */
export function configTable(): string {
  const rows = configVariables().map(({ section, schema, variable: v }) => {
    const parsed = schema.safeParse(undefined);
    const fallback = parsed.success && parsed.data !== undefined ? `\`${String(parsed.data)}\`` : '—';
    return `| ${section} | \`${v.name}\` | ${fallback} | ${v.description.replaceAll('|', '\\|')} |`;
  });
  return ['| Section | Variable | Default | What it sets |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}
