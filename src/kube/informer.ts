// An informer: list, then watch from the list's resourceVersion, keeping a cache and calling
// handlers. Unlike client-node's ListWatch (which stops for good on any error other than 410),
// it restarts after every failure with capped, jittered backoff, relists after 410 Gone, reports
// hasSynced(), and gives update handlers the old object too.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sleep, type Clock, type Timer } from '../util/clock.js';
import { objectKey } from './keys.js';
import { Backoff } from '../util/rate-limiter.js';

export interface ListResult<T> {
  items: T[];
  /** The list's resourceVersion: the watch starts from it. */
  resourceVersion: string;
}

export interface WatchHandle {
  abort(): void;
}

/** Where an informer gets its objects: a Kubernetes collection, or a fake in tests. */
export interface ListWatchSource<T extends KubernetesObject> {
  /** For logs, e.g. `/api/v1/configmaps?labelSelector=a%3Db`. */
  readonly description: string;
  /**
   * Lists the collection, each item passed through `project` as its page arrives (the informer's
   * transform), so a long list's raw pages are not all held at once: at a relist of 1,000 pods
   * the raw objects were several times the projected ones.
   */
  list(project: (raw: T) => T): Promise<ListResult<T>>;
  /**
   * Starts a watch from `resourceVersion`. `onEvent` gets each event (type ADDED, MODIFIED,
   * DELETED, BOOKMARK or ERROR with a Status object); `onDone` is called once when the watch ends,
   * with null for a normal close. May call onDone before it resolves.
   */
  watch(resourceVersion: string, onEvent: (type: string, obj: unknown) => void, onDone: (err: unknown) => void): Promise<WatchHandle>;
}

/** A delete the informer inferred from a relist: the object's last state may be stale. */
export class DeletedFinalStateUnknown<T> {
  constructor(
    readonly key: string,
    readonly obj: T,
  ) {}
}

export interface EventHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

/** The object of a delete event, tombstone or not. */
export function unwrapTombstone<T>(obj: T | DeletedFinalStateUnknown<T>): T {
  return obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
}

/** An ERROR event of a watch, as an error carrying the Status code. */
export class WatchStatusError extends Error {
  constructor(
    readonly code: number | undefined,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'WatchStatusError';
  }
}

/** 410 Gone, however it arrived: ApiException.code, Watch's statusCode, or a watch ERROR event. */
export function isGone(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; statusCode?: unknown };
  return e.code === 410 || e.statusCode === 410;
}

export interface InformerOptions<T extends KubernetesObject = KubernetesObject> {
  clock: Clock;
  log: Logger;
  /** Restart delay after a failure: initial·2ⁿ capped at max, plus up to 50% jitter. */
  backoff?: { initialMs?: number; maxMs?: number; jitter?: number };
  /** If set, every resyncMs all cached objects are passed to update handlers (old === new). */
  resyncMs?: number;
  /** A watch that ends cleanly sooner than this with no event counts as a failure (default 1 s). */
  minHealthyWatchMs?: number;
  /** A list that takes longer than this is abandoned and retried after backoff (default 60 s). */
  listTimeoutMs?: number;
  random?: () => number;
  /**
   * Applied to every object as it arrives (list items and watch events, deletes included), before
   * it is cached or handed to a handler: drop what no reader needs (controller-runtime's
   * cache TransformFunc / DefaultTransform). It must keep metadata.name, namespace and
   * resourceVersion, and must not return the object it was given mutated in a way that matters to
   * anyone else holding it (the source's objects are not shared, so mutating them is fine).
   */
  transform?: (obj: T) => T;
}

/**
 * Drops metadata.managedFields (server-side apply bookkeeping): often the largest part of an
 * object, and read by no controller of ours (controller-runtime's TransformStripManagedFields).
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

type WatchOutcome = 'stopped' | 'healthy' | 'unhealthy';

export class Informer<T extends KubernetesObject> {
  readonly #source: ListWatchSource<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #opts: InformerOptions<T>;
  readonly #transform: (obj: T) => T;
  readonly #cache = new Map<string, T>();
  readonly #handlers = new Set<EventHandlers<T>>();
  #syncWaiters: Array<() => void> = [];
  #synced = false;
  #rv = '';
  #refs = 0;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #resyncTimer: Timer | undefined;

  constructor(source: ListWatchSource<T>, opts: InformerOptions<T>) {
    this.#source = source;
    this.#clock = opts.clock;
    this.#opts = opts;
    this.#transform = opts.transform ?? ((o) => o);
    this.#log = opts.log.child({ informer: source.description });
  }

  get description(): string {
    return this.#source.description;
  }

  /** The cached object with this key (`namespace/name`, or `name` if cluster-scoped). */
  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** The resourceVersion the informer has seen up to ('' before the first list). */
  get resourceVersion(): string {
    return this.#rv;
  }

  /** True once the first list since start() has been applied to the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves true once synced, or false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== onSync);
        resolve(false);
      };
      const onSync = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.#syncWaiters.push(onSync);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Registers handlers; returns a function that removes them. If the cache is already synced, the
   * handler's add is called for every cached object first (as client-go does), so a late
   * subscriber sees the same world as an early one.
   */
  addEventHandler(h: EventHandlers<T>): () => void {
    this.#handlers.add(h);
    if (this.#synced && h.add) for (const o of this.#cache.values()) this.#call(() => h.add?.(o));
    return () => this.#handlers.delete(h);
  }

  /** Starts the list/watch loop. Reference-counted: each start() needs a stop(). */
  start(): void {
    if (this.#refs++ > 0) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal);
    this.#scheduleResync();
  }

  /**
   * Stops the loop when the last starter stops; resolves once it has ended. The cache is emptied:
   * whoever subscribes and starts it next must get an add for every object from the relist, not
   * silence for objects that did not change meanwhile.
   */
  async stop(): Promise<void> {
    if (this.#refs === 0 || --this.#refs > 0) return;
    const abort = this.#abort;
    const loop = this.#loop;
    abort?.abort();
    if (this.#resyncTimer) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    await loop;
    if (this.#refs > 0) return; // started again meanwhile: the new loop owns the state
    this.#synced = false;
    this.#rv = '';
    this.#cache.clear();
  }

  get running(): boolean {
    return this.#refs > 0;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(
      { initialMs: this.#opts.backoff?.initialMs ?? 1000, maxMs: this.#opts.backoff?.maxMs ?? 30_000, jitter: this.#opts.backoff?.jitter ?? 0.5 },
      this.#opts.random,
    );
    let goneInARow = 0;
    while (!signal.aborted) {
      let outcome: WatchOutcome;
      try {
        if (!this.#rv) await this.#relist(signal);
        if (signal.aborted) break;
        outcome = await this.#watch(signal);
        goneInARow = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          // Our resourceVersion is too old for the server's watch cache: relist, at once the
          // first time (the normal case), with backoff if the server keeps saying so.
          this.#rv = '';
          this.#log.info('resourceVersion expired (410 Gone); relisting');
          if (goneInARow++ === 0) continue;
        }
        const delay = backoff.next();
        this.#log.warn({ err, attempt: backoff.attempts, retryInMs: delay }, 'list/watch failed; restarting after backoff');
        await sleep(this.#clock, delay, signal);
        continue;
      }
      if (outcome === 'healthy') backoff.reset();
      else if (outcome === 'unhealthy') {
        const delay = backoff.next();
        this.#log.debug({ retryInMs: delay }, 'watch closed at once; re-watching after backoff');
        await sleep(this.#clock, delay, signal);
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const list = await this.#bounded(this.#source.list(this.#transform), signal);
    if (!list) return; // stopped
    const fresh = new Map<string, T>();
    for (const o of list.items) fresh.set(objectKey(o), o);
    for (const [key, old] of this.#cache) {
      if (fresh.has(key)) continue;
      this.#cache.delete(key);
      const tomb = new DeletedFinalStateUnknown(key, old);
      this.#emit((h) => h.delete?.(tomb));
    }
    for (const [key, obj] of fresh) this.#upsert(key, obj);
    this.#rv = list.resourceVersion;
    this.#log.debug({ objects: fresh.size, resourceVersion: this.#rv }, 'listed');
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * `p`, unless `signal` aborts first (undefined: stop() must not wait for a hung request) or the
   * list timeout passes (an error, so the loop backs off and retries).
   */
  #bounded<R>(p: Promise<R>, signal: AbortSignal): Promise<R | undefined> {
    const timeoutMs = this.#opts.listTimeoutMs ?? 60_000;
    return new Promise<R | undefined>((resolve, reject) => {
      const onAbort = (): void => settle(() => resolve(undefined));
      const timer = this.#clock.setTimeout(() => settle(() => reject(new Error(`list did not answer within ${timeoutMs} ms`))), timeoutMs);
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.#clock.clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => settle(() => resolve(v)),
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  #watch(signal: AbortSignal): Promise<WatchOutcome> {
    const startedAt = this.#clock.now();
    let events = 0;
    let finished = false;
    let handle: WatchHandle | undefined;
    return new Promise<WatchOutcome>((resolve, reject) => {
      const finish = (fn: () => void): void => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = (): void => finish(() => {
        handle?.abort();
        resolve('stopped');
      });
      const onEvent = (type: string, obj: unknown): void => {
        if (finished) return;
        events++;
        if (type !== 'ERROR') return this.#applyEvent(type, obj as T);
        // The server ends the stream after an ERROR event; don't depend on it.
        finish(() => {
          handle?.abort();
          reject(toStatusError(obj));
        });
      };
      const onDone = (err: unknown): void => finish(() => {
        if (signal.aborted) return resolve('stopped');
        if (err) return reject(err);
        const healthy = events > 0 || this.#clock.now() - startedAt >= (this.#opts.minHealthyWatchMs ?? 1000);
        resolve(healthy ? 'healthy' : 'unhealthy');
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.#source.watch(this.#rv, onEvent, onDone).then(
        (h) => {
          handle = h;
          if (finished) h.abort();
        },
        (err: unknown) => finish(() => reject(err)),
      );
    });
  }

  #applyEvent(type: string, raw: T): void {
    const rv = raw.metadata?.resourceVersion;
    if (type === 'ADDED' || type === 'MODIFIED') {
      const obj = this.#transform(raw);
      this.#upsert(objectKey(obj), obj);
    } else if (type === 'DELETED') {
      const obj = this.#transform(raw);
      const key = objectKey(obj);
      if (this.#cache.delete(key)) this.#emit((h) => h.delete?.(obj));
    } else if (type !== 'BOOKMARK') {
      this.#log.debug({ type }, 'ignoring unknown watch event type');
      return;
    }
    if (rv) this.#rv = rv;
  }

  #upsert(key: string, obj: T): void {
    const old = this.#cache.get(key);
    if (old && old.metadata?.resourceVersion && old.metadata.resourceVersion === obj.metadata?.resourceVersion) return;
    this.#cache.set(key, obj);
    if (old) this.#emit((h) => h.update?.(old, obj));
    else this.#emit((h) => h.add?.(obj));
  }

  #scheduleResync(): void {
    const every = this.#opts.resyncMs;
    if (!every || every <= 0) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      if (this.#synced) for (const o of this.#cache.values()) this.#emit((h) => h.update?.(o, o));
      this.#scheduleResync();
    }, every);
  }

  #emit(fn: (h: EventHandlers<T>) => void): void {
    for (const h of [...this.#handlers]) this.#call(() => fn(h));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, 'event handler threw');
    }
  }
}

function toStatusError(obj: unknown): WatchStatusError {
  const s = (obj ?? {}) as { code?: number; reason?: string; message?: string };
  return new WatchStatusError(s.code, s.reason, `watch error ${s.code ?? '?'} ${s.reason ?? ''}: ${s.message ?? ''}`.trim());
}
