// A controller: informers whose handlers only enqueue keys, a rate-limited work queue, and N
// workers calling the Reconciler (sample-controller's Run/processNextWorkItem).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../../util/clock.js';
import type { EventHandlers, Informer } from '../../kube/informer.js';
import { objectKey } from '../../kube/keys.js';
import { enqueueMapped, enqueueObject, enqueueOwner, type OwnerType } from './owner-refs.js';
import type { RateLimiter } from '../../util/rate-limiter.js';
import { isConflict, isTerminal, type Reconciler } from './result.js';
import { WorkQueue } from './work-queue.js';

/** A read-only view of an informer's cache, what a reconciler reads (Informer implements it; so does the fake cluster's MapLister). */
export interface Lister<T> {
  get(key: string): T | undefined;
  list(namespace?: string): T[];
}

/** Something the manager starts while leading and stops on shutdown or lost leadership. */
export interface Runnable {
  readonly name: string;
  start(): Promise<void>;
  /** Stops taking work and waits up to `timeoutMs` for work in flight; true if it all finished. */
  stop(timeoutMs?: number): Promise<boolean>;
}

export interface ControllerOptions<T extends KubernetesObject> {
  name: string;
  /**
   * The reconciled kind: its events enqueue its own key; `type` is what `owns` children must be
   * controlled by. `updates` filters update events (e.g. generationChanged, so the controller's own
   * status writes do not wake it); adds, deletes and resyncs always pass.
   */
  for: { informer: Informer<T>; type: OwnerType; updates?: UpdatePredicate<T> };
  /** Child kinds: events enqueue the key of the child's controller ownerReference if it is of the `for` type. */
  owns?: Array<Informer<KubernetesObject>>;
  /** Other kinds: events enqueue the keys `map` returns. */
  watches?: Array<{ informer: Informer<KubernetesObject>; map: (obj: KubernetesObject) => string[] }>;
  reconciler: Reconciler;
  /** Concurrent reconciles (default 2); one key is never reconciled by two workers at once. */
  workers?: number;
  clock: Clock;
  log: Logger;
  /** Retry limiter (default: per-key 5 ms·2ⁿ ≤ 1000 s, max'ed with a 10 qps / 100 burst bucket). */
  rateLimiter?: RateLimiter;
  /** How long start() waits for the informers' first list (default 2 min). */
  cacheSyncTimeoutMs?: number;
  /**
   * Every resyncMs, every cached object of the `for` kind is enqueued again at low priority
   * (default never). The controller's, not the informer's: an informer is shared by every reader
   * in the process, and each controller wants its own period.
   */
  resyncMs?: number;
}

/** Decides whether an update event of the primary kind enqueues its key. */
export type UpdatePredicate<T> = (oldObj: T, newObj: T) => boolean;

/**
 * Passes updates that change metadata.generation (spec changes), deletionTimestamp, finalizers,
 * labels or annotations; drops status-only updates (controller-runtime's GenerationChangedPredicate,
 * widened to what a reconciler of ours reads from metadata).
 */
export function generationChanged(oldObj: KubernetesObject, newObj: KubernetesObject): boolean {
  const a = oldObj.metadata ?? {};
  const b = newObj.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? []) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {})
  );
}

interface Subscription {
  informer: Informer<KubernetesObject>;
  handlers: EventHandlers<KubernetesObject>;
}

export interface ControllerStats {
  reconciles: number;
  errors: number;
  terminalErrors: number;
}

export class Controller<T extends KubernetesObject> implements Runnable {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly log: Logger;
  readonly stats: ControllerStats = { reconciles: 0, errors: 0, terminalErrors: 0 };
  readonly #opts: ControllerOptions<T>;
  readonly #clock: Clock;
  readonly #stopping = new AbortController();
  /** Aborted when the drain deadline passes: tells reconciles still running to give up. */
  readonly #reconcileAbort = new AbortController();
  #unsubscribe: Array<() => void> = [];
  #informers: Array<Informer<KubernetesObject>> = [];
  #workers: Array<Promise<void>> = [];
  #state: 'new' | 'started' | 'stopped' = 'new';
  #nextId = 0;
  #resyncTimer: Timer | undefined;

  constructor(opts: ControllerOptions<T>) {
    this.#opts = opts;
    this.name = opts.name;
    this.#clock = opts.clock;
    this.log = opts.log.child({ controller: opts.name });
    this.queue = new WorkQueue({ clock: opts.clock, rateLimiter: opts.rateLimiter });
  }

  /** Subscribes the handlers, starts the informers, waits for their caches, then starts the workers. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`controller ${this.name} was already started; make a new one`);
    this.#state = 'started';
    const enqueue = (key: string): void => this.queue.add(key);
    const subs: Subscription[] = [
      { informer: this.#opts.for.informer as unknown as Informer<KubernetesObject>, handlers: this.#primaryHandlers(enqueue) },
      ...(this.#opts.owns ?? []).map((informer) => ({ informer, handlers: enqueueOwner(this.#opts.for.type, enqueue) })),
      ...(this.#opts.watches ?? []).map((w) => ({ informer: w.informer, handlers: enqueueMapped(w.map, enqueue) })),
    ];
    for (const s of subs) this.#unsubscribe.push(s.informer.addEventHandler(s.handlers));
    this.#informers = [...new Set(subs.map((s) => s.informer))];
    for (const i of this.#informers) i.start();

    if (!(await this.#waitForCaches())) {
      if (this.#stopping.signal.aborted) return; // stopped while waiting: nothing to run
      throw new Error(`controller ${this.name}: caches did not sync within ${this.#opts.cacheSyncTimeoutMs ?? 120_000} ms`);
    }
    const n = Math.max(1, this.#opts.workers ?? 2);
    this.log.info({ workers: n }, 'caches synced; starting workers');
    for (let i = 0; i < n; i++) this.#workers.push(this.#worker());
    this.#scheduleResync();
  }

  /** Enqueues every primary key at low priority every resyncMs: level-triggered safety net. */
  #scheduleResync(): void {
    const every = this.#opts.resyncMs;
    if (!every || every <= 0 || this.#state !== 'started') return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      for (const key of this.#opts.for.informer.keys()) this.queue.add(key, 'low');
      this.#scheduleResync();
    }, every);
  }

  /**
   * Stops taking work, waits up to `timeoutMs` for reconciles in flight (then aborts their
   * signal), unsubscribes and stops the informers. True if everything in flight finished.
   */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    if (this.#state === 'stopped') return true;
    const wasStarted = this.#state === 'started';
    this.#state = 'stopped';
    this.#stopping.abort();
    if (this.#resyncTimer) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    const inFlight = this.queue.inFlight();
    const drained = await this.queue.shutDownWithDrain(timeoutMs);
    if (drained) await Promise.all(this.#workers);
    else {
      this.#reconcileAbort.abort();
      this.log.warn({ inFlight: this.queue.inFlight(), timeoutMs }, 'reconciles still running at the drain deadline; abandoning them');
    }
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    await Promise.all(this.#informers.map((i) => i.stop()));
    if (wasStarted) this.log.info({ drained, inFlightAtStop: inFlight }, 'controller stopped');
    return drained;
  }

  /**
   * The primary kind's own events. Adds (a new object, or the initial list) and resyncs are low
   * priority: they wait behind the passes of objects already in progress (whose children changed,
   * or whose spec was updated), so a flood of new objects does not hold back the ones nearly done.
   */
  #primaryHandlers(enqueue: (key: string) => void): EventHandlers<KubernetesObject> {
    const h = enqueueObject(objectKey, enqueue);
    const pass = this.#opts.for.updates as UpdatePredicate<KubernetesObject> | undefined;
    const low = (o: KubernetesObject): void => this.queue.add(objectKey(o), 'low');
    return {
      ...h,
      add: low,
      update: (a, b) => {
        if (a === b) low(b); // resync
        else if (!pass || pass(a, b)) h.update?.(a, b);
      },
    };
  }

  async #waitForCaches(): Promise<boolean> {
    const timeoutMs = this.#opts.cacheSyncTimeoutMs ?? 120_000;
    const deadline = new AbortController();
    const onStop = (): void => deadline.abort();
    this.#stopping.signal.addEventListener('abort', onStop, { once: true });
    const timer: Timer = this.#clock.setTimeout(() => deadline.abort(), timeoutMs);
    try {
      const synced = await Promise.all(this.#informers.map((i) => i.waitForSync(deadline.signal)));
      return synced.every(Boolean);
    } finally {
      this.#clock.clearTimeout(timer);
      this.#stopping.signal.removeEventListener('abort', onStop);
    }
  }

  async #worker(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const log = this.log.child({ key, reconcileId: ++this.#nextId });
    const started = this.#clock.now();
    this.stats.reconciles++;
    try {
      const res = await this.#opts.reconciler.reconcile(key, { log, signal: this.#reconcileAbort.signal });
      this.queue.forget(key);
      const after = res?.requeueAfter;
      if (after !== undefined && after > 0) this.queue.addAfter(key, after);
      log.debug({ durationMs: this.#clock.now() - started, requeueAfter: after }, 'reconciled');
    } catch (err) {
      if (isTerminal(err)) {
        this.stats.terminalErrors++;
        this.queue.forget(key);
        log.error({ err }, 'reconcile failed with a terminal error; not retrying');
        return;
      }
      this.stats.errors++;
      this.queue.addRateLimited(key);
      const retries = this.queue.numRequeues(key);
      // A conflict only means our read was stale: retry soon, and don't alarm anyone.
      if (isConflict(err)) log.debug({ err, retries }, 'conflict; retrying');
      else log.error({ err, retries, durationMs: this.#clock.now() - started }, 'reconcile failed; retrying with backoff');
    }
  }
}
