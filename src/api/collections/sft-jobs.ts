// Supervised fine-tuning jobs: the `sftjobs.hearth.dev` objects of the account's namespace, plus
// `:cancel` and `:resume`. The training dataset (and evaluation dataset) must be a READY dataset of
// the account (PostgreSQL) or a shared one. No update (the published API has none). See
// mappers/sft-job.ts for the wire ⇄ object mapping.
import { SFTJobSpec } from '../../crds/sft-job.js';
import { getDataset } from '../../db/repositories/datasets.js';
import type { ApiContext } from '../context.js';
import type { CustomObject } from '../kube/kind-client.js';
import { JOB_ANNOTATIONS } from '../mappers/batch-job.js';
import { COLLECTION, REFERENCES, RESUMABLE_STATES, isCancellable, newSFTJobObject, sftJobName, specFromWire, toWire, wireState } from '../mappers/sft-job.js';
import { ApiError, failedPrecondition } from '../wire/errors.js';
import { checkOutputModelFree, checkTrainable, estimateCost } from './sft-checks.js';
import { SHARED_ACCOUNT, isResourceId, parseReference, referenceNotFound } from '../wire/resource-names.js';
import { CollectionService, type CollectionKind, type Draft, type Wire } from './service.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

/** Accounts whose datasets every account may train on (the public catalog, as for base models). */
export const SHARED_DATASET_ACCOUNTS: readonly string[] = [SHARED_ACCOUNT];

export const SFT_JOBS: CollectionKind<CustomObject> = {
  collection: COLLECTION,
  resourceType: 'supervisedFineTuningJob',
  plural: 'supervised fine-tuning jobs',
  idField: 'supervisedFineTuningJobId',
  references: REFERENCES,
  client: (ctx) => ctx.kinds?.supervisedFineTuningJobs,
  // A malformed id names no job: NOT_FOUND, as for a missing one.
  strictPathIds: false,
  objectName: (id) => (isResourceId(id) ? id : undefined),
  fullName: sftJobName,
  toWire,
  specFromWire,
  newObject: newSFTJobObject,
  spec: SFTJobSpec,
  defaultOrderBy: 'name',
  assignIds: 'random',
};

export class SFTJobs extends CollectionService<CustomObject> {
  constructor(ctx: ApiContext) {
    super(ctx, SFT_JOBS);
  }

  /** Another account's dataset is NOT_FOUND (404) naming the field, before the references are rewritten. */
  override async normalizeReferences(accountId: string, spec: Record<string, unknown>): Promise<void> {
    for (const field of ['dataset', 'evaluationDataset']) {
      const m = typeof spec[field] === 'string' ? /^accounts\/([^/]+)\/datasets\/[^/]+$/.exec(spec[field]) : null;
      if (m && m[1] !== accountId && !SHARED_DATASET_ACCOUNTS.includes(m[1]!)) {
        throw new ApiError('NOT_FOUND', `${field}: dataset "${spec[field] as string}" not found`, [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: 'not found', reason: 'NOT_FOUND' }] }]);
      }
    }
    await super.normalizeReferences(accountId, spec);
  }

  /**
   * The datasets are stored under their full names, after checking them; the base model, the warm
   * start, the ranges and the output model are checked here too, so a job the controller would
   * fail in VALIDATING is refused before any Job or quota exists (src/api/collections/sft-checks.ts).
   */
  protected override async prepareCreate(draft: Draft): Promise<void> {
    void this.client; // UNAVAILABLE without a cluster, before the datasets are looked at
    const { accountId, spec } = draft;
    spec.dataset = await this.resolveDataset(accountId, 'dataset', spec.dataset as string);
    if (typeof spec.evaluationDataset === 'string' && spec.evaluationDataset !== '') {
      spec.evaluationDataset = await this.resolveDataset(accountId, 'evaluationDataset', spec.evaluationDataset);
    }
    await checkTrainable(this.ctx.db, accountId, spec);
    await checkOutputModelFree(this.ctx.db, accountId, draft.id, spec);
  }

  /** `:estimateCost`: GPU-hours and price of the job as the controller would run it. */
  async estimateCost(accountId: string, body: Record<string, unknown>): Promise<{ estimatedCost: { currencyCode: string; units: string; nanos: number } }> {
    const spec = this.kind.specFromWire(body);
    await this.normalizeReferences(accountId, spec);
    spec.dataset = await this.resolveDataset(accountId, 'dataset', spec.dataset as string);
    return estimateCost(this.ctx.db, accountId, spec);
  }

  /**
   * The full dataset name for `field` (references are parsed and rewritten to full names first,
   * see REFERENCES), after checking it names a READY dataset of the account or a shared one.
   */
  async resolveDataset(accountId: string, field: string, value: string): Promise<string> {
    const ref = REFERENCES.find((r) => r.field === field)!;
    const { accountId: owner, id, name } = parseReference(value, ref, accountId);
    if (SHARED_DATASET_ACCOUNTS.includes(owner) && owner !== accountId) return name;
    const row = await getDataset(this.ctx.db, accountId, id);
    if (!row) throw referenceNotFound(ref, name);
    if (row.state !== 'READY') throw failedPrecondition(`${field}: dataset "${name}" is ${row.state}; only READY datasets can be trained on`, 'ERR_DATASET_NOT_READY');
    return name;
  }

  async cancel(accountId: string, id: string): Promise<void> {
    const state = wireState(await this.load(accountId, id));
    if (state === 'JOB_STATE_CANCELLING') return;
    if (!isCancellable(state)) {
      throw failedPrecondition(`supervised fine-tuning job "${sftJobName(accountId, id)}" is ${state}; only jobs that have not finished can be cancelled`, 'ERR_NOT_CANCELLABLE');
    }
    // A resume the controller has not acted on yet is withdrawn: the job stays where it stopped.
    const withdraw: Record<string, null> = state === 'JOB_STATE_RE_QUEUEING' ? { [JOB_ANNOTATIONS.resumeRequested]: null } : {};
    await this.annotate(accountId, id, id, { [JOB_ANNOTATIONS.cancelRequested]: iso(this.ctx.now()), ...withdraw });
  }

  async resume(accountId: string, id: string): Promise<Wire> {
    const cur = await this.load(accountId, id);
    const state = wireState(cur);
    if (state === 'JOB_STATE_RE_QUEUEING') return toWire(cur, accountId);
    if (!RESUMABLE_STATES.includes(state)) {
      throw failedPrecondition(
        `supervised fine-tuning job "${sftJobName(accountId, id)}" is ${state}; only ${RESUMABLE_STATES.join(', ')} jobs can be resumed`,
        'ERR_NOT_RESUMABLE',
      );
    }
    const updated = await this.annotate(accountId, id, id, { [JOB_ANNOTATIONS.resumeRequested]: iso(this.ctx.now()), [JOB_ANNOTATIONS.cancelRequested]: null });
    return toWire(updated, accountId);
  }
}
