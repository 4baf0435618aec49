// A pod's output through the API server's pod log endpoint (`pods/log`, what `kubectl logs`
// reads), with the runtime's timestamps, parsed into lines. The BatchJob controller archives a
// finished rank from here; the REST facade serves a running rank from here.
import { CoreV1Api } from '@kubernetes/client-node';
import { LABELS } from '../crds/group.js';
import type { KubeClients } from './client.js';

export interface PodLogReader {
  /** The container's whole output, each line prefixed with its RFC 3339 timestamp (`timestamps=true`). */
  read(namespace: string, pod: string, container: string): Promise<string>;
}

/** A pod of a batch job's Job and the rank it runs. */
export interface RankPod {
  pod: string;
  rank: number;
}

/** What the REST facade reads of a running batch job: its rank pods, and their output. */
export interface JobPodLogs extends PodLogReader {
  /** The live pods of the job named `batchJob` (by the label the controller puts on them). */
  rankPods(namespace: string, batchJob: string): Promise<RankPod[]>;
}

/** The container every rank runs in (the BatchJob controller names it so). */
export const RANK_CONTAINER = 'rank';
/** The annotation the Job controller puts on each pod of an Indexed Job. */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

export class KubePodLogs implements JobPodLogs {
  readonly #core: CoreV1Api;
  constructor(clients: Pick<KubeClients, 'api'>) {
    this.#core = clients.api(CoreV1Api);
  }
  async read(namespace: string, pod: string, container: string): Promise<string> {
    return (await this.#core.readNamespacedPodLog({ name: pod, namespace, container, timestamps: true })) ?? '';
  }
  async rankPods(namespace: string, batchJob: string): Promise<RankPod[]> {
    const list = await this.#core.listNamespacedPod({ namespace, labelSelector: `${LABELS.batchJob}=${batchJob}` });
    const out: RankPod[] = [];
    for (const p of list.items) {
      const idx = p.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
      if (!p.metadata?.name || idx === undefined || !/^\d+$/.test(idx) || p.metadata.deletionTimestamp) continue;
      // A pod not started yet has no output to read.
      if (p.status?.phase === 'Pending') continue;
      out.push({ pod: p.metadata.name, rank: Number(idx) });
    }
    return out;
  }
}

export interface LogLine {
  /** Microseconds since the epoch. */
  timeMicros: number;
  message: string;
}

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2}) ?/;

/** Microseconds of an RFC 3339 time (fraction kept to the microsecond), or undefined. */
export function rfc3339Micros(s: string): number | undefined {
  const m = STAMP.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return ms * 1000 + Number(frac);
}

/**
 * Lines of `timestamps=true` output. A line without a timestamp (a runtime that does not give one)
 * takes the previous line's time, or `fallbackMicros`. The trailing newline is not a line.
 */
export function parseTimestampedLines(text: string, fallbackMicros: number): LogLine[] {
  const out: LogLine[] = [];
  let last = fallbackMicros;
  const rows = text.split('\n');
  if (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  for (const row of rows) {
    const m = STAMP.exec(row);
    const t = m ? rfc3339Micros(row) : undefined;
    if (m && t !== undefined) {
      last = t;
      out.push({ timeMicros: t, message: row.slice(m[0].length) });
    } else {
      out.push({ timeMicros: last, message: row });
    }
  }
  return out;
}

/** RFC 3339 with microseconds, UTC. */
export function microsToRfc3339(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // …SS.mmmZ
  return `${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
}
