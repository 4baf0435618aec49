// `:getLogs` of a batch job: each rank's lines from PostgreSQL once the rank is archived (the
// controller copies a finished rank's output there), else from its pod through the API server's
// pod log endpoint while the pod exists. One order for both: (time, rank, line number), oldest
// first with startFromHead, newest first without; a page token is the last line's position.
import { archivedRanks, pageArchivedLines, type ArchivedLine, type LineCursor } from '../../db/repositories/batch-job-logs.js';
import type { Db } from '../../db/client.js';
import { RANK_CONTAINER, microsToRfc3339, parseTimestampedLines, type JobPodLogs } from '../../kube/pod-logs.js';

export interface LogsRequest {
  namespace: string;
  /** The BatchJob's object name and uid. */
  name: string;
  uid: string;
  ranks: number[];
  /** The job's ranks (when `ranks` is empty, all of them are asked for). */
  numRanks: number;
  contains?: string;
  sinceMicros?: number;
  headFirst: boolean;
  after?: LineCursor;
  pageSize: number;
}

export interface LogsPage {
  entries: Array<{ logTime: string; message: string; rank: number }>;
  /** Position of the last line returned (undefined when the page is empty). */
  last?: LineCursor;
}

const key = (l: ArchivedLine): LineCursor => [l.timeMicros, l.rank, l.seq];

function compare(a: LineCursor, b: LineCursor): number {
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** A page of the job's lines, archived and live together. */
export async function readJobLogs(db: Db, pods: JobPodLogs | undefined, q: LogsRequest): Promise<LogsPage> {
  const archived = await archivedRanks(db, q.uid);
  const wanted = (r: number) => q.ranks.length === 0 || q.ranks.includes(r);
  const fromDb = archived.size === 0 ? [] : await pageArchivedLines(db, { jobUid: q.uid, ranks: q.ranks, ...(q.contains ? { contains: q.contains } : {}), ...(q.sinceMicros !== undefined ? { sinceMicros: q.sinceMicros } : {}), headFirst: q.headFirst, ...(q.after ? { after: q.after } : {}), limit: q.pageSize });
  // Every rank asked for archived: no pod to ask (and no call to the API server).
  const allArchived = (q.ranks.length > 0 ? q.ranks : Array.from({ length: q.numRanks }, (_, i) => i)).every((r) => archived.has(r));
  const live = pods && !allArchived ? await liveLines(pods, q, (r) => wanted(r) && !archived.has(r)) : [];
  const dir = q.headFirst ? 1 : -1;
  const all = [...fromDb, ...live].sort((a, b) => dir * compare(key(a), key(b))).slice(0, q.pageSize);
  const last = all[all.length - 1];
  return {
    entries: all.map((l) => ({ logTime: microsToRfc3339(l.timeMicros), message: l.message, rank: l.rank })),
    ...(last ? { last: key(last) } : {}),
  };
}

/** Lines of the ranks still in their pods, filtered as the archived ones are. */
async function liveLines(pods: JobPodLogs, q: LogsRequest, include: (rank: number) => boolean): Promise<ArchivedLine[]> {
  const out: ArchivedLine[] = [];
  for (const p of await pods.rankPods(q.namespace, q.name)) {
    if (!include(p.rank)) continue;
    let text: string;
    try {
      text = await pods.read(q.namespace, p.pod, RANK_CONTAINER);
    } catch (e) {
      // The pod went between the list and the read: its rank is archived by now, or had nothing.
      if ((e as { code?: number }).code === 404) continue;
      throw e;
    }
    parseTimestampedLines(text, 0).forEach((l, seq) => {
      const line = { rank: p.rank, seq, timeMicros: l.timeMicros, message: l.message };
      if (q.contains && !l.message.includes(q.contains)) return;
      if (q.sinceMicros !== undefined && l.timeMicros < q.sinceMicros) return;
      if (q.after && (q.headFirst ? compare(key(line), q.after) <= 0 : compare(key(line), q.after) >= 0)) return;
      out.push(line);
    });
  }
  return out;
}
