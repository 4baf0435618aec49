// DeployedModels ("Load LoRA"): the `deployedmodels.hearth.dev` objects of the account's namespace.
// Reads come from the watch-fed cache; writes go to the API server as `hearth-api`. Each one holds
// one unit of the account's `loras` quota (holder `deployedModel/<id>`), reserved before the object
// is created and released when it is deleted. See mappers/deployed-model.ts for the mapping.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DeployedModelSpec } from '../../crds/deployed-model.js';
import { DEPLOYED_MODEL, checkObjectUpdate } from '../../crds/registry.js';
import { LORAS_QUOTA, release, releaseAll, reserve } from '../../db/repositories/quotas.js';
import type { ApiContext } from '../context.js';
import { fromKubeError, statusCodeOf } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { CustomObject, DeploymentStore, ResourceStore } from '../kube/resource-store.js';
import {
  COLLECTION,
  CreateDeployedModelBody,
  DeployedModelResponse,
  OUTPUT_ONLY_FIELDS,
  UpdateDeployedModelBody,
  WRITABLE_FIELDS,
  newDeployedModelObject,
  quotaHolder,
  specFromWire,
  toWire,
} from '../mappers/deployed-model.js';
import { isDeleted, type DeploymentObject } from '../mappers/deployment.js';
import { ADDON_KINDS } from '../mappers/model.js';
import { resourceNameOf, resourceNotFound } from '../resources.js';
import { parseOrThrow } from '../validation.js';
import { failedPrecondition, invalidArgument, invalidArguments, notFound, unavailable } from '../wire/errors.js';
import { applyFieldMask, updatePaths, type UpdateMaskRules } from '../wire/field-mask.js';
import { listPage } from '../wire/pagination.js';
import { parseResourceName, validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, queryBool, UpdateMaskQuery, loadObject, requireStore } from './common.js';
import { resolveModelRef } from './models.js';

const Params = AccountParams.extend({ deployedModelId: z.string().describe('The deployed model id.') });
const ID = ':deployedModelId(^[^:]+)';
const tags = ['DeployedModels'];

const CreateQuery = z.object({
  replaceMergedAddon: queryBool('Unload every other addon of the deployment (required for hot-reload deployments).'),
});

/** Random ids look like Fireworks': a letter, then 11 of [a-z0-9]. */
function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 12; i++) id += alphabet[bytes[i]! % 36];
  return id;
}

const MASK_RULES: UpdateMaskRules = { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS };

class DeployedModels {
  constructor(
    private readonly ctx: ApiContext,
    private readonly log: FastifyBaseLogger,
  ) {}

  get store(): ResourceStore<CustomObject> {
    return requireStore(this.ctx.stores?.deployedModels, 'deployedModels');
  }

  get deployments(): DeploymentStore {
    if (!this.ctx.deployments) throw unavailable('deployedModels need a Kubernetes cluster; this API server runs without one');
    return this.ctx.deployments;
  }

  name(accountId: string, id: string): string {
    return resourceNameOf(accountId, COLLECTION, id);
  }

  kubeError(e: unknown, accountId: string, id: string, op: 'create' | 'update' | 'get' | 'delete'): unknown {
    return fromKubeError(e, { resourceType: 'deployedModel', name: this.name(accountId, id), op });
  }

  async load(accountId: string, id: string, fresh = false): Promise<CustomObject> {
    validateResourceId(id, 'deployedModelId');
    return loadObject(this.store, accountNamespace(accountId), id, {
      fresh,
      kubeError: (e) => this.kubeError(e, accountId, id, 'get'),
      missing: () => resourceNotFound(accountId, COLLECTION, id),
    });
  }

  /**
   * The base deployment: the caller's, existing and not deleted, accepting addons. Missing and
   * another account's read the same: NOT_FOUND naming the deployment.
   */
  async baseDeployment(accountId: string, ref: string, replaceMergedAddon: boolean): Promise<DeploymentObject> {
    const { accountId: owner, id } = parseResourceName(ref, 'deployments', 'deployment');
    const name = `accounts/${owner}/deployments/${id}`;
    if (owner !== accountId) throw notFound('deployment', name);
    const dep = await this.deployments.get(accountNamespace(accountId), id).catch((e: unknown) => {
      throw fromKubeError(e, { resourceType: 'deployment', name, op: 'get' });
    });
    if (!dep) throw notFound('deployment', name);
    if (isDeleted(dep)) throw failedPrecondition(`deployment "${name}" is deleted; a LoRA cannot be loaded onto it`, 'ERR_DEPLOYMENT_DELETED');
    const hotReload = dep.spec.enableHotReloadLatestAddon === true;
    if (dep.spec.enableAddons !== true && !hotReload) {
      throw failedPrecondition(`deployment "${name}" does not accept addons; create it with enableAddons: true`, 'ERR_ADDONS_DISABLED');
    }
    if (hotReload && !replaceMergedAddon) throw invalidArgument('replaceMergedAddon', `must be true for the hot-reload deployment "${name}"`, 'REQUIRED');
    return dep;
  }

  /** The addon model: the account's (an addon of the deployment's base model) or a shared one. */
  async addonModel(accountId: string, ref: string, dep: DeploymentObject): Promise<void> {
    const row = await resolveModelRef(this.ctx.db, accountId, ref, 'model');
    if (!row) return; // a shared accounts/fireworks model: known by name only
    if (!(ADDON_KINDS as readonly string[]).includes(row.kind)) {
      throw failedPrecondition(`model "${ref}" is ${row.kind}, not an addon; deploy a base model as a deployment instead`, 'ERR_NOT_AN_ADDON');
    }
    const base = (row.spec.peftDetails as { baseModel?: unknown } | undefined)?.baseModel;
    if (typeof base === 'string' && base !== dep.spec.baseModel) {
      throw failedPrecondition(`model "${ref}" is an addon of ${base}, but deployment "${String(dep.metadata.name)}" serves ${String(dep.spec.baseModel)}`, 'ERR_BASE_MODEL_MISMATCH');
    }
  }

  async create(accountId: string, body: Record<string, unknown>, q: z.infer<typeof CreateQuery>): Promise<Record<string, unknown>> {
    const spec = specFromWire(body);
    parseOrThrow(DeployedModelSpec, spec);
    const dep = await this.baseDeployment(accountId, spec.deployment as string, q.replaceMergedAddon ?? false);
    spec.deployment = `accounts/${accountId}/deployments/${dep.metadata.name}`;
    await this.addonModel(accountId, spec.model as string, dep);
    const ns = accountNamespace(accountId);
    const siblings = this.store.list(ns);
    // "The first deployment a model is deployed to will have this field set to true."
    if (spec.default === undefined) spec.default = !siblings.some((o) => o.spec.model === spec.model);
    const id = randomId();
    await reserve(this.ctx.db, accountId, LORAS_QUOTA, 1, quotaHolder(id));
    let created: CustomObject;
    try {
      created = await this.store.create(newDeployedModelObject({ accountId, namespace: ns, id, spec }));
    } catch (e) {
      // Give back the unit just reserved (only it: on a 409 the holder is another object's too).
      await release(this.ctx.db, accountId, LORAS_QUOTA, quotaHolder(id), 1).catch((err: unknown) => this.log.error({ err, deployedModel: id }, 'releasing the loras quota failed'));
      throw this.kubeError(e, accountId, id, 'create');
    }
    if (spec.default === true) await this.clearOtherDefaults(accountId, created);
    if (q.replaceMergedAddon) await this.unloadOthersOn(accountId, created);
    return toWire(created, accountId);
  }

  async release(accountId: string, id: string): Promise<void> {
    await releaseAll(this.ctx.db, accountId, quotaHolder(id)).catch((err: unknown) => this.log.error({ err, deployedModel: id }, 'releasing the loras quota failed'));
  }

  /** One default per model: setting `default` on one clears it on the account's others. */
  async clearOtherDefaults(accountId: string, obj: CustomObject): Promise<void> {
    const ns = accountNamespace(accountId);
    for (const o of this.store.list(ns)) {
      if (o.metadata.name === obj.metadata.name || o.spec.model !== obj.spec.model || o.spec.default !== true) continue;
      await this.store.mergePatch(ns, o.metadata.name, { spec: { default: false } }).catch((e: unknown) => {
        if (statusCodeOf(e) !== 404) throw this.kubeError(e, accountId, o.metadata.name, 'update');
      });
    }
  }

  /** `replaceMergedAddon`: the new addon replaces every other one on its deployment. */
  async unloadOthersOn(accountId: string, obj: CustomObject): Promise<void> {
    const ns = accountNamespace(accountId);
    for (const o of this.store.list(ns)) {
      if (o.metadata.name === obj.metadata.name || o.spec.deployment !== obj.spec.deployment) continue;
      await this.remove(accountId, o.metadata.name);
    }
  }

  async update(accountId: string, id: string, body: Record<string, unknown>, updateMask: string | undefined): Promise<Record<string, unknown>> {
    const mask = updatePaths(body, updateMask, MASK_RULES);
    const patch = specFromWire(body);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      if (mask.length === 0) return toWire(cur, accountId);
      const spec = applyFieldMask(cur.spec, patch, mask);
      parseOrThrow(DeployedModelSpec, spec);
      const issues = checkObjectUpdate(DEPLOYED_MODEL, { ...cur, spec }, cur);
      if (issues.length > 0) throw invalidArguments(issues.map((i) => ({ field: i.path.filter((s) => s !== 'spec').join('.'), description: i.message, reason: 'IMMUTABLE' })));
      let updated: CustomObject;
      try {
        updated = await this.store.replace({ ...cur, spec });
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < 3) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
      if (spec.default === true && cur.spec.default !== true) await this.clearOtherDefaults(accountId, updated);
      return toWire(updated, accountId);
    }
  }

  /** Deletes the object (the LoRA is unloaded) and gives its `loras` unit back. */
  async remove(accountId: string, id: string): Promise<boolean> {
    let deleted: boolean;
    try {
      deleted = await this.store.delete(accountNamespace(accountId), id);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'delete');
    }
    await this.release(accountId, id);
    return deleted;
  }

  async delete(accountId: string, id: string): Promise<void> {
    await this.load(accountId, id);
    if (!(await this.remove(accountId, id))) throw resourceNotFound(accountId, COLLECTION, id);
  }

  list(accountId: string, q: z.infer<typeof ListQuery>): Record<string, unknown> {
    const all = this.store.list(accountNamespace(accountId)).map((o) => toWire(o, accountId));
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/${COLLECTION}` }, codec: this.ctx.pageTokens, defaultOrderBy: 'name' });
    return listResponse(COLLECTION, page.items.map((d) => masked(d, q.readMask)), page);
  }
}

const deployedModels: FastifyPluginAsyncZod = async (app) => {
  const svc = new DeployedModels(app.hearth, app.log);

  app.get('/accounts/:accountId/deployedModels', {
    schema: {
      summary: 'List LoRAs',
      description: 'Default order: name.',
      tags,
      operationId: 'Gateway_ListDeployedModels',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema('deployedModels', DeployedModelResponse), ...errorResponses },
    },
    handler: async (request) => svc.list(request.params.accountId, request.query),
  });

  app.post('/accounts/:accountId/deployedModels', {
    schema: {
      summary: 'Load LoRA',
      description:
        'Loads an addon model onto a deployment of the account (which must have enableAddons). The id is generated. ' +
        'A missing deployment or model answers NOT_FOUND; one more LoRA than the `loras` quota allows answers 429 RESOURCE_EXHAUSTED naming the quota.',
      tags,
      operationId: 'Gateway_CreateDeployedModel',
      params: AccountParams,
      querystring: CreateQuery,
      body: CreateDeployedModelBody,
      response: { 200: DeployedModelResponse, ...errorResponses },
    },
    handler: async (request) => svc.create(request.params.accountId, request.body as Record<string, unknown>, request.query),
  });

  app.get(`/accounts/:accountId/deployedModels/${ID}`, {
    schema: {
      summary: 'Get LoRA',
      tags,
      operationId: 'Gateway_GetDeployedModel',
      params: Params,
      querystring: ReadMaskQuery,
      response: { 200: DeployedModelResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deployedModelId } = request.params;
      return masked(toWire(await svc.load(accountId, deployedModelId), accountId), request.query.readMask);
    },
  });

  app.patch(`/accounts/:accountId/deployedModels/${ID}`, {
    schema: {
      summary: 'Update LoRA',
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored; model and deployment are immutable.',
      tags,
      operationId: 'Gateway_UpdateDeployedModel',
      params: Params,
      querystring: UpdateMaskQuery,
      body: UpdateDeployedModelBody,
      response: { 200: DeployedModelResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deployedModelId } = request.params;
      validateResourceId(deployedModelId, 'deployedModelId');
      return svc.update(accountId, deployedModelId, request.body as Record<string, unknown>, request.query.updateMask);
    },
  });

  app.delete(`/accounts/:accountId/deployedModels/${ID}`, {
    schema: {
      summary: 'Unload LoRA',
      description: 'Deletes the deployed model now and releases its unit of the `loras` quota.',
      tags,
      operationId: 'Gateway_DeleteDeployedModel',
      params: Params,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deployedModelId } = request.params;
      await svc.delete(accountId, deployedModelId);
      return {};
    },
  });
};

export default deployedModels;
