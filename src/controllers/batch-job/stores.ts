// What the BatchJob reconciler reads and writes outside the cluster: who may use a node pool
// (users and bindings in PostgreSQL) and where a finished rank's output goes (PostgreSQL, read
// through the API server's pod log endpoint). Interfaces, so the reconciler's tests use memory.
import { getUserByEmail } from '../../db/repositories/accounts.js';
import { archiveRank, archivedRanks, deleteLogsOfJobKey } from '../../db/repositories/batch-job-logs.js';
import { isBoundToNodePool } from '../../db/repositories/node-pool-bindings.js';
import type { Db } from '../../db/client.js';
import { parseTimestampedLines, type PodLogReader } from '../../kube/pod-logs.js';
import type { Clock } from '../../util/clock.js';
import { isNotFound } from '../runtime/result.js';

export interface PoolAccess {
  /** May the user with this e-mail run jobs on the pool? Admins may; others need a binding. */
  mayUse(account: string, poolId: string, email: string): Promise<boolean>;
  /** The user's role in the account (`admin`, `user`), or undefined when the e-mail is not a user of it. */
  roleOf(account: string, email: string): Promise<string | undefined>;
}

export class DbPoolAccess implements PoolAccess {
  constructor(private readonly db: Db) {}
  async mayUse(account: string, poolId: string, email: string): Promise<boolean> {
    if ((await this.roleOf(account, email)) === 'admin') return true;
    return isBoundToNodePool(this.db, account, poolId, email);
  }
  async roleOf(account: string, email: string): Promise<string | undefined> {
    return (await getUserByEmail(this.db, account, email))?.role;
  }
}

/** The job a rank belongs to, as the archive names it. */
export interface JobRef {
  account: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface LogArchive {
  /** The ranks of the job already archived. */
  archived(jobUid: string): Promise<Set<number>>;
  /** Copies the pod's output into the archive as the rank's lines; false when the pod is gone. */
  archive(job: JobRef, rank: number, pod: string, container: string): Promise<boolean>;
  /** Drops the archived output of the job `namespace/name` (it was deleted). */
  dropJob(key: string): Promise<void>;
}

export class DbLogArchive implements LogArchive {
  constructor(
    private readonly db: Db,
    private readonly pods: PodLogReader,
    private readonly clock: Clock,
  ) {}

  archived(jobUid: string): Promise<Set<number>> {
    return archivedRanks(this.db, jobUid);
  }

  async archive(job: JobRef, rank: number, pod: string, container: string): Promise<boolean> {
    let text: string;
    try {
      text = await this.pods.read(job.namespace, pod, container);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
    const now = this.clock.now();
    const lines = parseTimestampedLines(text, now * 1000);
    await archiveRank(this.db, { jobUid: job.uid, rank, accountId: job.account, jobKey: `${job.namespace}/${job.name}`, lines, now: new Date(now) });
    return true;
  }

  dropJob(key: string): Promise<void> {
    return deleteLogsOfJobKey(this.db, key);
  }
}
