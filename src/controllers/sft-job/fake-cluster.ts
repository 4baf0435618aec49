// Test double for the SFTJob reconciler: the runtime's recording fake API with the stores the
// controller reads (its writes land there, read back as the informer caches).
import type { V1Job, V1Namespace, V1Node, V1Pod, V1Secret } from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/group.js';
import type { SFTJobStatus } from '../../crds/sft-job.js';
import { FakeCluster, type MapLister } from '../runtime/fake-cluster.js';
import type { HearthObject } from '../runtime/writer.js';
import type { Listers } from './reconciler.js';

type Job = HearthObject<'SFTJob'>;

export class SFTJobCluster extends FakeCluster {
  readonly #secrets: MapLister<V1Secret>;
  readonly listers: Listers & { sftJobs: MapLister<Job>; jobs: MapLister<V1Job>; namespaces: MapLister<V1Namespace>; pods: MapLister<V1Pod>; nodes: MapLister<V1Node> };

  constructor(objs: { sftJobs?: Job[]; jobs?: V1Job[]; namespaces?: V1Namespace[]; pods?: V1Pod[]; nodes?: V1Node[] }) {
    super();
    this.listers = {
      sftJobs: this.store({ apiVersion: API_VERSION, kind: 'SFTJob' }, objs.sftJobs),
      jobs: this.store({ apiVersion: 'batch/v1', kind: 'Job' }, objs.jobs),
      namespaces: this.store({ apiVersion: 'v1', kind: 'Namespace' }, objs.namespaces),
      pods: this.store({ apiVersion: 'v1', kind: 'Pod' }, objs.pods),
      nodes: this.store({ apiVersion: 'v1', kind: 'Node' }, objs.nodes),
    };
    this.#secrets = this.store({ apiVersion: 'v1', kind: 'Secret' });
    this.store({ apiVersion: 'v1', kind: 'Service' });
  }

  /** A Secret as the API server holds it (the controller has no cache of Secrets). */
  secret(key: string): V1Secret | undefined {
    return this.#secrets.get(key);
  }

  status(key: string): SFTJobStatus | undefined {
    return this.listers.sftJobs.get(key)?.status;
  }

  edit(key: string, fn: (j: Job) => void): void {
    this.editObject(this.listers.sftJobs, key, fn);
  }

  editJob(key: string, fn: (j: V1Job) => void): void {
    this.editObject(this.listers.jobs, key, fn);
  }
}
