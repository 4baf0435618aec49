// Test double for the BatchInferenceJob reconciler: the runtime's recording fake API with the
// stores the controller reads (its writes land there, read back as the informer caches).
import type { V1Namespace } from '@kubernetes/client-node';
import type { BatchInferenceJobStatus } from '../../crds/batch-inference-job.js';
import type { Deployment } from '../../crds/deployment.js';
import { API_VERSION } from '../../crds/group.js';
import { FakeCluster, type MapLister } from '../runtime/fake-cluster.js';
import type { HearthObject } from '../runtime/writer.js';
import type { Listers } from './reconciler.js';

type Job = HearthObject<'BatchInferenceJob'>;

export interface ClusterObjects {
  jobs?: Job[];
  deployments?: Deployment[];
  namespaces?: V1Namespace[];
}

export class BatchInferenceJobCluster extends FakeCluster {
  readonly listers: Listers & { jobs: MapLister<Job>; deployments: MapLister<Deployment>; namespaces: MapLister<V1Namespace> };

  constructor(objs: ClusterObjects) {
    super();
    this.listers = {
      jobs: this.store({ apiVersion: API_VERSION, kind: 'BatchInferenceJob' }, objs.jobs),
      deployments: this.store({ apiVersion: API_VERSION, kind: 'Deployment' }, objs.deployments),
      namespaces: this.store({ apiVersion: 'v1', kind: 'Namespace' }, objs.namespaces),
    };
  }

  status(key: string): BatchInferenceJobStatus | undefined {
    return this.listers.jobs.get(key)?.status;
  }

  /** Changes a job as a user would (bumps generation when the spec changes). */
  edit(key: string, fn: (j: Job) => void): void {
    this.editObject(this.listers.jobs, key, fn);
  }
}
