// Events about reconciled objects, best effort and de-duplicated (client-go's EventCorrelator, in
// small): the same event about the same object (type, reason and message) within `windowMs` of the
// first is not created again — the first one's count and lastTimestamp are bumped instead, so
// `kubectl describe` shows "x3 over 2m" rather than three rows, and a flapping object cannot flood
// the namespace with Events. An event that cannot be recorded is logged, never thrown: it must not
// fail (and so repeat) the pass that emitted it.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.js';
import type { ObjectEvent, ObjectWriter } from './writer.js';

/** client-go's default aggregation window is 10 minutes. */
export const DEFAULT_EVENT_WINDOW_MS = 10 * 60_000;
/** Series remembered at most; the oldest are forgotten first (a bound on memory, not a correctness limit). */
const MAX_SERIES = 4096;

interface Series {
  firstAt: number;
  count: number;
  name?: string;
}

export interface EventRecorderOptions {
  /** Where events go: the writer's `event` (looked up at each call, so tests may replace it). */
  sink: Pick<ObjectWriter, 'event'>;
  clock: Clock;
  log?: Logger;
  windowMs?: number;
}

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #windowMs: number;
  /** Insertion order is age order: the first entries are the oldest. */
  readonly #series = new Map<string, Series>();

  constructor(o: EventRecorderOptions) {
    this.#o = o;
    this.#windowMs = o.windowMs ?? DEFAULT_EVENT_WINDOW_MS;
  }

  /**
   * Records `e` about `obj`, or bumps the count of the same event recorded within the window. A
   * failure is logged to `log` (default: the recorder's), e.g. the reconcile's own logger.
   */
  async record(obj: KubernetesObject, e: ObjectEvent, log: Logger | undefined = this.#o.log): Promise<void> {
    const now = this.#o.clock.now();
    this.#expire(now);
    const key = seriesKey(obj, e);
    const s = this.#series.get(key);
    const series: Series = s ? { ...s, count: s.count + 1 } : { firstAt: now, count: 1 };
    this.#series.set(key, series); // an existing key keeps its place: the map stays in order of firstAt
    try {
      const name = await this.#o.sink.event(obj, e, { count: series.count, ...(series.name ? { name: series.name } : {}) });
      if (typeof name === 'string') series.name = name;
    } catch (err) {
      // Not recorded: the next occurrence is the first again.
      if (this.#series.get(key) === series) {
        if (s) this.#series.set(key, s);
        else this.#series.delete(key);
      }
      log?.warn({ err, event: e.reason }, 'could not record an event');
    }
  }

  /** How many series are remembered (tests). */
  get size(): number {
    return this.#series.size;
  }

  #expire(now: number): void {
    for (const [key, s] of this.#series) {
      if (now - s.firstAt < this.#windowMs && this.#series.size <= MAX_SERIES) break;
      this.#series.delete(key);
    }
  }
}

function seriesKey(obj: KubernetesObject, e: ObjectEvent): string {
  const m = obj.metadata ?? {};
  return JSON.stringify([obj.apiVersion, obj.kind, m.namespace ?? '', m.name ?? '', m.uid ?? '', e.type, e.reason, e.message]);
}
