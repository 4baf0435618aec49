// Deployments: the `deployments.hearth.dev` objects of the account's namespace, plus `:undelete`
// and `:scale`. GPU quota is reserved on create, on an update or `:scale` that changes what the
// deployment must run, and on undelete. DELETE is a soft delete by default (an annotation the
// controller acts on). See mappers/deployment.ts for the wire ⇄ object mapping and the marks.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { DeploymentSpec, type DeploymentSpec as DeploymentSpecType } from '../../crds/deployment.js';
import { DEPLOYMENT } from '../../crds/registry.js';
import { releaseAll } from '../../db/repositories/quotas.js';
import type { ApiContext } from '../context.js';
import { statusCodeOf } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import { isOnDeployment, quotaHolder as deployedModelQuotaHolder } from '../mappers/deployed-model.js';
import {
  ATOMIC_PATHS,
  COLLECTION,
  OUTPUT_ONLY_FIELDS,
  REFERENCES,
  SOFT_DELETE_ANNOTATIONS,
  WRITABLE_FIELDS,
  isDeleted,
  isMarkedDeleted,
  newDeploymentObject,
  specFromWire,
  toWire,
  wireState,
  type DeploymentObject,
} from '../mappers/deployment.js';
import { applyShape, resolveShape } from '../mappers/deployment-shape.js';
import { SHAPE_SETTINGS } from '../../fleet/deployment-shapes.js';
import { requiredGpus } from '../../fleet/gpus.js';
import { giveBackRaise, releaseDeploymentGpus, reserveDeploymentGpus, type Raise } from '../quota/deployment-quota.js';
import { parseOrThrow } from '../validation.js';
import { failedPrecondition } from '../wire/errors.js';
import { CollectionService, type CollectionKind, type CreateInput, type Draft, type Wire } from './service.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

export const DEPLOYMENTS: CollectionKind<DeploymentObject> = {
  collection: COLLECTION,
  resourceType: 'deployment',
  plural: 'deployments',
  idField: 'deploymentId',
  references: REFERENCES,
  client: (ctx) => ctx.deployments,
  strictPathIds: true,
  // No toWire here: Deployments.toWire maps with the soft-delete retention and reuses views.
  specFromWire,
  newObject: newDeploymentObject,
  spec: DeploymentSpec,
  registry: DEPLOYMENT,
  // Output-only fields are ignored (AIP-203); others are not Deployment fields.
  updateMask: { writable: WRITABLE_FIELDS, outputOnly: OUTPUT_ONLY_FIELDS, atomic: ATOMIC_PATHS },
  defaultOrderBy: 'createTime',
  assignIds: 'random',
  // A caller's id may name an object this replica has not seen yet: ask the API server (before
  // any GPUs are held for it). A fresh random id cannot (1 in ~10^18), so it skips that round
  // trip — about a third of a create's time — and the API server's 409 still guards the name.
  checkIdFreeFirst: true,
  isDeleted,
};

/** A wire view computed from one cached object (objects are replaced, not changed, on every event). */
interface WireView {
  accountId: string;
  resourceVersion: string;
  wire: Wire;
}

export class Deployments extends CollectionService<DeploymentObject> {
  /**
   * Wire views of cached objects, so a GET or list of an unchanged object does not map it again
   * (the mapping — spec copy, durations, omitting unset fields — was most of a GET's own CPU time).
   * Keyed by the object itself and checked against its resourceVersion; views are only serialized,
   * never changed. Objects without a resourceVersion (validateOnly) are mapped every time.
   */
  readonly #views = new WeakMap<DeploymentObject, WireView>();

  constructor(ctx: ApiContext, log: FastifyBaseLogger) {
    super(ctx, DEPLOYMENTS, log);
  }

  override toWire(obj: DeploymentObject, accountId: string): Wire {
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined) return toWire(obj, accountId, this.ctx.softDeleteRetentionMs);
    const seen = this.#views.get(obj);
    if (seen && seen.resourceVersion === rv && seen.accountId === accountId) return seen.wire;
    const wire = toWire(obj, accountId, this.ctx.softDeleteRetentionMs);
    this.#views.set(obj, { accountId, resourceVersion: rv, wire });
    return wire;
  }

  /** A deployment from a shape: the shape's settings fill the fields the caller left out (mappers/deployment-shape.ts). */
  override async create(accountId: string, input: CreateInput): Promise<Wire> {
    const ref = input.resource.deploymentShape;
    if (typeof ref !== 'string' || ref === '') return super.create(accountId, input);
    return super.create(accountId, { ...input, resource: applyShape(input.resource, resolveShape(ref, accountId)) });
  }

  /**
   * A PATCH that sets `deploymentShape` applies the shape as a create does: the shape's settings
   * the body leaves out join the body (and an explicit `updateMask`). A PATCH of a shape setting
   * alone is checked against the deployment's shape in checkUpdate.
   */
  override async update(accountId: string, id: string, body: Wire, updateMask: string | undefined): Promise<Wire> {
    return this.#givingBackOnFailure(() => this.#update(accountId, id, body, updateMask));
  }

  async #update(accountId: string, id: string, body: Wire, updateMask: string | undefined): Promise<Wire> {
    const ref = body.deploymentShape;
    const masked = updateMask === undefined || updateMask.split(',').some((p) => p.trim() === 'deploymentShape' || p.trim() === '*');
    if (typeof ref !== 'string' || ref === '' || !masked) return super.update(accountId, id, body, updateMask);
    const shaped = applyShape(body, resolveShape(ref, accountId));
    const added = SHAPE_SETTINGS.filter((f) => body[f] === undefined || body[f] === null);
    const mask = updateMask === undefined || updateMask.trim() === '*' ? updateMask : [updateMask, ...added].join(',');
    return super.update(accountId, id, shaped, mask);
  }

  /** The quota raises of the request in progress: given back if its Kubernetes write fails. */
  readonly #raises = new AsyncLocalStorage<Raise[]>();

  /** Runs a write; if it fails, gives back what its quota checks raised (update, :scale, :undelete). */
  async #givingBackOnFailure<R>(write: () => Promise<R>): Promise<R> {
    const raises: Raise[] = [];
    try {
      return await this.#raises.run(raises, write);
    } catch (e) {
      // Newest first: a retried read-modify-write may have raised twice.
      for (const r of raises.reverse()) await giveBackRaise(this.ctx.db, r).catch((err: unknown) => this.log?.error({ err }, 'giving back a quota raise failed'));
      throw e;
    }
  }

  #remember(raise: Raise | undefined): void {
    if (raise) this.#raises.getStore()?.push(raise);
  }

  protected override async reserve(draft: Draft, dryRun: boolean): Promise<void> {
    const spec = draft.parsed as DeploymentSpecType;
    await reserveDeploymentGpus(this.ctx.db, { accountId: draft.accountId, deploymentId: draft.id, spec, ...(dryRun ? { dryRun } : {}) });
  }

  /** Same id created concurrently: its hold is its own; anything else, give the GPUs back. */
  protected override async unreserve(draft: Draft, error: unknown): Promise<void> {
    if (statusCodeOf(error) === 409) return;
    await releaseDeploymentGpus(this.ctx.db, draft.accountId, draft.id).catch((err: unknown) => this.log?.error({ err }, 'releasing quota failed'));
  }

  protected override checkWritable(accountId: string, id: string, cur: DeploymentObject): void {
    if (isDeleted(cur)) throw failedPrecondition(`deployment "${this.fullName(accountId, id)}" is deleted; undelete it first`);
  }

  protected override async checkUpdate(accountId: string, id: string, cur: DeploymentObject, spec: Record<string, unknown>): Promise<void> {
    this.checkShapeKept(accountId, cur, spec);
    const parsed = this.checkSpecUpdate(cur, spec) as DeploymentSpecType;
    await this.reserveIfChanged(accountId, id, cur, parsed);
  }

  /**
   * A deployment from a shape keeps agreeing with it: when an update changes the shape or one of
   * its settings, the result must hold the shape's settings (400 naming the field and the shape).
   */
  checkShapeKept(accountId: string, cur: DeploymentObject, spec: Record<string, unknown>): void {
    const ref = spec.deploymentShape;
    if (typeof ref !== 'string' || ref === '') return;
    const changed = ['deploymentShape', ...SHAPE_SETTINGS].some((f) => JSON.stringify(spec[f]) !== JSON.stringify(cur.spec[f]));
    if (changed) applyShape(spec, resolveShape(ref, accountId));
  }

  /** Reserves when the GPUs the deployment must run changed. */
  async reserveIfChanged(accountId: string, id: string, cur: DeploymentObject, next: DeploymentSpecType): Promise<void> {
    const before = DeploymentSpec.safeParse(cur.spec);
    const same = before.success && requiredGpus(before.data) === requiredGpus(next) && before.data.acceleratorType === next.acceleratorType;
    if (same) return;
    const generation = (cur.metadata.generation ?? 0) + 1;
    this.#remember(await reserveDeploymentGpus(this.ctx.db, { accountId, deploymentId: id, spec: next, generation, placedRegion: cur.status?.region as string | undefined }));
  }

  /** A soft delete (the mark) unless `hard`; either way the GPUs go back. */
  override async delete(accountId: string, id: string, q: { hard?: boolean } = {}): Promise<void> {
    const cur = await this.load(accountId, id);
    if (q.hard) {
      if (!(await this.remove(accountId, id, id))) throw this.notFound(accountId, id);
    } else if (!isDeleted(cur)) {
      await this.annotate(accountId, id, id, { [SOFT_DELETE_ANNOTATIONS.deleteTime]: iso(this.ctx.now()) });
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
    const client = this.ctx.kinds?.deployedModels;
    if (!client) return;
    const ns = accountNamespace(accountId);
    const full = this.fullName(accountId, id);
    for (const dm of client.list(ns).filter((o) => isOnDeployment(o.spec.deployment, accountId, id))) {
      try {
        await client.delete(ns, dm.metadata.name);
        await releaseAll(this.ctx.db, accountId, deployedModelQuotaHolder(dm.metadata.name));
      } catch (err) {
        this.log?.error({ err, deployment: full, deployedModel: dm.metadata.name }, 'unloading a LoRA of a deleted deployment failed');
      }
    }
  }

  async undelete(accountId: string, id: string): Promise<Wire> {
    return this.#givingBackOnFailure(() => this.#undelete(accountId, id));
  }

  async #undelete(accountId: string, id: string): Promise<Wire> {
    const cur = await this.load(accountId, id);
    const state = wireState(cur);
    const name = this.fullName(accountId, id);
    if (!isMarkedDeleted(cur) && state !== 'FAILED') {
      throw failedPrecondition(`deployment "${name}" is ${state}; only DELETED or FAILED deployments can be undeleted`, 'ERR_NOT_DELETED');
    }
    if (cur.metadata.deletionTimestamp !== undefined) throw failedPrecondition(`deployment "${name}" is being removed from the cluster`, 'ERR_NOT_DELETED');
    const spec = DeploymentSpec.safeParse(cur.spec);
    if (spec.success && isMarkedDeleted(cur)) {
      const generation = cur.metadata.generation ?? 1;
      this.#remember(await reserveDeploymentGpus(this.ctx.db, { accountId, deploymentId: id, spec: spec.data, generation, placedRegion: cur.status?.region as string | undefined }));
    }
    const annotations = {
      [SOFT_DELETE_ANNOTATIONS.deleteTime]: null,
      [SOFT_DELETE_ANNOTATIONS.undeleteTime]: iso(this.ctx.now()),
    };
    return this.toWire(await this.annotate(accountId, id, id, annotations), accountId);
  }

  async scale(accountId: string, id: string, replicaCount: number): Promise<void> {
    return this.#givingBackOnFailure(() => this.#scale(accountId, id, replicaCount));
  }

  async #scale(accountId: string, id: string, replicaCount: number): Promise<void> {
    const cur = await this.load(accountId, id);
    this.checkWritable(accountId, id, cur);
    const parsed = parseOrThrow(DeploymentSpec, { ...cur.spec, replicaCount });
    await this.reserveIfChanged(accountId, id, cur, parsed);
    await this.client.mergePatch(accountNamespace(accountId), id, { spec: { replicaCount } }).catch((e: unknown) => {
      throw this.kubeError(e, accountId, id, 'update');
    });
  }
}
