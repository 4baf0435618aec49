// Supervised fine-tuning jobs: the `sftjobs.hearth.dev` objects of the account's namespace, plus
// `:cancel` and `:resume`. The training dataset (and evaluation dataset) must be a READY dataset of
// the account (PostgreSQL) or a shared one. No update (the published API has none). See
// mappers/sft-job.ts for the wire ⇄ object mapping.
import { SFTJobSpec } from '../../crds/sft-job.js';
import { getDataset } from '../../db/repositories/datasets.js';
import type { ApiContext } from '../context.js';
import type { CustomObject } from '../kube/kind-client.js';
import { JOB_ANNOTATIONS } from '../mappers/batch-job.js';
import { COLLECTION, RESUMABLE_STATES, isCancellable, newSFTJobObject, sftJobName, specFromWire, toWire, wireState } from '../mappers/sft-job.js';
import { failedPrecondition, invalidArgument } from '../wire/errors.js';
import { isResourceId } from '../wire/resource-names.js';
import { CollectionService, type CollectionKind, type Draft, type Wire } from './service.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

/** Accounts whose datasets every account may train on (the public catalog, as for base models). */
export const SHARED_DATASET_ACCOUNTS: readonly string[] = ['fireworks'];

export const SFT_JOBS: CollectionKind<CustomObject> = {
  collection: COLLECTION,
  resourceType: 'supervisedFineTuningJob',
  plural: 'supervised fine-tuning jobs',
  idField: 'supervisedFineTuningJobId',
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

  /** The datasets are stored under their full names, after checking them. */
  protected override async prepareCreate(draft: Draft): Promise<void> {
    void this.client; // UNAVAILABLE without a cluster, before the datasets are looked at
    const { accountId, spec } = draft;
    spec.dataset = await this.resolveDataset(accountId, 'dataset', spec.dataset as string);
    if (typeof spec.evaluationDataset === 'string' && spec.evaluationDataset !== '') {
      spec.evaluationDataset = await this.resolveDataset(accountId, 'evaluationDataset', spec.evaluationDataset);
    }
  }

  /**
   * The full dataset name for `field`, after checking it names a READY dataset of the account or
   * a shared one. Another account's dataset reads exactly like a missing one.
   */
  async resolveDataset(accountId: string, field: string, value: string): Promise<string> {
    const parts = value.split('/');
    let owner = accountId;
    let id = value;
    if (parts.length === 4 && parts[0] === 'accounts' && parts[2] === 'datasets') [owner, id] = [parts[1]!, parts[3]!];
    else if (!isResourceId(value)) throw invalidArgument(field, 'must be a dataset name: accounts/{account}/datasets/{dataset} (or the id of a dataset of this account)', 'FORMAT');
    const name = `accounts/${owner}/datasets/${id}`;
    if (SHARED_DATASET_ACCOUNTS.includes(owner) && owner !== accountId) return name;
    const row = owner === accountId ? await getDataset(this.ctx.db, accountId, id) : undefined;
    if (!row) throw invalidArgument(field, `dataset "${name}" not found`, 'NOT_FOUND');
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
