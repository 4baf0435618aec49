// Environments: the `environments.hearth.dev` objects of the account's namespace, plus `:connect`
// and `:disconnect`. See mappers/environment.ts for the mapping and where a connection is recorded.
import type { z } from 'zod';
import { EnvironmentConnection, EnvironmentSpec } from '../../crds/environment.js';
import { ENVIRONMENT } from '../../crds/registry.js';
import type { ApiContext } from '../context.js';
import { fromKubeError } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { CustomObject } from '../kube/kind-client.js';
import {
  ATOMIC_PATHS,
  COLLECTION,
  ENV_ANNOTATIONS,
  OUTPUT_ONLY_FIELDS,
  WRITABLE_FIELDS,
  connectionFromWire,
  environmentName,
  newEnvironmentObject,
  requestedConnection,
  specFromWire,
  toWire,
  type ConnectBody,
  type DisconnectBody,
} from '../mappers/environment.js';
import { batchDeleteIds, nodePoolName } from '../mappers/node-pool.js';
import { parseOrThrow } from '../validation.js';
import { failedPrecondition, notFound, unavailable } from '../wire/errors.js';
import { CollectionService, type CollectionKind } from './service.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

const RESOURCE_TYPE = 'environment';

export const ENVIRONMENTS: CollectionKind<CustomObject> = {
  collection: COLLECTION,
  resourceType: RESOURCE_TYPE,
  plural: 'environments',
  idField: 'environmentId',
  client: (ctx) => ctx.kinds?.environments,
  strictPathIds: true,
  fullName: environmentName,
  toWire,
  specFromWire,
  newObject: newEnvironmentObject,
  spec: EnvironmentSpec,
  registry: ENVIRONMENT,
  // `connection` is output only here: it changes through :connect / :disconnect.
  updateMask: { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: ATOMIC_PATHS },
  defaultOrderBy: 'name',
  assignIds: 'random',
  checkIdFreeFirst: true,
  vanishedDeleteOk: true,
  batchTargets: (names, accountId) => batchDeleteIds(names, accountId, COLLECTION, RESOURCE_TYPE),
};

export class Environments extends CollectionService<CustomObject> {
  constructor(ctx: ApiContext) {
    super(ctx, ENVIRONMENTS);
  }

  /**
   * Records the requested connection in `spec.connection` (resourceVersion-guarded, so two
   * concurrent connects cannot both succeed). FAILED_PRECONDITION when one is already requested.
   */
  async connect(accountId: string, id: string, body: z.infer<typeof ConnectBody>): Promise<void> {
    const connection = connectionFromWire(body.connection as Record<string, unknown>);
    const parsed = parseOrThrow(EnvironmentConnection, connection, 'connection');
    await this.load(accountId, id);
    const pools = this.ctx.kinds?.nodePools;
    if (!pools) throw unavailable('node pools need a Kubernetes cluster; this API server runs without one');
    const poolName = nodePoolName(accountId, parsed.nodePoolId);
    const pool = await pools.get(accountNamespace(accountId), parsed.nodePoolId).catch((e: unknown) => {
      throw fromKubeError(e, { resourceType: 'nodePool', name: poolName, op: 'get' });
    });
    if (!pool) throw notFound('nodePool', poolName);
    if (pool.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`node pool "${poolName}" is being deleted`, 'ERR_NODE_POOL_DELETING');
    await this.modify(accountId, id, (cur) => {
      const name = environmentName(accountId, id);
      if (cur.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`environment "${name}" is being deleted`);
      const pending = requestedConnection(cur);
      if (pending) {
        throw failedPrecondition(`environment "${name}" already has a connection to node pool "${String(pending.nodePoolId)}"; disconnect it first`, 'ERR_CONNECTION_PENDING');
      }
      const annotations: Record<string, string> = { ...(cur.metadata.annotations ?? {}), [ENV_ANNOTATIONS.connectTime]: iso(this.ctx.now()) };
      delete annotations[ENV_ANNOTATIONS.vscodeVersion];
      if (body.vscodeVersion !== undefined) annotations[ENV_ANNOTATIONS.vscodeVersion] = body.vscodeVersion;
      return { ...cur, metadata: { ...cur.metadata, annotations }, spec: { ...cur.spec, connection } };
    });
  }

  /** Removes the requested connection; FAILED_PRECONDITION when the environment has none. */
  async disconnect(accountId: string, id: string, body: z.infer<typeof DisconnectBody>): Promise<void> {
    await this.modify(accountId, id, (cur) => {
      if (!requestedConnection(cur)) throw failedPrecondition(`environment "${environmentName(accountId, id)}" is not connected to a node pool`, 'ERR_NOT_CONNECTED');
      const { connection: _gone, ...spec } = cur.spec;
      const annotations: Record<string, string> = { ...(cur.metadata.annotations ?? {}), [ENV_ANNOTATIONS.disconnectTime]: iso(this.ctx.now()) };
      delete annotations[ENV_ANNOTATIONS.disconnectForce];
      delete annotations[ENV_ANNOTATIONS.resetSnapshots];
      if (body.force) annotations[ENV_ANNOTATIONS.disconnectForce] = 'true';
      if (body.resetSnapshots) annotations[ENV_ANNOTATIONS.resetSnapshots] = 'true';
      return { ...cur, metadata: { ...cur.metadata, annotations }, spec };
    });
  }
}
