// Pure: who uses a pool — environments connected (or connecting) to it and batch jobs on it — for
// nodePoolStats and for the DELETING rule (a pool in use is not torn down).
import { BATCH_JOB_DONE_STATES } from '../../fleet/node-pools.js';
import type { HearthObject } from '../runtime/writer.js';

type Environment = HearthObject<'Environment'>;
type BatchJob = HearthObject<'BatchJob'>;


export interface PoolUsage {
  environmentCount: number;
  environmentRanks: number;
  batchJobCount: Record<string, number>;
  batchJobRanks: Record<string, number>;
  /** `environment <id>` / `batchJob <id>` of those that keep the pool from being deleted, sorted. */
  users: string[];
}

function connectionOf(env: Environment): { nodePoolId?: string; numRanks?: number } | undefined {
  // Requested (spec, what :connect wrote) or still held (status, until the controller releases it).
  return (env.spec.connection ?? env.status?.connection) as { nodePoolId?: string; numRanks?: number } | undefined;
}

function jobState(job: BatchJob): string {
  if (job.metadata.deletionTimestamp) return 'DELETING';
  const s = job.status?.state;
  return !s || s === 'STATE_UNSPECIFIED' ? 'CREATING' : s;
}

/** The usage of pool `poolId` among one namespace's environments and batch jobs. */
export function poolUsage(poolId: string, envs: readonly Environment[], jobs: readonly BatchJob[]): PoolUsage {
  const u: PoolUsage = { environmentCount: 0, environmentRanks: 0, batchJobCount: {}, batchJobRanks: {}, users: [] };
  for (const env of envs) {
    const c = connectionOf(env);
    if (c?.nodePoolId !== poolId) continue;
    u.environmentCount++;
    u.environmentRanks += c.numRanks ?? 1;
    u.users.push(`environment ${env.metadata.name}`);
  }
  for (const job of jobs) {
    if (job.spec.nodePoolId !== poolId) continue;
    const state = jobState(job);
    const ranks = job.spec.numRanks ?? 1;
    u.batchJobCount[state] = (u.batchJobCount[state] ?? 0) + 1;
    u.batchJobRanks[state] = (u.batchJobRanks[state] ?? 0) + ranks;
    if (!BATCH_JOB_DONE_STATES.has(state)) u.users.push(`batchJob ${job.metadata.name}`);
  }
  u.users.sort();
  return u;
}
