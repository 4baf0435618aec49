// A pod's output through the API server's pod log endpoint (`pods/log`, what `kubectl logs`
// reads), with the runtime's timestamps, parsed into lines. The BatchJob controller archives a
// finished rank from here; the REST facade serves a running rank from here.
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';

export interface PodLogReader {
  /** The container's whole output, each line prefixed with its RFC 3339 timestamp (`timestamps=true`). */
  read(namespace: string, pod: string, container: string): Promise<string>;
}

export class KubePodLogs implements PodLogReader {
  readonly #core: CoreV1Api;
  constructor(clients: Pick<KubeClients, 'api'>) {
    this.#core = clients.api(CoreV1Api);
  }
  async read(namespace: string, pod: string, container: string): Promise<string> {
    return (await this.#core.readNamespacedPodLog({ name: pod, namespace, container, timestamps: true })) ?? '';
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
