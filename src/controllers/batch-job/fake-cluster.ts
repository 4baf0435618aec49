// Test doubles for the BatchJob reconciler: the runtime's recording fake API with the stores it
// reads (its writes land there), memory bindings and a memory log archive. No cluster, no database.
import type { V1Job, V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { BatchJobStatus } from '../../crds/batch-job.js';
import { API_VERSION, LABELS } from '../../crds/group.js';
import { FakeCluster, type MapLister } from '../runtime/fake-cluster.js';
import type { HearthObject } from '../runtime/writer.js';
import type { Listers } from './reconciler.js';
import type { JobRef, LogArchive, PoolAccess } from './stores.js';

type BatchJob = HearthObject<'BatchJob'>;

export interface ClusterObjects {
  batchJobs?: BatchJob[];
  jobs?: V1Job[];
  pods?: V1Pod[];
  nodePools?: HearthObject<'NodePool'>[];
  environments?: HearthObject<'Environment'>[];
  namespaces?: V1Namespace[];
}

export class BatchJobCluster extends FakeCluster {
  readonly listers: Listers & {
    batchJobs: MapLister<BatchJob>;
    jobs: MapLister<V1Job>;
    pods: MapLister<V1Pod>;
    nodePools: MapLister<HearthObject<'NodePool'>>;
    environments: MapLister<HearthObject<'Environment'>>;
    namespaces: MapLister<V1Namespace>;
  };

  constructor(objs: ClusterObjects) {
    super();
    this.listers = {
      batchJobs: this.store({ apiVersion: API_VERSION, kind: 'BatchJob' }, objs.batchJobs),
      jobs: this.store({ apiVersion: 'batch/v1', kind: 'Job' }, objs.jobs),
      pods: this.store({ apiVersion: 'v1', kind: 'Pod' }, objs.pods),
      nodePools: this.store({ apiVersion: API_VERSION, kind: 'NodePool' }, objs.nodePools),
      environments: this.store({ apiVersion: API_VERSION, kind: 'Environment' }, objs.environments),
      namespaces: this.store({ apiVersion: 'v1', kind: 'Namespace' }, objs.namespaces),
    };
  }

  status(key: string): BatchJobStatus | undefined {
    return this.listers.batchJobs.get(key)?.status;
  }

  edit(key: string, fn: (j: BatchJob) => void): void {
    this.editObject(this.listers.batchJobs, key, fn);
  }
}

export function namespace(name: string, account: string): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LABELS.account]: account } } };
}

/** Bindings in memory: `account/pool/email`, or `account/*\/email` for every pool; admins by e-mail. */
export class MemoryPoolAccess implements PoolAccess {
  readonly bindings = new Set<string>();
  readonly admins = new Set<string>();
  async mayUse(account: string, poolId: string, email: string): Promise<boolean> {
    return this.admins.has(email) || this.bindings.has(`${account}/${poolId}/${email}`) || this.bindings.has(`${account}/*/${email}`);
  }
  async roleOf(_account: string, email: string): Promise<string | undefined> {
    return this.admins.has(email) ? 'admin' : 'user';
  }
}

/** The archive in memory; `output` is what each pod printed (pod name → text). */
export class MemoryLogArchive implements LogArchive {
  readonly ranks = new Map<string, Map<number, string>>();
  readonly output = new Map<string, string>();
  readonly reads: string[] = [];

  async archived(jobUid: string): Promise<Set<number>> {
    return new Set(this.ranks.get(jobUid)?.keys() ?? []);
  }
  async archive(job: JobRef, rank: number, pod: string): Promise<boolean> {
    this.reads.push(`${job.name}/${rank} ${pod}`);
    const m = this.ranks.get(job.uid) ?? new Map<number, string>();
    if (!m.has(rank)) m.set(rank, this.output.get(pod) ?? '');
    this.ranks.set(job.uid, m);
    return true;
  }
  readonly dropped: string[] = [];
  async dropJob(key: string): Promise<void> {
    this.dropped.push(key);
    this.ranks.delete(`uid-${key.split('/')[1]}`);
  }
}
