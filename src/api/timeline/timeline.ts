// One deployment's autoscaling timeline (issue 17 item 7, a Hearth extension of the REST API):
// desired and ready replicas, in flight, requests/s and tokens/s over a window, the scaling
// decisions with their reasons, and the cold starts (a scale from zero until the first ready
// replica). Points come from Hearth's own history (db/repositories/history.ts, written by the
// controller's recorder) or, when HEARTH_PROMETHEUS_URL is set, from Prometheus (load and ready
// endpoints; desired replicas stay Hearth's own, Prometheus has no series for them). Decisions are
// the recorded ones plus those still in the deployment's status (nothing lost before a record).
import type { Db } from '../../db/client.js';
import { readEvents, readSamples, type EventEntry, type TimelinePoint } from '../../db/repositories/history.js';
import type { PrometheusReader } from './prometheus.js';

export const WINDOWS = { '15m': 900, '1h': 3600, '6h': 6 * 3600, '1d': 24 * 3600 } as const;
export type TimelineWindow = keyof typeof WINDOWS;

/** ≈ 240 points a window (1 h at 15 s, 1 d at 6 min), never finer than the samples (default 10 s). */
export function stepOf(window: TimelineWindow, sampleIntervalSeconds = 10): number {
  return Math.max(sampleIntervalSeconds, WINDOWS[window] / 240);
}

export type DecisionKind = 'SCALE_UP' | 'SCALE_DOWN' | 'SCALE_TO_ZERO' | 'SCALE_FROM_ZERO' | 'UNCHANGED';

export interface TimelineDecision {
  time: string;
  fromReplicas: number;
  toReplicas: number;
  reason: string;
  message: string;
  kind: DecisionKind;
}

export interface ColdStart {
  /** The scale-from-zero decision. */
  startTime: string;
  /** The first point after it with a ready replica; absent while still starting (or unseen). */
  readyTime?: string;
  seconds?: number;
}

export interface Timeline {
  source: 'HEARTH' | 'PROMETHEUS';
  startTime: string;
  endTime: string;
  stepSeconds: number;
  points: { time: string; desiredReplicas: number; readyReplicas: number; inFlight: number; requestsPerSecond: number; tokensPerSecond: number }[];
  decisions: TimelineDecision[];
  coldStarts: ColdStart[];
}

export function kindOf(from: number, to: number): DecisionKind {
  if (to === from) return 'UNCHANGED';
  if (to === 0) return 'SCALE_TO_ZERO';
  if (from === 0) return 'SCALE_FROM_ZERO';
  return to > from ? 'SCALE_UP' : 'SCALE_DOWN';
}

/** Recorded and status decisions, one per (time, reason), oldest first, within [from, to]. */
export function mergeDecisions(recorded: readonly EventEntry[], status: readonly { time: string; fromReplicas: number; toReplicas: number; reason: string; message?: string | undefined }[], from: Date, to: Date): TimelineDecision[] {
  const byKey = new Map<string, TimelineDecision>();
  const add = (time: Date, d: { fromReplicas: number; toReplicas: number; reason: string; message?: string | undefined }): void => {
    if (Number.isNaN(time.getTime()) || time < from || time > to) return;
    const key = `${time.getTime()}/${d.reason}`;
    if (!byKey.has(key)) byKey.set(key, { time: time.toISOString(), fromReplicas: d.fromReplicas, toReplicas: d.toReplicas, reason: d.reason, message: d.message ?? '', kind: kindOf(d.fromReplicas, d.toReplicas) });
  };
  for (const e of recorded) add(e.time, e);
  for (const s of status) add(new Date(s.time), s);
  return [...byKey.values()].sort((a, b) => a.time.localeCompare(b.time));
}

/** Each scale from zero, with the first later point that has a ready replica (before the next decision). */
export function coldStartsOf(decisions: readonly TimelineDecision[], points: readonly { time: string; readyReplicas: number }[]): ColdStart[] {
  const out: ColdStart[] = [];
  decisions.forEach((d, i) => {
    if (d.kind !== 'SCALE_FROM_ZERO') return;
    const until = decisions[i + 1]?.time;
    const ready = points.find((p) => p.time >= d.time && (until === undefined || p.time <= until) && p.readyReplicas > 0);
    out.push(ready ? { startTime: d.time, readyTime: ready.time, seconds: Math.max(0, (Date.parse(ready.time) - Date.parse(d.time)) / 1000) } : { startTime: d.time });
  });
  return out;
}

export interface TimelineQuery {
  accountId: string;
  deployment: string;
  namespace: string;
  window: TimelineWindow;
  now: Date;
  statusDecisions: readonly { time: string; fromReplicas: number; toReplicas: number; reason: string; message?: string | undefined }[];
}

export interface TimelineSources {
  db: Db;
  prometheus?: PrometheusReader;
  sampleIntervalSeconds?: number;
}

const iso = (p: TimelinePoint) => ({ ...p, time: p.time.toISOString() });

export async function buildTimeline(src: TimelineSources, q: TimelineQuery): Promise<Timeline> {
  const step = stepOf(q.window, src.sampleIntervalSeconds);
  const to = q.now;
  const from = new Date(to.getTime() - WINDOWS[q.window] * 1000);
  const range = { accountId: q.accountId, deployment: q.deployment, from, to };
  const own = (await readSamples(src.db, { ...range, bucketSeconds: step })).map(iso);
  let points = own;
  if (src.prometheus) {
    // Load and ready endpoints from Prometheus; desired replicas from Hearth's samples at the same step.
    const desired = new Map(own.map((p) => [Math.floor(Date.parse(p.time) / 1000 / step), p.desiredReplicas]));
    const prom = await src.prometheus.deploymentSeries({ namespace: q.namespace, deployment: q.deployment, from, to, stepSeconds: step });
    points = prom.map((p) => ({ ...p, desiredReplicas: desired.get(Math.floor(Date.parse(p.time) / 1000 / step)) ?? 0 }));
  }
  const decisions = mergeDecisions(await readEvents(src.db, range), q.statusDecisions, from, to);
  // Cold starts at the samples' own resolution (a plot step of minutes would hide a 10 s start).
  const firstStart = decisions.find((d) => d.kind === 'SCALE_FROM_ZERO')?.time;
  const fine = firstStart ? (await readSamples(src.db, { ...range, from: new Date(firstStart), bucketSeconds: src.sampleIntervalSeconds ?? 10 })).map(iso) : [];
  return {
    source: src.prometheus ? 'PROMETHEUS' : 'HEARTH',
    startTime: from.toISOString(),
    endTime: to.toISOString(),
    stepSeconds: step,
    points,
    decisions,
    coldStarts: coldStartsOf(decisions, fine),
  };
}
