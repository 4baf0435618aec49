// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package:
//
// - acquire: every retryPeriod (jittered) try to take the Lease: create it if absent, or update it
//   (optimistic concurrency on resourceVersion) if it is released or has expired;
// - expiry is judged by the local time at which we last saw the record change, plus its
//   leaseDurationSeconds, never by the holder's timestamps, so clock skew between replicas is
//   harmless;
// - a candidate does not wait out a jittered retryPeriod past the expiry: it tries again the
//   moment the lease it observed expires (or at once when the holder releases it). With a watch
//   on the Lease (LeaseClient.watch, optional) it sees each renewal as it is written instead of
//   at its next poll, so it times the expiry from the holder's last renewal rather than up to
//   2.2 retryPeriods later. Either way the expiry is still measured from when it saw the change,
//   which is never before the write, so the old holder has stepped down by then;
// - renew: every retryPeriod; if no renew succeeds for renewDeadline, or another holder is seen,
//   stop leading (onStoppedLeading) and become a candidate again. The deadline is exact (the
//   renew loop wakes at it), not at the next retry after it: a leader keeping on for up to a
//   retryPeriod past its deadline would overlap a successor when leaseDuration − renewDeadline
//   is shorter than retryPeriod;
// - stop(): keep renewing while onStoppedLeading drains the work, then release the Lease (holder
//   '' and a 1 s duration) so a successor takes over at its next retry instead of waiting out the
//   lease.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { type CoordinationV1Api, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClients } from '../../kube/client.js';
import { Informer } from '../../kube/informer.js';
import { KubeListWatch } from '../../kube/kube-source.js';
import { sleep, type Clock, type Timer } from '../../util/clock.js';
import { isConflict, isNotFound } from './result.js';

/** The fields of LeaseSpec that leader election uses, times in epoch milliseconds. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: number;
  renewTime?: number;
  leaseTransitions?: number;
}

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Get/create/update of one Lease. create() and update() throw on conflict (409). */
export interface LeaseClient {
  readonly description: string;
  /** The Lease, or undefined if it does not exist. */
  get(): Promise<StoredLease | undefined>;
  create(record: LeaseRecord): Promise<StoredLease>;
  /** Replaces the record if the Lease is still at `resourceVersion`. */
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
  /**
   * Optional: calls `onChange` with the Lease each time it changes (undefined once it is deleted),
   * as soon as the server says so, until the returned function is called. A candidate uses it to
   * time the lease's expiry from each renewal as it happens; without it, from its own polls.
   */
  watch?(onChange: (lease: StoredLease | undefined) => void): () => void;
}

/** What KubeLeaseClient needs to watch its Lease (an informer on it alone, by field selector). */
export interface LeaseWatchVia {
  clients: KubeClients;
  clock: Clock;
  log: Logger;
}

/** A Lease in the cluster through CoordinationV1Api. */
export class KubeLeaseClient implements LeaseClient {
  readonly description: string;

  readonly watch?: (onChange: (lease: StoredLease | undefined) => void) => () => void;

  /** `watchVia`: also watch the Lease (list/watch on it by `metadata.name`), see LeaseClient.watch. */
  constructor(
    private readonly api: CoordinationV1Api,
    private readonly namespace: string,
    private readonly name: string,
    watchVia?: LeaseWatchVia,
  ) {
    this.description = `leases/${namespace}/${name}`;
    if (watchVia) this.watch = (onChange) => watchLease(watchVia, namespace, name, onChange);
  }

  async get(): Promise<StoredLease | undefined> {
    try {
      return fromLease(await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(record: LeaseRecord): Promise<StoredLease> {
    const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace }, spec: toSpec(record) };
    return fromLease(await this.api.createNamespacedLease({ namespace: this.namespace, body }));
  }

  async update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, resourceVersion },
      spec: toSpec(record),
    };
    return fromLease(await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }));
  }
}

/** An informer on one Lease (restarts and relists on its own after failures); stops when the returned function is called. */
function watchLease(via: LeaseWatchVia, namespace: string, name: string, onChange: (lease: StoredLease | undefined) => void): () => void {
  const source = new KubeListWatch<V1Lease>(via.clients, { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace, fieldSelector: `metadata.name=${name}` });
  const informer = new Informer<V1Lease>(source, { clock: via.clock, log: via.log });
  const unsubscribe = informer.addEventHandler({
    add: (l) => onChange(fromLease(l)),
    update: (_old, l) => onChange(fromLease(l)),
    delete: () => onChange(undefined),
  });
  informer.start();
  return () => {
    unsubscribe();
    void informer.stop();
  };
}

function toSpec(r: LeaseRecord): V1Lease['spec'] {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    // MicroTime must be sent with 6 fractional digits; V1MicroTime.toISOString does that.
    acquireTime: r.acquireTime === undefined ? undefined : new V1MicroTime(r.acquireTime),
    renewTime: r.renewTime === undefined ? undefined : new V1MicroTime(r.renewTime),
    leaseTransitions: r.leaseTransitions,
  };
}

/** client-node types MicroTime as a Date but, not knowing the type, hands back the JSON string. */
function toMillis(t: unknown): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(String(t));
  return Number.isNaN(ms) ? undefined : ms;
}

function fromLease(l: V1Lease): StoredLease {
  const s = l.spec ?? {};
  return {
    resourceVersion: l.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: s.holderIdentity ?? undefined,
      leaseDurationSeconds: s.leaseDurationSeconds ?? undefined,
      acquireTime: toMillis(s.acquireTime),
      renewTime: toMillis(s.renewTime),
      leaseTransitions: s.leaseTransitions ?? undefined,
    },
  };
}

/** A unique identity for this process: hostname (the pod name in a cluster) plus a random suffix. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID().slice(0, 8)}`;
}

export interface LeaderElectionTimings {
  /** How long a non-renewed lease stays valid for others (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it steps down (default 10 s). */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts (default 2 s). */
  retryPeriodMs?: number;
}

export interface LeaderElectorOptions extends LeaderElectionTimings {
  client: LeaseClient;
  identity: string;
  clock: Clock;
  log: Logger;
  /** Called (not awaited) on becoming leader: start work here, without blocking. */
  onStartedLeading?: () => void;
  /**
   * Awaited on leaving leadership. 'stopped' (stop() was called): the lease is still held and
   * renewed until it returns. 'lost': the lease is no longer ours, and a successor may lead in
   * `successorMayLeadInMs` (0 if one already does): stop writing by then.
   */
  onStoppedLeading?: (why: StoppedLeading) => Promise<void> | void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?: (identity: string) => void;
  random?: () => number;
}

export type StoppedLeading = { reason: 'stopped' } | { reason: 'lost'; successorMayLeadInMs: number };

type Attempt = 'ok' | 'held' | 'error';
type RenewEnd = { end: 'stopped' } | { end: 'lost'; successorFrom: number };
const JITTER_FACTOR = 1.2;

export class LeaderElector {
  readonly identity: string;
  readonly #o: Required<Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>> & LeaderElectorOptions;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #leading = false;
  #observed: StoredLease | undefined;
  #observedRaw = '';
  #observedAt = 0;
  #lastHolder: string | undefined;
  #running: Promise<void> | undefined;
  /** Ends the candidate's current wait early (set while it waits). */
  #wake: (() => void) | undefined;

  constructor(opts: LeaderElectorOptions) {
    const o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
    if (!opts.identity) throw new Error('leader election needs a non-empty identity');
    if (o.leaseDurationMs <= o.renewDeadlineMs) throw new RangeError('leaseDuration must be greater than renewDeadline');
    if (o.renewDeadlineMs <= JITTER_FACTOR * o.retryPeriodMs) throw new RangeError(`renewDeadline must be greater than ${JITTER_FACTOR} × retryPeriod`);
    if (o.retryPeriodMs <= 0) throw new RangeError('retryPeriod must be positive');
    this.#o = o;
    this.identity = opts.identity;
    this.#log = opts.log.child({ lease: opts.client.description, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder seen in the Lease at the last attempt ('' when released). */
  get observedLeader(): string | undefined {
    return this.#observed?.record.holderIdentity;
  }

  /** Runs until stop(). Returns the same promise if called twice. */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  /** Stops competing: if leading, awaits onStoppedLeading (still renewing), then releases the Lease. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const stopped = this.#stop.signal;
    while (!stopped.aborted) {
      const acquiredAt = await this.#acquire();
      if (acquiredAt === undefined) return;
      if (stopped.aborted) {
        await this.#release();
        return;
      }
      this.#leading = true;
      this.#log.info('became leader');
      this.#safely('onStartedLeading', () => this.#o.onStartedLeading?.());

      const renewing = new AbortController();
      const renewal = this.#renewLoop(acquiredAt, renewing.signal);
      const outcome = await Promise.race([renewal, untilAborted(stopped).then(() => 'stop' as const)]);
      if (outcome === 'stop') {
        // Hold the lease while the work drains, so no successor runs beside our last reconciles.
        await this.#callStopped({ reason: 'stopped' });
        renewing.abort();
        const last = await renewal;
        this.#leading = false;
        if (last.end !== 'lost') await this.#release();
        return;
      }
      this.#leading = false;
      const successorMayLeadInMs = Math.max(0, outcome.end === 'lost' ? outcome.successorFrom - this.#o.clock.now() : 0);
      this.#log.warn({ successorMayLeadInMs }, 'leadership lost; stopping work and competing again');
      await this.#callStopped({ reason: 'lost', successorMayLeadInMs });
    }
  }

  /** Tries until it holds the lease (returns when the winning attempt began) or stop() is called. */
  async #acquire(): Promise<number | undefined> {
    const stopped = this.#stop.signal;
    this.#log.debug('trying to acquire the lease');
    const unwatch = this.#o.client.watch?.((l) => this.#watched(l));
    try {
      while (!stopped.aborted) {
        const startedAt = this.#o.clock.now();
        const r = await this.#tryAcquireOrRenew(this.#o.renewDeadlineMs, stopped);
        if (r === 'ok') return startedAt;
        await this.#waitToRetry(r, stopped);
      }
      return undefined;
    } finally {
      unwatch?.();
    }
  }

  /**
   * After a failed attempt: waits the jittered retryPeriod, but no longer than until the lease
   * it saw held expires (or, told by the watch, is released or deleted). After an error the
   * lease it saw may be stale, so only the retry period counts until the watch says more.
   */
  async #waitToRetry(last: Attempt, stopped: AbortSignal): Promise<void> {
    const clock = this.#o.clock;
    const retryAt = clock.now() + this.#o.retryPeriodMs * (1 + JITTER_FACTOR * (this.#o.random ?? Math.random)());
    let byLease = last === 'held';
    while (!stopped.aborted) {
      const at = byLease ? Math.min(retryAt, this.#freeAt()) : retryAt;
      const wait = at - clock.now();
      if (wait <= 0) return;
      const wake = new AbortController();
      const onStop = (): void => wake.abort();
      stopped.addEventListener('abort', onStop, { once: true });
      this.#wake = () => wake.abort();
      const slept = await sleep(clock, wait, wake.signal);
      this.#wake = undefined;
      stopped.removeEventListener('abort', onStop);
      if (slept) return;
      byLease = true; // woken by the watch: what it saw is current
    }
  }

  /** When the observed lease may be taken: its expiry if another holds it, else now. */
  #freeAt(): number {
    const rec = this.#observed?.record;
    const now = this.#o.clock.now();
    if (!rec?.holderIdentity || rec.holderIdentity === this.identity) return now;
    return this.#observedAt + (rec.leaseDurationSeconds ?? 0) * 1000;
  }

  /** A change the watch reported while we compete: observe it and let the waiting attempt recompute. */
  #watched(l: StoredLease | undefined): void {
    if (this.#leading) return;
    if (l) this.#observe(l, this.#o.clock.now());
    else {
      this.#observed = undefined;
      this.#observedRaw = '';
    }
    this.#wake?.();
  }

  /**
   * Renews every retryPeriod; ends 'lost' when it cannot (with the earliest time a successor may
   * lead), 'stopped' when `signal` aborts.
   */
  async #renewLoop(acquiredAt: number, signal: AbortSignal): Promise<RenewEnd> {
    const clock = this.#o.clock;
    let lastRenew = acquiredAt;
    while (!signal.aborted) {
      // Never sleep past the deadline: stepping down up to a retryPeriod late would overlap a
      // successor whenever leaseDuration − renewDeadline < retryPeriod (client-go bounds its
      // renew retries by a renewDeadline context the same way).
      const deadline = lastRenew + this.#o.renewDeadlineMs;
      if (!(await sleep(clock, Math.min(this.#o.retryPeriodMs, Math.max(0, deadline - clock.now())), signal))) break;
      const startedAt = clock.now();
      const left = deadline - startedAt;
      const r = left > 0 ? await this.#tryAcquireOrRenew(left, signal) : 'error';
      if (r === 'ok') {
        // Counted from when the attempt began: the write cannot be older than that, so others
        // (who wait leaseDuration from when they saw it) cannot take over before we step down.
        lastRenew = startedAt;
        continue;
      }
      if (r === 'held') {
        this.#log.warn({ holder: this.observedLeader }, 'another holder has the lease');
        return { end: 'lost', successorFrom: clock.now() };
      }
      if (clock.now() - lastRenew >= this.#o.renewDeadlineMs) {
        this.#log.error({ renewDeadlineMs: this.#o.renewDeadlineMs }, 'could not renew the lease within the renew deadline');
        return { end: 'lost', successorFrom: lastRenew + this.#o.leaseDurationMs };
      }
    }
    return { end: 'stopped' };
  }

  /** One get + create/update, bounded by `timeoutMs` and abandoned if `signal` aborts. */
  #tryAcquireOrRenew(timeoutMs: number, signal: AbortSignal): Promise<Attempt> {
    return this.#bounded(this.#attempt(), timeoutMs, signal);
  }

  /** `p`, or 'error' when `timeoutMs` passes or `signal` aborts first. */
  async #bounded<A extends string>(p: Promise<A | 'error'>, timeoutMs: number, signal: AbortSignal): Promise<A | 'error'> {
    let timer: Timer | undefined;
    let onAbort: (() => void) | undefined;
    const cutoff = new Promise<'error'>((resolve) => {
      timer = this.#o.clock.setTimeout(() => {
        this.#log.warn({ timeoutMs }, 'lease request timed out');
        resolve('error');
      }, timeoutMs);
      onAbort = () => resolve('error');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([p, cutoff]);
    } finally {
      if (timer) this.#o.clock.clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async #attempt(): Promise<Attempt> {
    const { client, clock, identity } = this.#o;
    const durationS = Math.max(1, Math.ceil(this.#o.leaseDurationMs / 1000));
    try {
      const cur = await client.get();
      const now = clock.now();
      if (!cur) {
        const rec: LeaseRecord = { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: now, renewTime: now, leaseTransitions: 0 };
        this.#observe(await client.create(rec), clock.now());
        return 'ok';
      }
      this.#observe(cur, now);
      const holder = cur.record.holderIdentity;
      const mine = holder === identity;
      if (holder && !mine && this.#validAt(now)) return 'held';
      const rec: LeaseRecord = {
        holderIdentity: identity,
        leaseDurationSeconds: durationS,
        acquireTime: mine ? (cur.record.acquireTime ?? now) : now,
        renewTime: now,
        leaseTransitions: (cur.record.leaseTransitions ?? 0) + (mine ? 0 : 1),
      };
      this.#observe(await client.update(rec, cur.resourceVersion), clock.now());
      return 'ok';
    } catch (err) {
      if (isConflict(err)) this.#log.debug({ err }, 'lease changed under us (conflict)');
      else this.#log.warn({ err }, 'lease request failed');
      return 'error';
    }
  }

  #observe(l: StoredLease, now: number): void {
    const raw = JSON.stringify(l.record);
    if (raw !== this.#observedRaw) {
      this.#observedRaw = raw;
      this.#observedAt = now;
    }
    this.#observed = l;
    const holder = l.record.holderIdentity ?? '';
    if (holder !== this.#lastHolder) {
      this.#lastHolder = holder;
      if (holder) {
        this.#log.info({ holder }, 'new leader observed');
        this.#safely('onNewLeader', () => this.#o.onNewLeader?.(holder));
      }
    }
  }

  /** The observed lease is still valid at `now` (measured from when we saw it change). */
  #validAt(now: number): boolean {
    const d = (this.#observed?.record.leaseDurationSeconds ?? 0) * 1000;
    return this.#observedAt + d > now;
  }

  /**
   * Gives the lease up if we still hold it. Reads it fresh first: a renewal abandoned at stop()
   * may still land and move the resourceVersion, so a conflict is retried (a few times, each
   * bounded) rather than taken as final.
   */
  async #release(): Promise<void> {
    if (this.#observed?.record.holderIdentity !== this.identity) return;
    const never = new AbortController().signal;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await this.#bounded(this.#releaseOnce(), this.#o.renewDeadlineMs, never);
      if (r === 'ok') return this.#log.info('released the lease');
      if (r === 'not-ours') return;
      if (r !== 'conflict') break;
    }
    this.#log.warn('could not release the lease; successors will wait for it to expire');
  }

  async #releaseOnce(): Promise<'ok' | 'not-ours' | 'conflict' | 'error'> {
    try {
      const cur = await this.#o.client.get();
      if (!cur || cur.record.holderIdentity !== this.identity) return 'not-ours';
      const now = this.#o.clock.now();
      const rec: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: cur.record.leaseTransitions };
      this.#observe(await this.#o.client.update(rec, cur.resourceVersion), now);
      return 'ok';
    } catch (err) {
      if (isConflict(err)) return 'conflict';
      this.#log.warn({ err }, 'releasing the lease failed');
      return 'error';
    }
  }

  async #callStopped(why: StoppedLeading): Promise<void> {
    try {
      await this.#o.onStoppedLeading?.(why);
    } catch (err) {
      this.#log.error({ err }, 'onStoppedLeading failed');
    }
  }

  #safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, `${what} failed`);
    }
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
