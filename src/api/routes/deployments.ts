// Deployments: the `deployments.hearth.dev` objects of the account's namespace. Reads come from the
// watch-fed cache; writes go to the API server as `hearth-api`. See mappers/deployment.ts for the
// wire ⇄ object mapping and the soft-delete marks.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DeploymentSpec, type DeploymentSpec as DeploymentSpecType } from '../../crds/deployment.js';
import { DEPLOYMENT, checkObjectUpdate } from '../../crds/registry.js';
import type { ApiContext } from '../context.js';
import { fromKubeError, statusCodeOf } from '../kube/errors.js';
import type { DeploymentStore } from '../kube/resource-store.js';
import { accountNamespace } from '../kube/namespaces.js';
import {
  ATOMIC_PATHS,
  COLLECTION,
  CreateDeploymentBody,
  DeploymentResponse,
  OUTPUT_ONLY_FIELDS,
  SOFT_DELETE_ANNOTATIONS,
  UpdateDeploymentBody,
  WRITABLE_FIELDS,
  isDeleted,
  isMarkedDeleted,
  newDeploymentObject,
  specFromWire,
  toWire,
  wireState,
  type DeploymentObject,
} from '../mappers/deployment.js';
import { releaseAll } from '../../db/repositories/quotas.js';
import { quotaHolder as deployedModelQuotaHolder } from '../mappers/deployed-model.js';
import { releaseDeploymentGpus, requiredGpus, reserveDeploymentGpus } from '../quota/deployment-quota.js';
import { resourceNameOf, resourceNotFound } from '../resources.js';
import { parseOrThrow } from '../validation.js';
import { alreadyExists, failedPrecondition, invalidArguments } from '../wire/errors.js';
import { applyFieldMask, updatePaths, type UpdateMaskRules } from '../wire/field-mask.js';
import { listPage } from '../wire/pagination.js';
import { validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, queryBool, UpdateMaskQuery, loadObject, requireStore } from './common.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

const DeploymentParams = AccountParams.extend({ deploymentId: z.string().describe('The deployment id.') });
/** `{id}:verb` paths: the id may not contain ':' (fastify regex parameter). */
const ID = ':deploymentId(^[^:]+)';

const CreateQuery = z.object({
  deploymentId: z.string().optional().describe('The deployment id; random if absent.'),
  validateOnly: queryBool('Validate and return the deployment that would be created, creating nothing.'),
  skipShapeValidation: queryBool('Accepted for compatibility (Hearth has no shape validation).'),
  skipImageTagValidation: queryBool('Accepted for compatibility.'),
  disableAutoDeploy: queryBool('Accepted for compatibility.'),
  disableSpeculativeDecoding: queryBool('Accepted for compatibility.'),
});

const ListDeploymentsQuery = ListQuery.extend({ showDeleted: queryBool('Include soft-deleted (DELETING/DELETED) deployments.') });

const DeleteQuery = z.object({
  hard: queryBool('Delete the object now instead of a soft delete.'),
  ignoreChecks: queryBool('Delete even if the deployment is in use.'),
});

const ScaleBody = z.strictObject({ replicaCount: z.int32().min(0).optional().describe('The replica count to run (0 scales to zero).') });

/** Random ids look like Fireworks': a letter, then 11 of [a-z0-9]. */
function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 12; i++) id += alphabet[bytes[i]! % 36];
  return id;
}

/** Parses a spec with the CRD schema; issue paths are wire field paths (spec names = wire names). */
function parseSpec(spec: Record<string, unknown>): DeploymentSpecType {
  return parseOrThrow(DeploymentSpec, spec);
}

// Output-only fields are ignored (AIP-203); others are not Deployment fields.
const MASK_RULES: UpdateMaskRules = { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: ATOMIC_PATHS };

/** A wire view computed from one cached object (objects are replaced, not changed, on every event). */
interface WireView {
  accountId: string;
  resourceVersion: string;
  wire: Record<string, unknown>;
}

class Deployments {
  /**
   * Wire views of cached objects, so a GET or list of an unchanged object does not map it again
   * (the mapping — spec copy, durations, omitting unset fields — was most of a GET's own CPU time).
   * Keyed by the object itself and checked against its resourceVersion; views are only serialized,
   * never changed. Objects without a resourceVersion (validateOnly) are mapped every time.
   */
  readonly #views = new WeakMap<DeploymentObject, WireView>();

  constructor(
    private readonly ctx: ApiContext,
    private readonly log: FastifyBaseLogger,
  ) {}

  get store(): DeploymentStore {
    return requireStore(this.ctx.deployments, 'deployments');
  }

  wire(obj: DeploymentObject, accountId: string): Record<string, unknown> {
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined) return toWire(obj, accountId, this.ctx.softDeleteRetentionMs);
    const seen = this.#views.get(obj);
    if (seen && seen.resourceVersion === rv && seen.accountId === accountId) return seen.wire;
    const wire = toWire(obj, accountId, this.ctx.softDeleteRetentionMs);
    this.#views.set(obj, { accountId, resourceVersion: rv, wire });
    return wire;
  }

  name(accountId: string, id: string): string {
    return resourceNameOf(accountId, COLLECTION, id);
  }

  kubeError(e: unknown, accountId: string, id: string, op: 'create' | 'update' | 'get' | 'delete'): unknown {
    return fromKubeError(e, { resourceType: 'deployment', name: this.name(accountId, id), op });
  }

  async load(accountId: string, id: string, fresh = false): Promise<DeploymentObject> {
    return loadObject(this.store, accountNamespace(accountId), id, {
      fresh,
      kubeError: (e) => this.kubeError(e, accountId, id, 'get'),
      missing: () => resourceNotFound(accountId, COLLECTION, id),
    });
  }

  async create(accountId: string, body: Record<string, unknown>, q: z.infer<typeof CreateQuery>): Promise<Record<string, unknown>> {
    const chosen = q.deploymentId !== undefined;
    const id = chosen ? validateResourceId(q.deploymentId!, 'deploymentId') : randomId();
    const spec = specFromWire(body);
    const parsed = parseSpec(spec);
    const ns = accountNamespace(accountId);
    // A caller's id may name an object this replica has not seen yet: ask the API server (before
    // any GPUs are held for it). A fresh random id cannot (1 in ~10^18), so it skips that round
    // trip — about a third of a create's time — and the API server's 409 still guards the name.
    const existing = chosen
      ? await this.store.get(ns, id).catch((e: unknown) => {
          throw this.kubeError(e, accountId, id, 'get');
        })
      : undefined;
    if (existing) throw alreadyExists('deployment', this.name(accountId, id));
    const { db } = this.ctx;
    if (q.validateOnly) {
      await reserveDeploymentGpus(db, { accountId, deploymentId: id, spec: parsed, dryRun: true });
      const wouldBe = newDeploymentObject({ accountId, namespace: ns, id, spec: parsed as unknown as Record<string, unknown> });
      wouldBe.metadata.creationTimestamp = iso(this.ctx.now());
      return this.wire(wouldBe, accountId);
    }
    await this.ctx.ensureNamespace?.(accountId);
    await reserveDeploymentGpus(db, { accountId, deploymentId: id, spec: parsed });
    try {
      return this.wire(await this.store.create(newDeploymentObject({ accountId, namespace: ns, id, spec })), accountId);
    } catch (e) {
      // Same id created concurrently: its hold is its own; anything else, give the GPUs back.
      if (statusCodeOf(e) !== 409) await releaseDeploymentGpus(db, accountId, id).catch((err: unknown) => this.log.error({ err }, 'releasing quota failed'));
      throw this.kubeError(e, accountId, id, 'create');
    }
  }

  async update(accountId: string, id: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<Record<string, unknown>> {
    const mask = updatePaths(body, updateMask, MASK_RULES);
    const patch = specFromWire(body);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      if (isDeleted(cur)) throw failedPrecondition(`deployment "${this.name(accountId, id)}" is deleted; undelete it first`);
      if (mask.length === 0) return this.wire(cur, accountId);
      const spec = applyFieldMask(cur.spec, patch, mask);
      const parsed = parseSpec(spec);
      const issues = checkObjectUpdate(DEPLOYMENT, { ...cur, spec }, cur);
      if (issues.length > 0) throw invalidArguments(issues.map((i) => ({ field: i.path.filter((s) => s !== 'spec').join('.'), description: i.message, reason: 'IMMUTABLE' })));
      await this.reserveIfChanged(accountId, id, cur, parsed);
      try {
        return this.wire(await this.store.replace({ ...cur, spec }), accountId);
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < 3) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
    }
  }

  /** Reserves when the GPUs the deployment must run changed. */
  async reserveIfChanged(accountId: string, id: string, cur: DeploymentObject, next: DeploymentSpecType): Promise<void> {
    const before = DeploymentSpec.safeParse(cur.spec);
    const same = before.success && requiredGpus(before.data) === requiredGpus(next) && before.data.acceleratorType === next.acceleratorType;
    if (same) return;
    await reserveDeploymentGpus(this.ctx.db, { accountId, deploymentId: id, spec: next, placedRegion: cur.status?.region as string | undefined });
  }

  async delete(accountId: string, id: string, q: z.infer<typeof DeleteQuery>): Promise<void> {
    const ns = accountNamespace(accountId);
    const cur = await this.load(accountId, id);
    if (q.hard) {
      try {
        if (!(await this.store.delete(ns, id))) throw resourceNotFound(accountId, COLLECTION, id);
      } catch (e) {
        throw this.kubeError(e, accountId, id, 'delete');
      }
    } else if (!isDeleted(cur)) {
      const annotations = { [SOFT_DELETE_ANNOTATIONS.deleteTime]: iso(this.ctx.now()) };
      await this.store.mergePatch(ns, id, { metadata: { annotations } }).catch((e: unknown) => {
        throw this.kubeError(e, accountId, id, 'update');
      });
    }
    await releaseDeploymentGpus(this.ctx.db, accountId, id);
    if (q.hard) await this.unloadAddons(accountId, id);
  }

  /**
   * A hard-deleted deployment takes its LoRAs with it: its DeployedModels are deleted and their
   * `loras` units released (they carry no ownerReference, because garbage collection would delete
   * them without giving the quota back). A soft delete keeps them, so undelete restores them.
   */
  async unloadAddons(accountId: string, id: string): Promise<void> {
    const store = this.ctx.stores?.deployedModels;
    if (!store) return;
    const ns = accountNamespace(accountId);
    const full = this.name(accountId, id);
    for (const dm of store.list(ns).filter((o) => o.spec.deployment === full)) {
      try {
        await store.delete(ns, dm.metadata.name);
        await releaseAll(this.ctx.db, accountId, deployedModelQuotaHolder(dm.metadata.name));
      } catch (err) {
        this.log.error({ err, deployment: full, deployedModel: dm.metadata.name }, 'unloading a LoRA of a deleted deployment failed');
      }
    }
  }

  async undelete(accountId: string, id: string): Promise<Record<string, unknown>> {
    const ns = accountNamespace(accountId);
    const cur = await this.load(accountId, id);
    const state = wireState(cur);
    if (!isMarkedDeleted(cur) && state !== 'FAILED') {
      throw failedPrecondition(`deployment "${this.name(accountId, id)}" is ${state}; only DELETED or FAILED deployments can be undeleted`, 'ERR_NOT_DELETED');
    }
    if (cur.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`deployment "${this.name(accountId, id)}" is being removed from the cluster`, 'ERR_NOT_DELETED');
    const spec = DeploymentSpec.safeParse(cur.spec);
    if (spec.success && isMarkedDeleted(cur)) {
      await reserveDeploymentGpus(this.ctx.db, { accountId, deploymentId: id, spec: spec.data, placedRegion: cur.status?.region as string | undefined });
    }
    const annotations = {
      [SOFT_DELETE_ANNOTATIONS.deleteTime]: null,
      [SOFT_DELETE_ANNOTATIONS.undeleteTime]: iso(this.ctx.now()),
    };
    try {
      return this.wire(await this.store.mergePatch(ns, id, { metadata: { annotations } }), accountId);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'update');
    }
  }

  async scale(accountId: string, id: string, replicaCount: number): Promise<void> {
    const cur = await this.load(accountId, id);
    if (isDeleted(cur)) throw failedPrecondition(`deployment "${this.name(accountId, id)}" is deleted; undelete it first`);
    const parsed = parseSpec({ ...cur.spec, replicaCount });
    await this.reserveIfChanged(accountId, id, cur, parsed);
    await this.store.mergePatch(accountNamespace(accountId), id, { spec: { replicaCount } }).catch((e: unknown) => {
      throw this.kubeError(e, accountId, id, 'update');
    });
  }

  list(accountId: string, q: z.infer<typeof ListDeploymentsQuery>, codec: ApiContext['pageTokens']): Record<string, unknown> {
    const showDeleted = q.showDeleted ?? false;
    const all = this.store
      .list(accountNamespace(accountId))
      .filter((o) => showDeleted || !isDeleted(o))
      .map((o) => this.wire(o, accountId));
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/deployments`, showDeleted }, codec, defaultOrderBy: 'createTime' });
    return listResponse('deployments', page.items.map((d) => masked(d, q.readMask)), page);
  }
}

const tags = ['Deployments'];

const deployments: FastifyPluginAsyncZod = async (app) => {
  const svc = new Deployments(app.hearth, app.log);

  app.get('/accounts/:accountId/deployments', {
    schema: {
      summary: 'List Deployments',
      description: 'Default order: createTime. Soft-deleted deployments only with showDeleted.',
      tags,
      operationId: 'Gateway_ListDeployments',
      params: AccountParams,
      querystring: ListDeploymentsQuery,
      response: { 200: listResponseSchema('deployments', DeploymentResponse), ...errorResponses },
    },
    handler: async (request) => svc.list(request.params.accountId, request.query, app.hearth.pageTokens),
  });

  app.post('/accounts/:accountId/deployments', {
    schema: {
      summary: 'Create Deployment',
      description: 'Answers 429 RESOURCE_EXHAUSTED naming the quota when the GPUs it must run do not fit.',
      tags,
      operationId: 'Gateway_CreateDeployment',
      params: AccountParams,
      querystring: CreateQuery,
      body: CreateDeploymentBody,
      response: { 200: DeploymentResponse, ...errorResponses, 409: errorResponses[400] },
    },
    handler: async (request) => svc.create(request.params.accountId, request.body as Record<string, unknown>, request.query),
  });

  app.get(`/accounts/:accountId/deployments/${ID}`, {
    schema: {
      summary: 'Get Deployment',
      tags,
      operationId: 'Gateway_GetDeployment',
      params: DeploymentParams,
      querystring: ReadMaskQuery,
      response: { 200: DeploymentResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentId } = request.params;
      validateResourceId(deploymentId, 'deploymentId');
      return masked(svc.wire(await svc.load(accountId, deploymentId), accountId), request.query.readMask);
    },
  });

  app.patch(`/accounts/:accountId/deployments/${ID}`, {
    schema: {
      summary: 'Update Deployment',
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored.',
      tags,
      operationId: 'Gateway_UpdateDeployment',
      params: DeploymentParams,
      querystring: UpdateMaskQuery.extend({
        skipShapeValidation: queryBool('Accepted for compatibility.'),
      }),
      body: UpdateDeploymentBody,
      response: { 200: DeploymentResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentId } = request.params;
      validateResourceId(deploymentId, 'deploymentId');
      return svc.update(accountId, deploymentId, request.body as Record<string, unknown>, request.query.updateMask);
    },
  });

  app.delete(`/accounts/:accountId/deployments/${ID}`, {
    schema: {
      summary: 'Delete Deployment',
      description: `A soft delete by default: the deployment reads DELETING, then DELETED, and can be undeleted until its purgeTime; hard=true deletes it now.`,
      tags,
      operationId: 'Gateway_DeleteDeployment',
      params: DeploymentParams,
      querystring: DeleteQuery,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentId } = request.params;
      validateResourceId(deploymentId, 'deploymentId');
      await svc.delete(accountId, deploymentId, request.query);
      return {};
    },
  });

  app.post(`/accounts/:accountId/deployments/${ID}::undelete`, {
    schema: {
      summary: 'Undelete Deployment',
      description: 'Only soft-deleted (DELETING/DELETED) or FAILED deployments; others answer FAILED_PRECONDITION.',
      tags,
      operationId: 'Gateway_UndeleteDeployment',
      params: DeploymentParams,
      body: z.strictObject({}).optional(),
      response: { 200: DeploymentResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentId } = request.params;
      validateResourceId(deploymentId, 'deploymentId');
      return svc.undelete(accountId, deploymentId);
    },
  });

  app.patch(`/accounts/:accountId/deployments/${ID}::scale`, {
    schema: {
      summary: 'Scale Deployment',
      description: 'Runs exactly replicaCount replicas (the autoscaler is off while it is set). 429 naming the quota if the GPUs do not fit.',
      tags,
      operationId: 'Gateway_ScaleDeployment',
      params: DeploymentParams,
      body: ScaleBody,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentId } = request.params;
      validateResourceId(deploymentId, 'deploymentId');
      await svc.scale(accountId, deploymentId, request.body.replicaCount ?? 0);
      return {};
    },
  });
};

export default deployments;
