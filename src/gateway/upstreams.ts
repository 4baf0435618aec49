// The ready replicas of each deployment, from its Service's EndpointSlices, and the choice of one
// per request: least requests in flight through this gateway replica, ties broken round-robin.
//
// EndpointSlices are watched (sources.ts), never listed per request. A slice belongs to a
// hearth Deployment through the `hearth.dev/deployment` label, which the Deployment controller
// puts on the Service and the EndpointSlice controller copies onto the slices it manages.
import { LABELS } from '../crds/group.js';
import { MODEL_SERVER_PORT_NAME, readyEndpoints, type EndpointSliceLike } from '../kube/endpoint-slices.js';
import { deploymentKey } from './catalog.js';

export const LABEL_DEPLOYMENT = LABELS.deployment;
/** The Service port the model server listens on (the workload's named container port). */
export const PORT_NAME = MODEL_SERVER_PORT_NAME;
export type { EndpointSliceLike };

export interface Endpoint {
  /** `address:port`, unique within a deployment. */
  id: string;
  address: string;
  port: number;
  inFlight: number;
}

interface Pool {
  /** Ready endpoints per slice name. */
  slices: Map<string, Array<{ address: string; port: number }>>;
  endpoints: Endpoint[];
  next: number;
}

/** The ready `address:port` pairs of one slice (src/kube/endpoint-slices.ts decides what is ready). */
export function readyAddresses(slice: EndpointSliceLike): Array<{ address: string; port: number }> {
  return readyEndpoints(slice).map(({ address, port }) => ({ address, port }));
}

export class Upstreams {
  readonly #pools = new Map<string, Pool>();
  readonly #listeners = new Set<(key: string) => void>();
  readonly #added = new Set<(key: string) => void>();

  /** Called with the deployment key whenever its set of ready endpoints grows from empty. */
  onReady(fn: (key: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Called with the deployment key whenever an endpoint becomes ready (not only the first). */
  onAdded(fn: (key: string) => void): () => void {
    this.#added.add(fn);
    return () => this.#added.delete(fn);
  }

  upsertSlice(slice: EndpointSliceLike): void {
    const key = sliceDeployment(slice);
    const name = slice.metadata?.name;
    if (!key || !name) return;
    this.#setSlice(key, name, readyAddresses(slice));
  }

  deleteSlice(slice: EndpointSliceLike): void {
    const key = sliceDeployment(slice);
    const name = slice.metadata?.name;
    if (key && name) this.#setSlice(key, name, []);
  }

  /** Replaces one slice's endpoints (also for tests without a cluster). */
  setSlice(key: string, sliceName: string, addresses: Array<{ address: string; port: number }>): void {
    this.#setSlice(key, sliceName, addresses);
  }

  readyCount(key: string): number {
    return this.#pools.get(key)?.endpoints.length ?? 0;
  }

  /** Ready endpoint counts per deployment key (for metrics). */
  counts(): Array<[string, number]> {
    return [...this.#pools].map(([k, p]) => [k, p.endpoints.length]);
  }

  endpoints(key: string): readonly Endpoint[] {
    return this.#pools.get(key)?.endpoints ?? [];
  }

  /**
   * The ready endpoint with the fewest requests in flight, or undefined if none. The caller must
   * `release()` what it got. Ties go round-robin so equal replicas share a trickle evenly.
   * With `affinity` (session affinity on the request's `user`), the same key always gets the same
   * endpoint while it stays ready (rendezvous hashing: when endpoints come or go, only the keys of
   * those endpoints move), which keeps that user's prompt cache warm on one replica.
   */
  acquire(key: string, affinity?: string, allow?: (e: Endpoint) => boolean): Endpoint | undefined {
    const pool = this.#pools.get(key);
    const all = pool?.endpoints;
    if (!pool || !all || all.length === 0) return undefined;
    // An adapter request: only the replicas that have the adapter loaded.
    const eps = allow ? all.filter(allow) : all;
    if (eps.length === 0) return undefined;
    if (affinity !== undefined) {
      const e = rendezvous(eps, affinity);
      e.inFlight++;
      return e;
    }
    const n = eps.length;
    const start = pool.next++ % n;
    let best = eps[start] as Endpoint;
    for (let i = 1; i < n; i++) {
      const e = eps[(start + i) % n] as Endpoint;
      if (e.inFlight < best.inFlight) best = e;
    }
    best.inFlight++;
    return best;
  }

  release(ep: Endpoint): void {
    if (ep.inFlight > 0) ep.inFlight--;
  }

  #setSlice(key: string, sliceName: string, addresses: Array<{ address: string; port: number }>): void {
    let pool = this.#pools.get(key);
    if (!pool) {
      if (addresses.length === 0) return;
      pool = { slices: new Map(), endpoints: [], next: 0 };
      this.#pools.set(key, pool);
    }
    const before = pool.endpoints.length;
    if (addresses.length === 0) pool.slices.delete(sliceName);
    else pool.slices.set(sliceName, addresses);
    // Keep the Endpoint objects (and their in-flight counts) of addresses that stay.
    const old = new Map(pool.endpoints.map((e) => [e.id, e]));
    const next: Endpoint[] = [];
    const seen = new Set<string>();
    for (const list of pool.slices.values()) {
      for (const a of list) {
        const id = `${a.address}:${a.port}`;
        if (seen.has(id)) continue;
        seen.add(id);
        next.push(old.get(id) ?? { id, address: a.address, port: a.port, inFlight: 0 });
      }
    }
    pool.endpoints = next;
    if (pool.slices.size === 0) this.#pools.delete(key);
    if (before === 0 && next.length > 0) for (const fn of this.#listeners) fn(key);
    if (next.some((e) => !old.has(e.id))) for (const fn of this.#added) fn(key);
  }
}

/** FNV-1a, 32 bits: a fast, well-spread hash for rendezvous choice (not for security). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so that similar strings spread
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Highest-random-weight choice of an endpoint for `key`. */
export function rendezvous(eps: readonly Endpoint[], key: string): Endpoint {
  let best = eps[0] as Endpoint;
  let bestScore = -1;
  for (const e of eps) {
    const score = fnv1a(`${key}\u0000${e.id}`);
    if (score > bestScore || (score === bestScore && e.id < best.id)) {
      best = e;
      bestScore = score;
    }
  }
  return best;
}

function sliceDeployment(slice: EndpointSliceLike): string | undefined {
  const ns = slice.metadata?.namespace;
  const dep = slice.metadata?.labels?.[LABEL_DEPLOYMENT];
  return ns && dep ? deploymentKey(ns, dep) : undefined;
}
