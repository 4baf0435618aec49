// The gateway's settings: one zod schema, parsed once. `gatewayConfigFromEnv` reads the
// HEARTH_GATEWAY_* environment variables for the `gateway` process mode.
import { z } from 'zod';
import { DEFAULT_HOLD_LIMITS } from './hold.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

export const GatewayConfig = z.object({
  host: z.string().min(1).default('0.0.0.0'),
  /** 0 picks a free port (tests). 8081: the API has 8080 (both run in mode `all`). */
  port: int(0, 65_535).default(8081),
  /** Names this replica in load reports (default: the pod name from HOSTNAME, or a random id). */
  gatewayId: z.string().min(1).optional(),
  /** Cold start: requests held per deployment at once (overridable per Deployment by annotation). */
  maxHeldPerDeployment: int(0).default(DEFAULT_HOLD_LIMITS.maxHeld),
  /** Cold start: how long a request waits for a ready replica (overridable per Deployment). */
  holdTimeoutMs: int(0).default(DEFAULT_HOLD_LIMITS.timeoutMs),
  /** Retry-After of the 429 sent when the hold queue is full. */
  queueFullRetryAfterSeconds: int(1).default(10),
  /** Retry-After of the 503 sent when no replica became ready in time. */
  notReadyRetryAfterSeconds: int(1).default(30),
  /** Idle time on an upstream connection before 504 (generation can be slow: 10 min). */
  upstreamTimeoutMs: int(1).default(600_000),
  maxBodyBytes: int(1).default(16 * 1024 * 1024),
  /** How often load reports go to the autoscaler. */
  reportIntervalMs: int(100).default(1_000),
  /** Keep-alive connections per model-server endpoint. */
  maxSocketsPerEndpoint: int(1).default(256),
  /** Node's process metrics (CPU, memory, event loop lag) on /metrics too. */
  processMetrics: z.boolean().default(true),
  /**
   * The admin listener (`GET /internal/load` for the controller's autoscaler, `/healthz`); unset:
   * none. Kept off the inference port so the public Service never exposes it (the chart: 9091,
   * a headless Service of its own, a NetworkPolicy admitting only the controller). 0: a free port.
   */
  adminPort: int(0, 65_535).optional(),
  /** Shared secret the scrapers present (`HEARTH_INTERNAL_TOKEN`); unset: /internal/load answers 404. */
  internalToken: z.string().min(16).optional(),
});
export type GatewayConfig = z.output<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;

const ENV: Record<string, keyof GatewayConfigInput> = {
  HEARTH_GATEWAY_HOST: 'host',
  HEARTH_GATEWAY_PORT: 'port',
  HEARTH_GATEWAY_ID: 'gatewayId',
  HEARTH_GATEWAY_MAX_HELD_PER_DEPLOYMENT: 'maxHeldPerDeployment',
  HEARTH_GATEWAY_HOLD_TIMEOUT_MS: 'holdTimeoutMs',
  HEARTH_GATEWAY_QUEUE_FULL_RETRY_AFTER_SECONDS: 'queueFullRetryAfterSeconds',
  HEARTH_GATEWAY_NOT_READY_RETRY_AFTER_SECONDS: 'notReadyRetryAfterSeconds',
  HEARTH_GATEWAY_UPSTREAM_TIMEOUT_MS: 'upstreamTimeoutMs',
  HEARTH_GATEWAY_MAX_BODY_BYTES: 'maxBodyBytes',
  HEARTH_GATEWAY_REPORT_INTERVAL_MS: 'reportIntervalMs',
  HEARTH_GATEWAY_MAX_SOCKETS_PER_ENDPOINT: 'maxSocketsPerEndpoint',
  HEARTH_GATEWAY_ADMIN_PORT: 'adminPort',
  HEARTH_INTERNAL_TOKEN: 'internalToken',
};

/** The config from HEARTH_GATEWAY_* variables (throws a ZodError listing every bad one). */
export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined && env[name] !== '') raw[key] = env[name];
  if (raw.gatewayId === undefined && env.HOSTNAME) raw.gatewayId = env.HOSTNAME;
  return GatewayConfig.parse(raw);
}
