// The gateway's settings: one zod schema. src/config.ts reads them from the HEARTH_GATEWAY_*
// environment variables (its `gateway` section reuses these fields) and `gatewayConfig(config)`
// hands them to startGateway; nothing here reads the environment.
import { z } from 'zod';
import { parseLoopbackHostPort } from '../kube/dial.js';
import { DEFAULT_HOLD_LIMITS } from './hold.js';
import type { DialTarget } from './server.js';

export const SIMULATED_UPSTREAM_ENV = 'HEARTH_GATEWAY_SIMULATED_UPSTREAM';

/** Loopback-only `host:port` parsing lives with the simulated dial map (src/kube/dial.ts). */
export { parseLoopbackHostPort };

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
  /** Admission (limits.ts): requests in flight, held included, in this replica; beyond: 503. */
  maxInFlight: int(1).default(4096),
  /** …per API key and per account; beyond: 429. */
  maxInFlightPerKey: int(1).default(128),
  maxInFlightPerAccount: int(1).default(512),
  /** Request body bytes buffered at once (held and in-flight bodies) in this replica; beyond: 503. */
  maxBufferedBytes: int(1).default(256 * 1024 * 1024),
  /** …per API key; beyond: 429. */
  maxBufferedBytesPerKey: int(1).default(64 * 1024 * 1024),
  /** Request rate per API key and per account (token buckets, per replica); beyond: 429 + Retry-After. */
  keyRatePerSecond: z.coerce.number().positive().default(100),
  keyRateBurst: int(1).default(200),
  accountRatePerSecond: z.coerce.number().positive().default(400),
  accountRateBurst: int(1).default(800),
  /** How often load reports go to the autoscaler. */
  reportIntervalMs: int(100).default(1_000),
  /** Keep-alive connections per model-server endpoint. */
  maxSocketsPerEndpoint: int(1).default(256),
  /** Node's process metrics (CPU, memory, event loop lag) on the admin listener's /metrics too. */
  processMetrics: z.boolean().default(true),
  /**
   * The admin listener (`GET /internal/load` for the controller's autoscaler, `GET /metrics`,
   * `/healthz`); unset: none, and no /metrics anywhere. Kept off the inference port so the public Service never exposes it (the chart: 9091,
   * a headless Service of its own, a NetworkPolicy admitting only the controller). 0: a free port.
   */
  adminPort: int(0, 65_535).optional(),
  /**
   * Bearer token Prometheus presents for `GET /metrics` on the admin listener
   * (`HEARTH_METRICS_TOKEN`); unset: /metrics there is open to whoever the NetworkPolicy admits.
   * /metrics is never served on the inference port.
   */
  metricsToken: z.string().min(16).optional(),
  /** Both listeners: the whole request must arrive within this (HEARTH_HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: int(1).default(600_000),
  /** Both listeners: a request's headers must arrive within this (HEARTH_HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: int(1).default(30_000),
  /** Both listeners: an idle keep-alive connection closes after this (HEARTH_HTTP_KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: int(1).default(65_000),
  /** Shared secret the scrapers present (`HEARTH_INTERNAL_TOKEN`); unset: /internal/load answers 404. */
  internalToken: z.string().min(16).optional(),
  /**
   * DEMO / SIMULATION ONLY (`HEARTH_GATEWAY_SIMULATED_UPSTREAM`): `host:port` on loopback where
   * EVERY replica endpoint is dialled instead of its pod IP, because a simulated (KWOK) fleet has
   * no pod network. Discovery, readiness and the replica choice are unchanged; only the connect
   * address is replaced. `startGateway` does not read it: the process wiring passes
   * `simulatedDialTarget(config)` as `deps.dialTarget`. Non-loopback hosts are refused, so it can
   * never send traffic off the machine.
   */
  simulatedUpstream: z
    .string()
    .refine(
      (v) => parseLoopbackHostPort(v) !== undefined,
      'demo/simulation only; must be <loopback host>:<port>, e.g. 127.0.0.1:8000 or [::1]:8000 (hosts outside 127.0.0.0/8, ::1 and localhost are refused)',
    )
    .optional(),
});
export type GatewayConfig = z.output<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;

/** The `dialTarget` for `simulatedUpstream`: every endpoint → that loopback address; unset: undefined. */
export function simulatedDialTarget(config: Pick<GatewayConfig, 'simulatedUpstream'>): DialTarget | undefined {
  if (config.simulatedUpstream === undefined) return undefined;
  const target = parseLoopbackHostPort(config.simulatedUpstream);
  if (!target) throw new Error(`${SIMULATED_UPSTREAM_ENV}: not a loopback host:port: ${config.simulatedUpstream}`);
  return () => ({ ...target });
}
