// DeployedModels ("Load LoRA"): the `deployedmodels.hearth.dev` objects of the account's namespace.
// Each one holds one unit of the account's `loras` quota (holder `deployedModel/<id>`), reserved
// before the object is created and released when it is deleted. The base deployment and the addon
// model are checked on create; `default` is kept to one per model. See mappers/deployed-model.ts.
import type { FastifyBaseLogger } from 'fastify';
import { DeployedModelSpec } from '../../crds/deployed-model.js';
import { DEPLOYED_MODEL } from '../../crds/registry.js';
import { maxLorasOf } from '../../fleet/lora.js';
import { LORAS_QUOTA, release, releaseAll, reserve } from '../../db/repositories/quotas.js';
import type { ApiContext } from '../context.js';
import { fromKubeError, statusCodeOf } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { CustomObject, DeploymentClient } from '../kube/kind-client.js';
import { COLLECTION, OUTPUT_ONLY_FIELDS, REFERENCES, WRITABLE_FIELDS, isOnDeployment, newDeployedModelObject, quotaHolder, specFromWire, toWire } from '../mappers/deployed-model.js';
import { isDeleted, type DeploymentObject } from '../mappers/deployment.js';
import { ADDON_KINDS } from '../mappers/model.js';
import { resolveModelRef } from '../routes/models.js';
import { failedPrecondition, invalidArgument, notFound, unavailable } from '../wire/errors.js';
import { parseResourceName } from '../wire/resource-names.js';
import { CollectionService, type CollectionKind, type Draft } from './service.js';

export const DEPLOYED_MODELS: CollectionKind<CustomObject> = {
  collection: COLLECTION,
  resourceType: 'deployedModel',
  plural: 'deployedModels',
  idField: 'deployedModelId',
  references: REFERENCES,
  client: (ctx) => ctx.kinds?.deployedModels,
  strictPathIds: true,
  toWire,
  specFromWire,
  newObject: newDeployedModelObject,
  spec: DeployedModelSpec,
  registry: DEPLOYED_MODEL,
  updateMask: { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS },
  defaultOrderBy: 'name',
  assignIds: 'random',
};

export class DeployedModels extends CollectionService<CustomObject> {
  constructor(ctx: ApiContext, log: FastifyBaseLogger) {
    super(ctx, DEPLOYED_MODELS, log);
  }

  get deployments(): DeploymentClient {
    if (!this.ctx.deployments) throw unavailable('deployedModels need a Kubernetes cluster; this API server runs without one');
    return this.ctx.deployments;
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
    if (isDeleted(dep)) throw failedPrecondition(`deployment: "${name}" is deleted; a LoRA cannot be loaded onto it`, 'ERR_DEPLOYMENT_DELETED');
    const hotReload = dep.spec.enableHotReloadLatestAddon === true;
    if (dep.spec.enableAddons !== true && !hotReload) {
      throw failedPrecondition(`deployment: "${name}" does not accept addons; create it with enableAddons: true`, 'ERR_ADDONS_DISABLED');
    }
    if (hotReload && !replaceMergedAddon) throw invalidArgument('replaceMergedAddon', `must be true for the hot-reload deployment "${name}"`, 'REQUIRED');
    return dep;
  }

  /**
   * The addon model: an existing adapter model, the account's or another's public one, of the
   * deployment's base model. A shared `accounts/fireworks/models/*` name is a base model known by name
   * only, never an adapter: loading it as a DeployedModel would make this account a route for that
   * model's traffic (issue 15 item 1), so it is refused.
   */
  async addonModel(accountId: string, ref: string, dep: DeploymentObject): Promise<void> {
    const row = await resolveModelRef(this.ctx.db, accountId, ref, 'model');
    if (!row) {
      throw failedPrecondition(`model: "${ref}" is a shared base model, not an adapter model of this account or a public one; serve base models with a deployment`, 'ERR_NOT_AN_ADDON');
    }
    if (!(ADDON_KINDS as readonly string[]).includes(row.kind)) {
      throw failedPrecondition(`model: "${ref}" is ${row.kind}, not an addon; deploy a base model as a deployment instead`, 'ERR_NOT_AN_ADDON');
    }
    const base = (row.spec.peftDetails as { baseModel?: unknown } | undefined)?.baseModel;
    if (typeof base === 'string' && base !== dep.spec.baseModel) {
      throw failedPrecondition(`model: "${ref}" is an addon of ${base}, but deployment "${String(dep.metadata.name)}" serves ${String(dep.spec.baseModel)}`, 'ERR_BASE_MODEL_MISMATCH');
    }
    // Only complete files are loaded: an upload still in progress (or failed validation) is refused.
    if (row.state !== 'READY') {
      throw failedPrecondition(`model: "${ref}" is ${row.state}, not READY; upload and validate its files first`, 'ERR_MODEL_NOT_READY');
    }
  }

  /**
   * One more adapter must fit the deployment's `--max-loras` (numPeftDeviceCached, else the
   * default; src/fleet/lora.ts): the controller would refuse to load it anyway (TooManyAdapters).
   * `replaceMergedAddon` replaces the others, so it always fits.
   */
  withinMaxLoras(accountId: string, namespace: string, dep: DeploymentObject, replacing: boolean): void {
    if (replacing) return;
    const name = String(dep.metadata.name);
    const max = maxLorasOf(dep.spec as { numPeftDeviceCached?: number });
    const loaded = this.client.list(namespace).filter((o) => o.metadata.deletionTimestamp === undefined && isOnDeployment(o.spec.deployment, accountId, name)).length;
    if (loaded >= max) {
      throw failedPrecondition(`deployment: "${name}" already serves ${loaded} adapters, its maximum (numPeftDeviceCached / --max-loras ${max}); unload one first`, 'ERR_TOO_MANY_ADAPTERS');
    }
  }

  protected override async prepareCreate(draft: Draft): Promise<void> {
    const { accountId, spec } = draft;
    const dep = await this.baseDeployment(accountId, spec.deployment as string, draft.query.replaceMergedAddon === true);
    spec.deployment = `accounts/${accountId}/deployments/${dep.metadata.name}`;
    await this.addonModel(accountId, spec.model as string, dep);
    this.withinMaxLoras(accountId, draft.namespace, dep, draft.query.replaceMergedAddon === true);
    // "The first deployment a model is deployed to will have this field set to true."
    if (spec.default === undefined) spec.default = !this.client.list(draft.namespace).some((o) => o.spec.model === spec.model);
  }

  protected override async reserve(draft: Draft): Promise<void> {
    await reserve(this.ctx.db, draft.accountId, LORAS_QUOTA, 1, quotaHolder(draft.id));
  }

  /** Gives back the unit just reserved (only it: on a 409 the holder is another object's too). */
  protected override async unreserve(draft: Draft): Promise<void> {
    await release(this.ctx.db, draft.accountId, LORAS_QUOTA, quotaHolder(draft.id), 1).catch((err: unknown) => this.log?.error({ err, deployedModel: draft.id }, 'releasing the loras quota failed'));
  }

  protected override async afterCreate(draft: Draft, created: CustomObject): Promise<void> {
    if (draft.spec.default === true) await this.clearOtherDefaults(draft.accountId, created);
    if (draft.query.replaceMergedAddon === true) await this.unloadOthersOn(draft.accountId, created);
  }

  protected override async afterUpdate(accountId: string, before: CustomObject, after: CustomObject): Promise<void> {
    if (after.spec.default === true && before.spec.default !== true) await this.clearOtherDefaults(accountId, after);
  }

  /**
   * The docs: "To delete a default deployment you must delete all other deployments for the same
   * model first, or designate a different deployed model as the default", so that the model's name
   * always routes to one default while it is deployed anywhere. Refused only when the others have
   * no default among them (deleting this one would leave none).
   */
  protected override checkDeletable(accountId: string, id: string, name: string): void {
    const ns = accountNamespace(accountId);
    const all = this.client.list(ns).filter((o) => o.metadata.deletionTimestamp === undefined);
    const cur = all.find((o) => o.metadata.name === id);
    if (cur?.spec.default !== true) return;
    const others = all.filter((o) => o.metadata.name !== id && o.spec.model === cur.spec.model);
    if (others.length === 0 || others.some((o) => o.spec.default === true)) return;
    const names = others.map((o) => `accounts/${accountId}/${COLLECTION}/${o.metadata.name}`).join(', ');
    throw failedPrecondition(
      `default: "${name}" is the default deployed model of ${String(cur.spec.model)}, which ${others.length} other deployed model(s) also serve (${names}); make one of them the default first (PATCH default: true) or delete them first`,
      'ERR_DEFAULT_DEPLOYED_MODEL',
    );
  }

  /** The object is gone (the LoRA unloaded): its `loras` unit goes back. */
  protected override async afterRemove(accountId: string, id: string): Promise<void> {
    await releaseAll(this.ctx.db, accountId, quotaHolder(id)).catch((err: unknown) => this.log?.error({ err, deployedModel: id }, 'releasing the loras quota failed'));
  }

  /** One default per model: setting `default` on one clears it on the account's others. */
  async clearOtherDefaults(accountId: string, obj: CustomObject): Promise<void> {
    const ns = accountNamespace(accountId);
    for (const o of this.client.list(ns)) {
      if (o.metadata.name === obj.metadata.name || o.spec.model !== obj.spec.model || o.spec.default !== true) continue;
      await this.client.mergePatch(ns, o.metadata.name, { spec: { default: false } }).catch((e: unknown) => {
        if (statusCodeOf(e) !== 404) throw this.kubeError(e, accountId, o.metadata.name, 'update');
      });
    }
  }

  /** `replaceMergedAddon`: the new addon replaces every other one on its deployment (kubectl-made ones too). */
  async unloadOthersOn(accountId: string, obj: CustomObject): Promise<void> {
    const ns = accountNamespace(accountId);
    const { id } = parseResourceName(obj.spec.deployment, 'deployments', 'deployment');
    for (const o of this.client.list(ns)) {
      if (o.metadata.name === obj.metadata.name || !isOnDeployment(o.spec.deployment, accountId, id)) continue;
      await this.remove(accountId, o.metadata.name, o.metadata.name);
    }
  }
}
