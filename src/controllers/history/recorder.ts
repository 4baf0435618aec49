// The deployment history recorder (issue 17 item 8): every sample interval, one row per deployment
// with its desired and ready replicas and the load the autoscaler sees (in flight, requests/s,
// tokens/s), and the scaling decisions of `status.scalingDecisions` (which keeps only the last 10)
// into PostgreSQL, so the console's timeline has a day of history without Prometheus.
//
// Downsampling: raw rows (resolution = the sample interval) older than `rawFor` (default 2 h) are
// rolled up into 1-minute buckets; everything older than `retention` (default 7 d) is dropped.
// Both run every `compactEvery` (default 10 min). Writes are idempotent, so two controller
// replicas recording the same deployment for a moment (a leader hand-over) double nothing.
//
// Pure parts (samplesAt, eventsOf) are tested on their own; the loop only reads the clock,
// calls them and writes.
import type { Logger } from 'pino';
import type { Deployment } from '../../crds/deployment.js';
import type { Db } from '../../db/client.js';
import { pruneHistory, recordEvents, recordSamples, rollUpSamples, type EventEntry, type SampleEntry } from '../../db/repositories/history.js';
import type { Clock, Timer } from '../../util/clock.js';

/** The load of one deployment now (the autoscaler's LoadSource, structurally; no import of it). */
export interface LoadReader {
  sample(namespace: string, deployment: string, now: number): { inFlight: number; requestsPerSecond: number; tokensPerSecond: number } | undefined;
}

export interface HistorySettings {
  /** Seconds between samples (default 10). */
  sampleIntervalSeconds: number;
  /** Raw samples are kept this long, then rolled up into `rollUpSeconds` buckets (default 2 h). */
  rawForMs: number;
  rollUpSeconds: number;
  /** Everything older is dropped (default 7 days). */
  retentionMs: number;
  compactEveryMs: number;
}

export const DEFAULT_HISTORY_SETTINGS: HistorySettings = {
  sampleIntervalSeconds: 10,
  rawForMs: 2 * 3600_000,
  rollUpSeconds: 60,
  retentionMs: 7 * 24 * 3600_000,
  compactEveryMs: 10 * 60_000,
};

export interface HistorySources {
  /** The deployments to record (the controller's informer cache). */
  deployments: () => readonly Deployment[];
  /** The account of a namespace (its `hearth.dev/account` label), or none: not recorded. */
  accountOf: (namespace: string) => string | undefined;
  load?: LoadReader;
}

const SOFT_DELETED = new Set(['DELETED']);

/** One sample row per deployment of an account, at `now` rounded down to the interval. */
export function samplesAt(src: HistorySources, now: number, intervalSeconds: number): SampleEntry[] {
  const time = new Date(Math.floor(now / (intervalSeconds * 1000)) * intervalSeconds * 1000);
  return src.deployments().flatMap((dep) => {
    const row = sampleOf(src, dep, now);
    return row ? [{ ...row, resolutionSeconds: intervalSeconds, time }] : [];
  });
}

/** Soft-deleted deployments and those the controller never reached are not sampled. */
const isRecorded = (status: Deployment['status']): status is NonNullable<Deployment['status']> => status !== undefined && !SOFT_DELETED.has(status.state);

const NO_LOAD = { inFlight: 0, requestsPerSecond: 0, tokensPerSecond: 0 };

/** A deployment's figures now; none for one outside an account or soft-deleted. */
function sampleOf(src: HistorySources, dep: Deployment, now: number): Omit<SampleEntry, 'resolutionSeconds' | 'time'> | undefined {
  const { namespace = '', name = '' } = dep.metadata;
  const accountId = src.accountOf(namespace);
  const status = dep.status;
  if (!accountId || !isRecorded(status)) return undefined;
  const { inFlight, requestsPerSecond, tokensPerSecond } = src.load?.sample(namespace, name, now) ?? NO_LOAD;
  const desiredReplicas = status.desiredReplicaCount ?? 0;
  const readyReplicas = status.replicaStats?.readyReplicaCount ?? 0;
  return { accountId, deployment: name, desiredReplicas, readyReplicas, inFlight, requestsPerSecond, tokensPerSecond };
}

/** The scaling decisions in a deployment's status, as event rows. */
export function eventsOf(dep: Deployment, accountId: string): EventEntry[] {
  const name = dep.metadata.name ?? '';
  return (dep.status?.scalingDecisions ?? []).flatMap((d) => {
    const time = new Date(d.time);
    if (Number.isNaN(time.getTime())) return [];
    return [{ accountId, deployment: name, time, fromReplicas: d.fromReplicas, toReplicas: d.toReplicas, reason: d.reason, message: d.message ?? '' }];
  });
}

export interface HistoryRecorderOptions {
  db: Db;
  clock: Clock;
  sources: HistorySources;
  settings?: Partial<HistorySettings>;
  log?: Logger;
}

export class HistoryRecorder {
  readonly #o: HistoryRecorderOptions;
  readonly #s: HistorySettings;
  #timer: Timer | undefined;
  #lastCompact = -Infinity;
  /** Per deployment, the newest decision time already written (skips rewriting the same 10). */
  readonly #written = new Map<string, number>();
  #running: Promise<void> | undefined;

  constructor(opts: HistoryRecorderOptions) {
    this.#o = opts;
    this.#s = { ...DEFAULT_HISTORY_SETTINGS, ...opts.settings };
  }

  get settings(): HistorySettings {
    return this.#s;
  }

  /** One round: samples, new decisions, and the roll-up and prune when due. */
  async recordOnce(now = this.#o.clock.now()): Promise<void> {
    const { sources, db } = this.#o;
    await recordSamples(db, samplesAt(sources, now, this.#s.sampleIntervalSeconds));
    const events: EventEntry[] = [];
    for (const dep of sources.deployments()) {
      const accountId = sources.accountOf(dep.metadata.namespace ?? '');
      if (!accountId) continue;
      const key = `${dep.metadata.namespace}/${dep.metadata.name}`;
      const fresh = eventsOf(dep, accountId).filter((e) => e.time.getTime() > (this.#written.get(key) ?? -Infinity));
      if (fresh.length === 0) continue;
      events.push(...fresh);
      this.#written.set(key, Math.max(...fresh.map((e) => e.time.getTime())));
    }
    if (events.length > 0) await recordEvents(db, events);
    if (now - this.#lastCompact >= this.#s.compactEveryMs) {
      this.#lastCompact = now;
      await rollUpSamples(db, { from: this.#s.sampleIntervalSeconds, to: this.#s.rollUpSeconds, before: new Date(now - this.#s.rawForMs) });
      await pruneHistory(db, new Date(now - this.#s.retentionMs));
    }
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const every = this.#s.sampleIntervalSeconds * 1000;
    const loop = (): void => {
      this.#running = this.recordOnce()
        .catch((err: unknown) => this.#o.log?.warn({ err }, 'deployment history: recording failed; next round retries'))
        .finally(() => {
          this.#running = undefined;
          if (this.#timer !== undefined) this.#timer = this.#o.clock.setTimeout(loop, every);
        });
    };
    this.#timer = this.#o.clock.setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
