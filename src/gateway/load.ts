// Load signals for the autoscaler. Each gateway replica counts, per deployment, the requests in
// flight (held ones included), arrivals and generated tokens, and every `intervalMs` sends one
// LoadReport through a LoadReporter. When a request has to wait for a deployment with no ready
// replica it sends an urgent report for that deployment at once ("scale from zero wanted"), so the
// autoscaler need not wait for the next tick.
//
// The autoscaler sums over gateway replicas: LoadAggregator keeps each replica's latest entry per
// deployment and, for a deployment, adds up the entries of the replicas that reported recently. A
// replica that stopped reporting drops out after `staleMs`; while at least one replica is alive a
// deployment nobody reported is idle (a fresh zero sample), which is what lets it scale to zero. With
// no live replica at all there is no sample, and the autoscaler holds (it never scales on no data).
//
// In-process (mode `all`, tests): the gateway's reporter *is* the aggregator. Across processes the
// controller scrapes the same values from GET /internal/load (load-endpoint.ts; README.md).
// The sample shape matches the autoscaler's LoadSample ({at, inFlight, requestsPerSecond,
// tokensPerSecond}) structurally; the gateway does not import controllers.
import type { Clock, Timer } from '../util/clock.js';

export interface DeploymentLoad {
  namespace: string;
  deployment: string;
  /** Requests in flight through this replica, including held ones. */
  inFlight: number;
  /** Of which waiting for a ready replica. */
  held: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
}

export interface LoadReport {
  gatewayId: string;
  at: number;
  /** A full report covers every deployment with load; an urgent one just the named ones. */
  kind: 'full' | 'urgent';
  deployments: DeploymentLoad[];
}

export interface LoadReporter {
  report(r: LoadReport): void;
}

/** What the autoscaler's `observe()` takes (controllers/autoscaler LoadSample). */
export interface LoadSampleLike {
  at: number;
  inFlight: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
}

interface Counters {
  namespace: string;
  deployment: string;
  inFlight: number;
  held: number;
  arrivals: number;
  tokens: number;
}

/** Per-deployment counters of one gateway replica, reported periodically. */
export class LoadTracker {
  readonly #stats = new Map<string, Counters>();
  #timer: Timer | undefined;
  #lastAt: number;

  constructor(
    private readonly gatewayId: string,
    private readonly reporter: LoadReporter,
    private readonly clock: Clock,
    private readonly intervalMs = 1000,
  ) {
    this.#lastAt = clock.now();
  }

  #get(namespace: string, deployment: string): Counters {
    const key = `${namespace}/${deployment}`;
    let c = this.#stats.get(key);
    if (!c) {
      c = { namespace, deployment, inFlight: 0, held: 0, arrivals: 0, tokens: 0 };
      this.#stats.set(key, c);
    }
    return c;
  }

  arrived(namespace: string, deployment: string): void {
    const c = this.#get(namespace, deployment);
    c.arrivals++;
    c.inFlight++;
  }

  finished(namespace: string, deployment: string, completionTokens: number): void {
    const c = this.#get(namespace, deployment);
    c.inFlight = Math.max(0, c.inFlight - 1);
    if (completionTokens > 0) c.tokens += completionTokens;
  }

  /**
   * A request starts waiting for a replica. The first one held for a deployment is reported at
   * once (scale from zero wanted); later ones ride on the periodic reports.
   */
  heldStart(namespace: string, deployment: string): void {
    const c = this.#get(namespace, deployment);
    if (c.held++ > 0) return;
    const now = this.clock.now();
    const secs = Math.max((now - this.#lastAt) / 1000, 0.001);
    this.reporter.report({ gatewayId: this.gatewayId, at: now, kind: 'urgent', deployments: [this.#load(c, secs)] });
  }

  heldEnd(namespace: string, deployment: string): void {
    const c = this.#get(namespace, deployment);
    c.held = Math.max(0, c.held - 1);
  }

  start(): void {
    const tick = (): void => {
      this.flush();
      this.#timer = this.clock.setTimeout(tick, this.intervalMs);
    };
    this.#timer = this.clock.setTimeout(tick, this.intervalMs);
  }

  stop(): void {
    if (this.#timer) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Sends a full report for the interval since the last one and starts a new interval. */
  flush(): LoadReport {
    const now = this.clock.now();
    const secs = Math.max((now - this.#lastAt) / 1000, 0.001);
    this.#lastAt = now;
    const deployments: DeploymentLoad[] = [];
    for (const [key, c] of this.#stats) {
      deployments.push(this.#load(c, secs));
      c.arrivals = 0;
      c.tokens = 0;
      if (c.inFlight === 0 && c.held === 0) this.#stats.delete(key);
    }
    const r: LoadReport = { gatewayId: this.gatewayId, at: now, kind: 'full', deployments };
    this.reporter.report(r);
    return r;
  }

  #load(c: Counters, secs: number): DeploymentLoad {
    return {
      namespace: c.namespace,
      deployment: c.deployment,
      inFlight: c.inFlight,
      held: c.held,
      requestsPerSecond: c.arrivals / secs,
      tokensPerSecond: c.tokens / secs,
    };
  }
}

interface ReplicaState {
  lastFullAt: number;
  entries: Map<string, DeploymentLoad & { at: number }>;
}

export interface LoadAggregatorOptions {
  /** A replica silent this long no longer counts (default 10 s). */
  staleMs?: number;
}

/** Sums the reports of N gateway replicas per deployment: the autoscaler's side of LoadReporter. */
export class LoadAggregator implements LoadReporter {
  readonly #replicas = new Map<string, ReplicaState>();
  readonly #demand = new Set<(namespace: string, deployment: string) => void>();
  readonly #staleMs: number;

  constructor(opts: LoadAggregatorOptions = {}) {
    this.#staleMs = opts.staleMs ?? 10_000;
  }

  /** Called at once when a gateway holds a request (scale from zero wanted). */
  onDemand(fn: (namespace: string, deployment: string) => void): () => void {
    this.#demand.add(fn);
    return () => this.#demand.delete(fn);
  }

  report(r: LoadReport): void {
    let s = this.#replicas.get(r.gatewayId);
    if (!s) {
      s = { lastFullAt: -Infinity, entries: new Map() };
      this.#replicas.set(r.gatewayId, s);
    }
    if (r.kind === 'full') {
      if (r.at < s.lastFullAt) return;
      s.lastFullAt = r.at;
      s.entries = new Map(r.deployments.map((d) => [`${d.namespace}/${d.deployment}`, { ...d, at: r.at }]));
      return;
    }
    for (const d of r.deployments) {
      s.entries.set(`${d.namespace}/${d.deployment}`, { ...d, at: r.at });
      if (d.held > 0) for (const fn of this.#demand) fn(d.namespace, d.deployment);
    }
  }

  /**
   * The sum over live replicas for one deployment, or undefined when no replica reported within
   * `staleMs` (no data: the autoscaler must not read it as idle).
   */
  sample(namespace: string, deployment: string, now: number): LoadSampleLike | undefined {
    const key = `${namespace}/${deployment}`;
    let at = -Infinity;
    const sum = { inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 };
    for (const [id, s] of this.#replicas) {
      const entry = s.entries.get(key);
      const last = Math.max(s.lastFullAt, entry?.at ?? -Infinity);
      if (now - last > this.#staleMs) {
        if (now - s.lastFullAt > this.#staleMs * 6) this.#replicas.delete(id);
        continue;
      }
      at = Math.max(at, last);
      if (!entry) continue;
      sum.inFlight += entry.inFlight;
      sum.requestsPerSecond += entry.requestsPerSecond;
      sum.tokensPerSecond += entry.tokensPerSecond;
    }
    return at === -Infinity ? undefined : { at, ...sum };
  }

  /** Gateway replicas that reported within `staleMs` of `now`. */
  liveReplicas(now: number): string[] {
    return [...this.#replicas].filter(([, s]) => now - s.lastFullAt <= this.#staleMs).map(([id]) => id);
  }
}
