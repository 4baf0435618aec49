// Test double for the Environment reconciler: the runtime's recording fake API with the stores the
// controller reads (its writes land there, read back as the informer caches), what the scheduler
// and kubelet would do next (schedule, run, make Ready, kill a pod), and in-memory users, bindings
// and node zones.
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { EnvironmentStatus } from '../../crds/environment.js';
import { API_VERSION } from '../../crds/group.js';
import { FakeCluster, type MapLister } from '../runtime/fake-cluster.js';
import type { HearthObject } from '../runtime/writer.js';
import type { PoolAccess } from './access.js';
import type { Listers, NodeZones } from './reconciler.js';

type Env = HearthObject<'Environment'>;
type Pool = HearthObject<'NodePool'>;

export interface ClusterObjects {
  environments?: Env[];
  nodePools?: Pool[];
  pods?: V1Pod[];
  namespaces?: V1Namespace[];
}

export class EnvironmentCluster extends FakeCluster {
  readonly listers: Listers & { environments: MapLister<Env>; nodePools: MapLister<Pool>; pods: MapLister<V1Pod>; namespaces: MapLister<V1Namespace> };

  constructor(objs: ClusterObjects) {
    super();
    this.listers = {
      environments: this.store({ apiVersion: API_VERSION, kind: 'Environment' }, objs.environments),
      nodePools: this.store({ apiVersion: API_VERSION, kind: 'NodePool' }, objs.nodePools),
      pods: this.store({ apiVersion: 'v1', kind: 'Pod' }, objs.pods),
      namespaces: this.store({ apiVersion: 'v1', kind: 'Namespace' }, objs.namespaces),
    };
  }

  status(key: string): EnvironmentStatus | undefined {
    return this.listers.environments.get(key)?.status;
  }

  /** Changes an environment as a user would (bumps generation when the spec changes). */
  edit(key: string, fn: (e: Env) => void): void {
    this.editObject(this.listers.environments, key, fn);
  }

  /** The scheduler and the kubelet: every pod on `node`, Running and Ready. */
  runAll(node = 'node-a'): void {
    for (const p of this.listers.pods.list()) {
      p.spec = { ...p.spec!, nodeName: node };
      p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
      p.metadata = { ...p.metadata, resourceVersion: this.nextVersion() };
    }
  }

  /** A pod vanishes (deleted by someone, its node gone). */
  killPod(key: string): void {
    this.listers.pods.delete(key);
  }
}

/** Users and bindings in memory: `users` maps e-mail → role, `bindings` holds `email/pool` (or `email/` for every pool). */
export class MemoryPoolAccess implements PoolAccess {
  constructor(
    readonly users: Map<string, string> = new Map(),
    readonly bindings: Set<string> = new Set(),
  ) {}

  async roleOf(_account: string, email: string): Promise<string | undefined> {
    return this.users.get(email);
  }

  async isBound(_account: string, poolId: string, email: string): Promise<boolean> {
    return this.bindings.has(`${email}/${poolId}`) || this.bindings.has(`${email}/`);
  }
}

export class MemoryZones implements NodeZones {
  constructor(readonly zones: Record<string, string> = {}) {}

  async zoneOf(node: string): Promise<string | undefined> {
    return this.zones[node];
  }
}
