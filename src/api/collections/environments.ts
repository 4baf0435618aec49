// Environments: the `environments.hearth.dev` objects of the account's namespace, plus `:connect`
// and `:disconnect`. See mappers/environment.ts for the mapping and where a connection is recorded.
import type { z } from 'zod';
import type { Principal } from '../../auth/authenticator.js';
import { EnvironmentConnection, EnvironmentSpec } from '../../crds/environment.js';
import { ANNOTATIONS } from '../../crds/group.js';
import { isBoundToNodePool } from '../../db/repositories/node-pool-bindings.js';
import { environmentAccessMessage, mayUseEnvironment } from '../../fleet/environment-access.js';
import { numRanksProblem } from '../../fleet/pool-ranks.js';
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
import { failedPrecondition, invalidArgument, notFound, permissionDenied, unavailable } from '../wire/errors.js';
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
   * concurrent connects cannot both succeed) and who asked (`hearth.dev/connected-by`: the
   * controller checks that user again for what kubectl changes later). FAILED_PRECONDITION when one
   * is already requested. PERMISSION_DENIED when the caller may not use the environment (not its
   * creator, not shared, not an admin: src/fleet/environment-access.ts) or the pool (no
   * NodePoolBinding and not an admin), naming it; another account's pool is NOT_FOUND.
   */
  async connect(accountId: string, id: string, body: z.infer<typeof ConnectBody>, principal: Principal): Promise<void> {
    const connection = connectionFromWire(body.connection as Record<string, unknown>, accountId);
    const parsed = parseOrThrow(EnvironmentConnection, connection, 'connection');
    this.#assertMayUse(accountId, id, await this.load(accountId, id), principal);
    const pools = this.ctx.kinds?.nodePools;
    if (!pools) throw unavailable('node pools need a Kubernetes cluster; this API server runs without one');
    const poolName = nodePoolName(accountId, parsed.nodePoolId);
    const pool = await pools.get(accountNamespace(accountId), parsed.nodePoolId).catch((e: unknown) => {
      throw fromKubeError(e, { resourceType: 'nodePool', name: poolName, op: 'get' });
    });
    if (!pool) throw notFound('nodePool', poolName);
    if (pool.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`node pool "${poolName}" is being deleted`, 'ERR_NODE_POOL_DELETING');
    const tooMany = numRanksProblem(parsed.numRanks, poolName, pool.spec as Parameters<typeof numRanksProblem>[2]);
    if (tooMany) throw invalidArgument('connection.numRanks', tooMany, 'TOO_MANY_RANKS');
    if (principal.role !== 'admin' && !(await isBoundToNodePool(this.ctx.db, accountId, parsed.nodePoolId, principal.email))) {
      throw permissionDenied(`${principal.email} may not use node pool "${poolName}": no node pool binding for it (an admin creates one)`);
    }
    await this.modify(accountId, id, (cur) => {
      const name = environmentName(accountId, id);
      if (cur.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`environment "${name}" is being deleted`);
      this.#assertMayUse(accountId, id, cur, principal);
      const pending = requestedConnection(cur);
      if (pending) {
        throw failedPrecondition(`environment "${name}" already has a connection to node pool "${String(pending.nodePoolId)}"; disconnect it first`, 'ERR_CONNECTION_PENDING');
      }
      const annotations: Record<string, string> = {
        ...(cur.metadata.annotations ?? {}),
        [ENV_ANNOTATIONS.connectTime]: iso(this.ctx.now()),
        [ANNOTATIONS.connectedBy]: principal.email,
      };
      delete annotations[ENV_ANNOTATIONS.vscodeVersion];
      if (body.vscodeVersion !== undefined) annotations[ENV_ANNOTATIONS.vscodeVersion] = body.vscodeVersion;
      return { ...cur, metadata: { ...cur.metadata, annotations }, spec: { ...cur.spec, connection } };
    });
  }

  /** PERMISSION_DENIED unless the caller may use the environment (its creator, shared, or an admin). */
  #assertMayUse(accountId: string, id: string, env: CustomObject, principal: Principal): void {
    const like = { metadata: { annotations: env.metadata.annotations ?? {} }, spec: { shared: env.spec.shared === true } };
    if (!mayUseEnvironment(like, principal)) throw permissionDenied(environmentAccessMessage(environmentName(accountId, id), like));
  }

  /** Removes the requested connection; FAILED_PRECONDITION when the environment has none; PERMISSION_DENIED as for :connect. */
  async disconnect(accountId: string, id: string, body: z.infer<typeof DisconnectBody>, principal: Principal): Promise<void> {
    await this.modify(accountId, id, (cur) => {
      this.#assertMayUse(accountId, id, cur, principal);
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
