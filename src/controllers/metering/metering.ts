// The metering runnable: GPU-seconds of Hearth's model-server pods, from Ready to gone, into the
// PostgreSQL usage ledger (ARCHITECTURE §2) per account, deployment, region and accelerator type.
//
// Each pod (replica = pod UID) accrues Ready spans from its Ready condition's lastTransitionTime.
// Every flush writes the closed aligned intervals (whole minutes by default) since the replica's
// cursor, and a gone pod's last partial interval. The ledger key (replica, aligned start) makes a
// retry, a restart, a new leader or a second writer a no-op (`recordUsage`). A replica's cursor
// starts where the ledger's last interval for it ends, so a restart neither loses the time accrued
// while it was down nor records it twice. A replica's account is pinned: the account its earlier
// rows are under, else its namespace's label when first written; a label that later changes or
// disappears neither moves its usage nor drops it. See README.md for what can still be lost.
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { accountOfNamespace } from '../../crds/account.js';
import { LABELS } from '../../crds/group.js';
import { SFT_LABELS } from '../../crds/sft-trainer.js';
import type { Db } from '../../db/client.js';
import { lastIntervalsOf, recordUsage, type UsageEntry } from '../../db/repositories/usage.js';
import { ACCELERATOR_LABEL, REGION_LABEL } from '../../fleet/catalog.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { Runnable } from '../runtime/controller.js';
import { unwrapTombstone, type DeletedFinalStateUnknown, type Informer } from '../../kube/informer.js';
import type { InformerFactory } from '../../kube/informer-factory.js';
import { gpuNodesInformer, isHearths, namespacesInformer, podsInformer } from '../runtime/projections.js';
import { podGpus } from '../../fleet/gpus.js';
import { alignDown, readiness, splitIntoIntervals, type Span } from './accrual.js';

const LABEL_DEPLOYMENT = LABELS.deployment;
const LABEL_POD_REGION = LABELS.podRegion;
const LABEL_POD_ACCELERATOR = LABELS.acceleratorType;
/** Recorded when a dimension cannot be found (no label on the pod, node gone). */
export const UNKNOWN = 'UNKNOWN';

/** The collections metering reads, from the process's shared cache (the Deployment controller reads them too). */
export function meteringInformers(informers: InformerFactory): { pods: Informer<V1Pod>; nodes: Informer<V1Node>; namespaces: Informer<V1Namespace> } {
  return { pods: podsInformer(informers), nodes: gpuNodesInformer(informers), namespaces: namespacesInformer(informers) };
}

export interface MeteringOptions {
  /**
   * The process's shared informer cache: every pod (metering keeps Hearth's model-server pods, by
   * their managed-by label), GPU nodes and namespaces, one watch each shared with the Deployment
   * controller.
   */
  informers: InformerFactory;
  db: Db;
  clock: Clock;
  log: Logger;
  /** How often closed intervals are written (default 60 s). */
  flushIntervalMs?: number;
  /** Ledger interval length; rows are keyed by its aligned start (default 60 s). */
  intervalMs?: number;
  /** How long start() waits for the first lists (default 2 min). */
  cacheSyncTimeoutMs?: number;
}

export interface MeteringStats {
  flushes: number;
  failedFlushes: number;
  /** Ledger rows that were new. */
  rowsRecorded: number;
  /**
   * Rows of accounts the database does not know (no account row: the ledger cannot hold them), and
   * of pods gone without ever belonging to an account (their namespace never had the label).
   */
  rowsDropped: number;
}

interface Replica {
  uid: string;
  pod: V1Pod;
  /**
   * The account billed, pinned once known: the account of the replica's rows already in the ledger,
   * else its namespace's `hearth.dev/account` label at its first write. Undefined: not known yet
   * (a namespace without the label): its usage waits, it is neither written nor dropped.
   */
  account: string | undefined;
  /** Ready spans not yet (fully) recorded, in order, not overlapping. */
  spans: Span[];
  /** The ledger holds this replica's usage before this time (aligned); undefined: nothing yet. */
  cursor: number | undefined;
  /** The cursor has been read from the ledger. */
  loaded: boolean;
  /** Ready=False at first sight: since when (to resume a replica that stopped while we were down). */
  notReadyAtFirstSight: number | undefined;
  goneAt: number | undefined;
}

/** A Runnable for the controller Manager: `manager.add(() => meteringRunnable({...}))`. */
export function meteringRunnable(o: MeteringOptions): Metering {
  return new Metering(o);
}

export class Metering implements Runnable {
  readonly name = 'metering';
  readonly stats: MeteringStats = { flushes: 0, failedFlushes: 0, rowsRecorded: 0, rowsDropped: 0 };
  readonly #o: MeteringOptions;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #pods: Informer<V1Pod>;
  readonly #nodes: Informer<V1Node>;
  readonly #namespaces: Informer<V1Namespace>;
  readonly #replicas = new Map<string, Replica>();
  readonly #warnedAccounts = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #timer: Timer | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #state: 'new' | 'running' | 'stopped' = 'new';
  /** Ends start()'s wait for the caches when stop() comes first. */
  readonly #syncAbort = new AbortController();

  constructor(o: MeteringOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'metering' });
    this.#intervalMs = o.intervalMs ?? 60_000;
    if (!(this.#intervalMs > 0)) throw new Error('intervalMs must be positive');
    const { pods, nodes, namespaces } = meteringInformers(o.informers);
    this.#pods = pods;
    this.#nodes = nodes;
    this.#namespaces = namespaces;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('metering runnable already started');
    this.#state = 'running';
    // The pods informer holds every pod of the cluster; only Hearth's model servers are metered.
    this.#unsubscribe = this.#pods.addEventHandler({
      add: (p) => {
        if (isHearths(p)) this.#observe(p);
      },
      update: (_, p) => {
        if (isHearths(p)) this.#observe(p);
      },
      delete: (p: V1Pod | DeletedFinalStateUnknown<V1Pod>) => {
        const pod = unwrapTombstone(p);
        if (isHearths(pod)) this.#gone(pod);
      },
    });
    const informers = [this.#pods, this.#nodes, this.#namespaces];
    for (const i of informers) i.start();
    const abort = this.#syncAbort;
    const timeoutMs = this.#o.cacheSyncTimeoutMs ?? 120_000;
    const timer = this.#o.clock.setTimeout(() => abort.abort(), timeoutMs);
    const synced = await Promise.all(informers.map((i) => i.waitForSync(abort.signal)));
    this.#o.clock.clearTimeout(timer);
    if (this.#state !== 'running') return;
    if (!synced.every(Boolean)) throw new Error(`metering: caches did not sync within ${timeoutMs} ms`);
    this.#log.info({ pods: this.#replicas.size }, 'metering started');
    this.#schedule();
  }

  /** Stops flushing on a timer, writes what is closed (bounded by timeoutMs), stops the informers. */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    if (this.#state === 'stopped') return true;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    this.#syncAbort.abort();
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    let flushed = true;
    if (wasRunning) {
      let t: Timer | undefined;
      const timeout = new Promise<boolean>((resolve) => (t = this.#o.clock.setTimeout(() => resolve(false), timeoutMs)));
      flushed = await Promise.race([this.flush().then(() => true), timeout]);
      if (t) this.#o.clock.clearTimeout(t);
    }
    this.#unsubscribe?.();
    await Promise.all([this.#pods, this.#nodes, this.#namespaces].map((i) => i.stop()));
    this.#log.info({ flushed, ...this.stats }, 'metering stopped');
    return flushed;
  }

  /**
   * Writes every closed interval (and gone pods' last partial one) not yet in the ledger. Flushes
   * run one at a time; a failure is logged and retried by the next flush (nothing is lost).
   */
  flush(): Promise<void> {
    const next = this.#flushing.then(() => this.#flushOnce());
    this.#flushing = next.catch(() => {});
    return this.#flushing;
  }

  /** Replicas tracked now (tests, debugging). */
  tracked(): number {
    return this.#replicas.size;
  }

  /** True while this replica (pod UID) has usage not yet final in the ledger. */
  isTracking(uid: string): boolean {
    return this.#replicas.has(uid);
  }

  #schedule(): void {
    if (this.#state !== 'running') return;
    const every = this.#o.flushIntervalMs ?? 60_000;
    this.#timer = this.#o.clock.setTimeout(() => {
      void this.flush().finally(() => this.#schedule());
    }, every);
  }

  #observe(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const now = this.#o.clock.now();
    const { ready, since } = readiness(pod);
    let r = this.#replicas.get(uid);
    if (!r) {
      r = { uid, pod, account: undefined, spans: [], cursor: undefined, loaded: false, notReadyAtFirstSight: undefined, goneAt: undefined };
      if (!ready) r.notReadyAtFirstSight = Math.min(since ?? now, now);
      this.#replicas.set(uid, r);
    }
    if (r.goneAt !== undefined) return;
    r.pod = pod;
    const last = r.spans.at(-1);
    const open = last !== undefined && last.end === undefined;
    if (ready && !open) {
      // Ready since the condition's transition, never before what was already accounted.
      const floor = last?.end ?? -Infinity;
      r.spans.push({ start: Math.min(Math.max(since ?? now, floor), now) });
    } else if (!ready && open) {
      last.end = Math.min(Math.max(since ?? now, last.start), now);
    }
  }

  #gone(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    this.#observe(pod);
    const r = this.#replicas.get(uid);
    if (!r || r.goneAt !== undefined) return;
    const now = this.#o.clock.now();
    r.goneAt = now;
    const last = r.spans.at(-1);
    if (last && last.end === undefined) last.end = Math.max(now, last.start);
  }

  /** The namespace's account now (its label), or undefined. */
  #labelAccount(pod: V1Pod): string | undefined {
    return accountOfNamespace(this.#namespaces.get(pod.metadata?.namespace ?? ''));
  }

  #dimensions(pod: V1Pod): Pick<UsageEntry, 'deployment' | 'region' | 'acceleratorType'> {
    const labels = pod.metadata?.labels ?? {};
    const nodeLabels = pod.spec?.nodeName ? (this.#nodes.get(pod.spec.nodeName)?.metadata?.labels ?? {}) : {};
    return {
      // A serving replica's Deployment; a training pod is billed to its SFT job (`sftJob/<name>`).
      deployment: labels[LABEL_DEPLOYMENT] || (labels[SFT_LABELS.job] ? `sftJob/${labels[SFT_LABELS.job]}` : UNKNOWN),
      // Where the pod runs is the node's word; Hearth's pod labels say the same (required affinity).
      region: nodeLabels[REGION_LABEL] || labels[LABEL_POD_REGION] || UNKNOWN,
      acceleratorType: nodeLabels[ACCELERATOR_LABEL] || labels[LABEL_POD_ACCELERATOR] || UNKNOWN,
    };
  }

  /**
   * Reads, once per replica, where the ledger has it: its last interval (the cursor) and the account
   * its rows are under (pinned). The lookup is by replica alone, so a namespace label that changed
   * since (or went away) neither hides the replica's rows nor starts it over under another account.
   */
  async #load(): Promise<void> {
    const pending = [...this.#replicas.values()].filter((r) => !r.loaded);
    if (pending.length === 0) return;
    const last = await lastIntervalsOf(
      this.#o.db,
      pending.map((r) => r.uid),
    );
    for (const r of pending) {
      const l = last.get(r.uid);
      r.loaded = true;
      if (!l) continue;
      r.account = l.accountId;
      const cursor = alignDown(l.intervalStart.getTime(), this.#intervalMs) + this.#intervalMs;
      r.cursor = Math.max(r.cursor ?? -Infinity, cursor);
      // Ready at the end of its last recorded interval, and first seen here not Ready: it was
      // Ready until its Ready condition turned False (while no meter was running).
      const readyAtCursor = l.intervalEnd.getTime() >= cursor;
      const until = r.notReadyAtFirstSight;
      if (readyAtCursor && until !== undefined && until > cursor) {
        r.spans.unshift({ start: cursor, end: Math.min(until, r.spans[0]?.start ?? until) });
      }
    }
  }

  async #flushOnce(): Promise<void> {
    this.stats.flushes++;
    try {
      await this.#load();
      const boundary = alignDown(this.#o.clock.now(), this.#intervalMs);
      const byAccount = new Map<string, { entries: UsageEntry[]; done: Array<{ r: Replica; limit: number }> }>();
      for (const r of this.#replicas.values()) {
        if (!r.loaded) continue;
        r.account ??= this.#labelAccount(r.pod);
        const account = r.account;
        const limit = r.goneAt ?? boundary;
        if (account === undefined) {
          // No account yet (an unlabelled namespace): keep the time until one is known; a pod gone
          // without ever having one bills nobody.
          if (r.goneAt !== undefined) this.#dropUnowned(r);
          continue;
        }
        const dims = this.#dimensions(r.pod);
        const gpus = podGpus(r.pod);
        const from = r.cursor ?? -Infinity;
        const entries =
          gpus === 0 || limit <= from
            ? []
            : splitIntoIntervals(r.spans, from, limit, this.#intervalMs).map(
                (u): UsageEntry => ({
                  ...dims,
                  accountId: account,
                  replica: r.uid,
                  intervalStart: new Date(u.start),
                  intervalEnd: new Date(u.end),
                  acceleratorCount: gpus,
                  gpuSeconds: (u.readyMs / 1000) * gpus,
                }),
              );
        const g = byAccount.get(account) ?? { entries: [], done: [] };
        g.entries.push(...entries);
        g.done.push({ r, limit });
        byAccount.set(account, g);
      }
      for (const [account, g] of byAccount) {
        if (g.entries.length > 0) {
          try {
            this.stats.rowsRecorded += await recordUsage(this.#o.db, g.entries);
          } catch (err) {
            if (!isForeignKeyViolation(err)) throw err;
            this.stats.rowsDropped += g.entries.length;
            if (!this.#warnedAccounts.has(account)) {
              this.#warnedAccounts.add(account);
              this.#log.warn({ account }, 'usage of an account the database does not know is not recorded');
            }
          }
        }
        for (const { r, limit } of g.done) this.#advance(r, limit);
      }
    } catch (err) {
      this.stats.failedFlushes++;
      this.#log.error({ err }, 'metering flush failed; retrying at the next flush');
    }
  }

  /** A pod gone while its namespace had no account: nothing can hold its usage. */
  #dropUnowned(r: Replica): void {
    const gpus = podGpus(r.pod);
    const from = r.cursor ?? -Infinity;
    const limit = r.goneAt ?? from;
    const rows = gpus === 0 || limit <= from ? 0 : splitIntoIntervals(r.spans, from, limit, this.#intervalMs).length;
    this.stats.rowsDropped += rows;
    if (rows > 0) this.#log.warn({ namespace: r.pod.metadata?.namespace, pod: r.pod.metadata?.name }, 'usage of a pod whose namespace never belonged to an account is not recorded');
    this.#replicas.delete(r.uid);
  }

  /** The ledger now holds the replica's usage up to `limit`: forget what is before it. */
  #advance(r: Replica, limit: number): void {
    if (r.goneAt !== undefined) {
      this.#replicas.delete(r.uid);
      return;
    }
    if (r.cursor === undefined || limit > r.cursor) r.cursor = limit;
    r.spans = r.spans.filter((s) => s.end === undefined || s.end > limit);
  }
}

function isForeignKeyViolation(err: unknown): boolean {
  for (let e: unknown = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23503') return true;
  }
  return false;
}
