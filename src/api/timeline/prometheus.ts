// The timeline's figures from Prometheus (HEARTH_PROMETHEUS_URL): the gateways' per-deployment
// series (src/gateway/metrics.ts) through the HTTP API's range queries, read by the API process
// (the browser never talks to Prometheus). The same queries are the Grafana dashboard's
// (charts/hearth/dashboards/hearth-deployments.json).
import { ApiError } from '../wire/errors.js';

export interface PromPoint {
  time: string;
  readyReplicas: number;
  inFlight: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
}

/** PromQL of each figure for one deployment (label values are quoted by `sel`). */
export function queries(namespace: string, deployment: string): Record<Exclude<keyof PromPoint, 'time'>, string> {
  const q = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const sel = `{namespace=${q(namespace)},deployment=${q(deployment)}}`;
  return {
    // Every gateway replica sees the same EndpointSlices: the max, not the sum.
    readyReplicas: `max(hearth_gateway_ready_endpoints${sel})`,
    inFlight: `sum(hearth_gateway_in_flight_requests${sel})`,
    requestsPerSecond: `sum(rate(hearth_gateway_requests_total${sel}[1m]))`,
    tokensPerSecond: `sum(rate(hearth_gateway_generated_tokens_total${sel}[1m]))`,
  };
}

interface RangeResponse {
  status: string;
  error?: string;
  data?: { result: { values: [number, string][] }[] };
}

export class PrometheusReader {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#fetch = opts.fetch ?? fetch;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async #range(query: string, from: Date, to: Date, step: number): Promise<Map<number, number>> {
    const params = new URLSearchParams({ query, start: String(from.getTime() / 1000), end: String(to.getTime() / 1000), step: String(step) });
    let body: RangeResponse;
    try {
      const res = await this.#fetch(`${this.#base}/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(this.#timeoutMs) });
      body = (await res.json()) as RangeResponse;
    } catch (err) {
      throw new ApiError('UNAVAILABLE', `Prometheus at ${this.#base} did not answer: ${(err as Error).message}`);
    }
    if (body.status !== 'success') throw new ApiError('UNAVAILABLE', `Prometheus refused the query ${query}: ${body.error ?? body.status}`);
    const out = new Map<number, number>();
    for (const [t, v] of body.data?.result[0]?.values ?? []) {
      const n = Number(v);
      out.set(Math.round(t), Number.isFinite(n) ? n : 0);
    }
    return out;
  }

  /** One point per step in [from, to]; a figure with no series reads 0. */
  async deploymentSeries(r: { namespace: string; deployment: string; from: Date; to: Date; stepSeconds: number }): Promise<PromPoint[]> {
    const qs = queries(r.namespace, r.deployment);
    const keys = Object.keys(qs) as (keyof typeof qs)[];
    const series = await Promise.all(keys.map((k) => this.#range(qs[k], r.from, r.to, r.stepSeconds)));
    const times = [...new Set(series.flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
    return times.map((t) => {
      const p: PromPoint = { time: new Date(t * 1000).toISOString(), readyReplicas: 0, inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 };
      keys.forEach((k, i) => (p[k] = series[i]?.get(t) ?? 0));
      return p;
    });
  }
}
