// What each model-server replica has loaded, as the controller last saw it. Shared by every
// DeployedModel of the process, so one replica is asked (GET /v1/models) at most once per poll
// interval however many adapters it serves.
//
// How a lost adapter is found (issue 12 item 4): by polling. A server that restarts in place
// (its process, or the container without the pod's readiness flipping long enough for the
// EndpointSlice to show it) forgets every runtime-loaded adapter; its pod's restart count may or
// may not change, and the simulated fleet's fixtures restart without any pod change at all. The
// server's own list is the truth, so each replica's list is re-read when older than `pollMs`, and
// at once for a replica the controller has not seen (new pod, new uid at an old address) or that
// left its deployment's Ready set and came back (a container restart its readiness probe showed:
// what it had before is forgotten when it leaves, `retain`).
import type { Clock } from '../../util/clock.js';
import type { AdapterApi, Replica } from './model-server.js';

export interface ReplicaRef extends Replica {
  /** The pod's uid (EndpointSlice targetRef): a rescheduled pod reusing an address is a new replica. */
  podUid?: string;
}

interface Known {
  podUid?: string;
  names: Set<string>;
  at: number;
}

const PRUNE_ABOVE = 4096;
const keyOf = (r: Replica): string => `${r.address}:${r.port}`;

export class ReplicaAdapters {
  readonly #known = new Map<string, Known>();
  readonly #inflight = new Map<string, Promise<Set<string>>>();
  /** Deployment key → the replicas (address:port) it had Ready when last looked at. */
  readonly #ready = new Map<string, Set<string>>();

  constructor(
    private readonly api: AdapterApi,
    private readonly clock: Clock,
    private readonly pollMs: number,
  ) {}

  /** The adapters `r` has, re-read from the server when the last answer is older than pollMs. */
  async loaded(r: ReplicaRef, signal?: AbortSignal): Promise<Set<string>> {
    const key = keyOf(r);
    const k = this.#known.get(key);
    if (k && k.podUid === r.podUid && this.clock.now() - k.at < this.pollMs) return k.names;
    this.#prune();
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const p = this.api
      .listAdapters(r, signal)
      .then((names) => {
        this.#known.set(key, { ...(r.podUid ? { podUid: r.podUid } : {}), names, at: this.clock.now() });
        return names;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  /** Records a load the server accepted (no need to ask it again). */
  added(r: ReplicaRef, name: string): void {
    this.#known.get(keyOf(r))?.names.add(name);
  }

  removed(r: ReplicaRef, name: string): void {
    this.#known.get(keyOf(r))?.names.delete(name);
  }

  /**
   * `deployment`'s Ready replicas are now `ready`: what was seen of a replica that is no longer among
   * them is forgotten, so when it is Ready again (a restarted server, possibly within pollMs) its
   * list is read afresh rather than trusted.
   */
  retain(deployment: string, ready: readonly Replica[]): void {
    const now = new Set(ready.map(keyOf));
    for (const key of this.#ready.get(deployment) ?? []) if (!now.has(key)) this.#known.delete(key);
    if (now.size > 0) this.#ready.set(deployment, now);
    else this.#ready.delete(deployment);
  }

  /** Drops what was seen of replicas not asked about for a long time (pods come and go). */
  #prune(): void {
    if (this.#known.size < PRUNE_ABOVE) return;
    const old = this.clock.now() - this.pollMs * 10;
    for (const [key, k] of this.#known) if (k.at < old) this.#known.delete(key);
  }
}
