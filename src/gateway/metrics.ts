// Prometheus metrics of one gateway (its own registry, so several gateways can share a process in
// tests). Per-deployment series are labelled namespace/deployment.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'hearth_gateway_requests_total',
    help: 'Inference requests answered, by deployment (empty when unresolved) and HTTP status.',
    labelNames: ['namespace', 'deployment', 'code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'hearth_gateway_request_duration_seconds',
    help: 'Time from request to the end of the response, held time included.',
    labelNames: ['namespace', 'deployment'] as const,
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'hearth_gateway_in_flight_requests',
    help: 'Requests in flight through this gateway replica, held ones included.',
    labelNames: ['namespace', 'deployment'] as const,
    registers: [this.registry],
  });
  readonly held = new Gauge({
    name: 'hearth_gateway_held_requests',
    help: 'Requests waiting for a ready replica (cold start).',
    labelNames: ['namespace', 'deployment'] as const,
    registers: [this.registry],
  });
  readonly holdOutcomes = new Counter({
    name: 'hearth_gateway_hold_outcomes_total',
    help: 'Held requests by outcome: ready, full (429), timeout (503), aborted (client left).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'hearth_gateway_admission_refused_total',
    help: 'Requests refused by admission (rate, concurrency or body budgets), by error code.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly bufferedBytes = new Gauge({
    name: 'hearth_gateway_buffered_request_bytes',
    help: 'Request body bytes buffered now (held and in-flight bodies).',
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'hearth_gateway_generated_tokens_total',
    help: 'Completion tokens generated, from the usage of responses.',
    labelNames: ['namespace', 'deployment'] as const,
    registers: [this.registry],
  });
  readonly readyEndpoints = new Gauge({
    name: 'hearth_gateway_ready_endpoints',
    help: 'Ready model-server endpoints known from EndpointSlices.',
    labelNames: ['namespace', 'deployment'] as const,
    registers: [this.registry],
  });

  /** Called before each scrape to refresh gauges computed from state. */
  beforeScrape: () => void = () => {};

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
