// The cross-process load transport, controller side: the autoscaler PULLS load from every gateway
// replica (Knative's autoscaler scrapes its pods the same way), so gateways need not know where the
// leader is, and every controller replica keeps a warm view (a new leader scales on real data at
// once). Per gateway replica one long-poll is open at a time:
//
//   GET <gateway admin>/internal/load?after=<seq>&bootId=<id>&waitMs=<ms>   (gateway/load-endpoint.ts)
//
// The gateway answers at its next load report: every report interval (1 s) for the periodic load,
// and at once when it starts holding a request for a deployment at zero — the cold-start wake, which
// fires `onDemand` here, so 0 → 1 is one reconcile away without waiting for a scrape interval.
//
// Gateway replicas come from a static list (HEARTH_GATEWAY_LOAD_URLS: tests, the demo, loopback)
// or from the EndpointSlices of the gateway's admin Service (HEARTH_GATEWAY_LOAD_SELECTOR in
// HEARTH_GATEWAY_LOAD_NAMESPACE), listed again every `discoverEveryMs`.
//
// Summing and staleness, as LoadAggregator does in process: per deployment the sum over gateway
// replicas answered within `staleMs` (10 s). A replica that fails to answer KEEPS its last numbers
// until they are stale, then drops out: one missed scrape never reads as zero load (which could
// scale a busy deployment down). With no fresh replica at all there is no sample (the autoscaler
// holds: MetricsStale). Times are this process's clock at receipt (no cross-host clock skew).
import { DiscoveryV1Api } from '@kubernetes/client-node';
import { apiClient, type ApiSource } from '../../kube/client.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { sleep, type Clock } from '../../util/clock.js';
import type { LoadSource } from './autoscaler.js';
import type { LoadSample } from './history.js';

export const LOAD_PATH = '/internal/load';

const Entry = z.object({
  namespace: z.string(),
  deployment: z.string(),
  inFlight: z.number().nonnegative(),
  held: z.number().nonnegative(),
  requestsPerSecond: z.number().nonnegative(),
  tokensPerSecond: z.number().nonnegative(),
  lastRequestAt: z.number().optional(),
});
const Snapshot = z.object({
  gatewayId: z.string(),
  bootId: z.string(),
  seq: z.number().int().nonnegative(),
  at: z.number(),
  deployments: z.array(Entry),
});
export type GatewayLoadSnapshot = z.infer<typeof Snapshot>;
type GatewayEntry = z.infer<typeof Entry>;

export interface GatewayLoadScraperOptions {
  clock: Clock;
  /** The shared secret (HEARTH_INTERNAL_TOKEN) sent as `Authorization: Bearer`. */
  token: string;
  /** Base URLs of the gateways' admin listeners (static), e.g. http://127.0.0.1:9091. */
  targets?: readonly string[];
  /** Or: lists the current base URLs (EndpointSlice discovery); called every `discoverEveryMs`. */
  discover?: () => Promise<string[]>;
  discoverEveryMs?: number;
  /** A gateway's numbers count this long after its last answer (default 10 s). */
  staleMs?: number;
  /** How long the gateway may hold a scrape open waiting for its next report (default 5 s). */
  waitMs?: number;
  /** Pause after a failed scrape (default 1 s). */
  retryMs?: number;
  fetch?: typeof fetch;
  log?: Logger;
}

interface Replica {
  url: string;
  /** Last successful answer (this process's clock); -Infinity before the first. */
  lastOkAt: number;
  entries: Map<string, GatewayEntry>;
  seq?: number;
  bootId?: string;
  failing: boolean;
  abort: AbortController | undefined;
}

/** Sums the gateways' load per deployment from scrapes; the autoscaler's LoadSource across processes. */
export class GatewayLoadScraper implements LoadSource {
  readonly #o: GatewayLoadScraperOptions;
  readonly #replicas = new Map<string, Replica>();
  readonly #demand = new Set<(namespace: string, deployment: string) => void>();
  readonly #staleMs: number;
  #stopped = new AbortController();
  #running: Promise<void>[] = [];

  constructor(opts: GatewayLoadScraperOptions) {
    if (!opts.targets && !opts.discover) throw new Error('GatewayLoadScraper needs targets or discover');
    this.#o = opts;
    this.#staleMs = opts.staleMs ?? 10_000;
  }

  onDemand(fn: (namespace: string, deployment: string) => void): () => void {
    this.#demand.add(fn);
    return () => this.#demand.delete(fn);
  }

  /** The sum over gateway replicas answered within `staleMs`, or undefined when none did. */
  sample(namespace: string, deployment: string, now: number): LoadSample | undefined {
    const key = `${namespace}/${deployment}`;
    let at = -Infinity;
    const sum = { inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 };
    for (const [url, r] of this.#replicas) {
      if (now - r.lastOkAt > this.#staleMs) {
        if (!r.abort && now - r.lastOkAt > this.#staleMs * 6) this.#replicas.delete(url); // gone from discovery long ago
        continue;
      }
      at = Math.max(at, r.lastOkAt);
      const e = r.entries.get(key);
      if (!e) continue;
      sum.inFlight += e.inFlight;
      sum.requestsPerSecond += e.requestsPerSecond;
      sum.tokensPerSecond += e.tokensPerSecond;
    }
    return at === -Infinity ? undefined : { at, ...sum };
  }

  /** Gateway replicas (admin URLs) answered within `staleMs` of `now`. */
  liveGateways(now: number): string[] {
    return [...this.#replicas.values()].filter((r) => now - r.lastOkAt <= this.#staleMs).map((r) => r.url);
  }

  /** Every known gateway replica: admin URL, last answer (ms, -Infinity: never), failing now. */
  targets(): Array<{ url: string; lastOkAt: number; failing: boolean; scraping: boolean }> {
    return [...this.#replicas.values()].map((r) => ({ url: r.url, lastOkAt: r.lastOkAt, failing: r.failing, scraping: r.abort !== undefined }));
  }

  /**
   * Folds one gateway's answer in (the scrape loop calls it; exported for tests). A deployment
   * that starts holding requests on this gateway fires `onDemand` at once.
   */
  ingest(url: string, snap: GatewayLoadSnapshot, receivedAt: number): void {
    const r = this.#replica(url);
    const before = r.entries;
    r.entries = new Map(snap.deployments.map((d) => [`${d.namespace}/${d.deployment}`, d]));
    r.lastOkAt = Math.max(r.lastOkAt, receivedAt);
    r.seq = snap.seq;
    r.bootId = snap.bootId;
    for (const [key, d] of r.entries) {
      if (d.held > 0 && !((before.get(key)?.held ?? 0) > 0)) for (const fn of this.#demand) fn(d.namespace, d.deployment);
    }
  }

  #replica(url: string): Replica {
    let r = this.#replicas.get(url);
    if (!r) {
      r = { url, lastOkAt: -Infinity, entries: new Map(), failing: false, abort: undefined };
      this.#replicas.set(url, r);
    }
    return r;
  }

  /** Starts scraping (and discovering). */
  start(): void {
    this.#stopped = new AbortController();
    if (this.#o.targets) this.#setTargets(this.#o.targets);
    if (this.#o.discover) this.#running.push(this.#discoverLoop(this.#o.discover));
  }

  /** Stops every scrape and discovery; resolves when they have ended. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    for (const r of this.#replicas.values()) r.abort?.abort();
    const running = this.#running;
    this.#running = [];
    await Promise.allSettled(running);
  }

  #setTargets(urls: readonly string[]): void {
    const want = new Set(urls.map((u) => u.replace(/\/+$/, '')));
    for (const r of this.#replicas.values()) {
      if (!want.has(r.url) && r.abort) {
        r.abort.abort(); // gone from discovery: its numbers age out like a silent replica's
        r.abort = undefined;
      }
    }
    for (const url of want) {
      const r = this.#replica(url);
      if (r.abort) continue;
      r.abort = new AbortController();
      this.#running.push(this.#scrapeLoop(r, r.abort.signal));
    }
  }

  async #discoverLoop(discover: () => Promise<string[]>): Promise<void> {
    const every = this.#o.discoverEveryMs ?? 10_000;
    const signal = this.#stopped.signal;
    while (!signal.aborted) {
      try {
        this.#setTargets(await discover());
      } catch (err) {
        this.#o.log?.warn({ err }, 'gateway discovery failed; keeping the known gateways');
      }
      await sleep(this.#o.clock, every, signal);
    }
  }

  async #scrapeLoop(r: Replica, signal: AbortSignal): Promise<void> {
    const doFetch = this.#o.fetch ?? fetch;
    const waitMs = this.#o.waitMs ?? 5_000;
    while (!signal.aborted) {
      const q = new URLSearchParams({ waitMs: String(waitMs) });
      if (r.seq !== undefined && r.bootId !== undefined) {
        q.set('after', String(r.seq));
        q.set('bootId', r.bootId);
      }
      try {
        const res = await doFetch(`${r.url}${LOAD_PATH}?${q}`, {
          headers: { authorization: `Bearer ${this.#o.token}`, accept: 'application/json' },
          signal: AbortSignal.any([signal, AbortSignal.timeout(waitMs + 5_000)]),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status} from ${r.url}${LOAD_PATH}`);
        const snap = Snapshot.parse(await res.json());
        this.ingest(r.url, snap, this.#o.clock.now());
        if (r.failing) this.#o.log?.info({ gateway: r.url }, 'gateway load scrape recovered');
        r.failing = false;
      } catch (err) {
        if (signal.aborted) break;
        if (!r.failing) this.#o.log?.warn({ gateway: r.url, err }, 'gateway load scrape failed; its last numbers count until stale');
        r.failing = true;
        await sleep(this.#o.clock, this.#o.retryMs ?? 1_000, signal);
      }
    }
  }
}

/**
 * Admin URLs of the gateway replicas behind a Service: the ready addresses of its EndpointSlices
 * (`labelSelector`, e.g. `kubernetes.io/service-name=hearth-gateway-admin`) with the port named
 * `portName` (else the slice's first port). RBAC: list endpointslices in `namespace`.
 */
export function endpointSliceTargets(kube: ApiSource, namespace: string, labelSelector: string, portName = 'admin'): () => Promise<string[]> {
  const api = apiClient(kube, DiscoveryV1Api);
  return async () => {
    const list = await api.listNamespacedEndpointSlice({ namespace, labelSelector });
    const urls: string[] = [];
    for (const s of list.items) {
      if (s.addressType !== 'IPv4' && s.addressType !== 'IPv6') continue;
      const port = (s.ports ?? []).find((p) => p.name === portName) ?? s.ports?.[0];
      if (!port?.port) continue;
      for (const ep of s.endpoints) {
        if (ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
        for (const a of ep.addresses) urls.push(`http://${s.addressType === 'IPv6' ? `[${a}]` : a}:${port.port}`);
      }
    }
    return urls;
  };
}
