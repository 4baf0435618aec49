// Batch inference jobs: the `batchinferencejobs.hearth.dev` objects of the account's namespace
// (the BatchInferenceJob controller runs them), plus Hearth's `:cancel`. Create checks every
// reference before anything is written, each failure naming its field:
//   model              a model of the account (or a public one; `fireworks` models by name), a
//                      deployment of the account (`<model>#accounts/{a}/deployments/{d}`) or a
//                      deployed model of the account — else 404
//   inputDatasetId     a dataset of the account — else 404; READY — else 400
//   outputDatasetId    a dataset that does not exist yet (default `<job>-output`) — else 400
//   continuedFromJobName  an ended job of the account — else 404 / 400; its model and input are the default
// No update (the published API has none). See mappers/batch-inference-job.ts for the wire mapping.
import { BatchInferenceJobSpec } from '../../crds/batch-inference-job.js';
import { BATCH_INFERENCE_JOB } from '../../crds/registry.js';
import { getDataset } from '../../db/repositories/datasets.js';
import { getModel } from '../../db/repositories/models.js';
import type { ApiContext } from '../context.js';
import type { CustomObject } from '../kube/kind-client.js';
import { accountNamespace } from '../kube/namespaces.js';
import {
  COLLECTION,
  FINAL_STATES,
  batchInferenceJobName,
  datasetName,
  newBatchInferenceJobObject,
  specFromWire,
  toWire,
  wireState,
} from '../mappers/batch-inference-job.js';
import { failedPrecondition, fieldNotFound, invalidArgument } from '../wire/errors.js';
import { isResourceId } from '../wire/resource-names.js';
import { CollectionService, type CollectionKind, type Draft, type Wire } from './service.js';

/** Models every account may name by id (the public catalog). */
const SHARED_MODELS_ACCOUNT = 'fireworks';

export const BATCH_INFERENCE_JOBS: CollectionKind<CustomObject> = {
  collection: COLLECTION,
  resourceType: 'batchInferenceJob',
  plural: 'batch inference jobs',
  idField: 'batchInferenceJobId',
  client: (ctx) => ctx.kinds?.batchInferenceJobs,
  strictPathIds: false,
  objectName: (id) => (isResourceId(id) ? id : undefined),
  fullName: batchInferenceJobName,
  toWire,
  specFromWire,
  newObject: newBatchInferenceJobObject,
  spec: BatchInferenceJobSpec,
  registry: BATCH_INFERENCE_JOB,
  defaultOrderBy: 'name',
  assignIds: 'random',
};

/** A reference that names nothing the caller can see: 404 naming the field. */
const referenceNotFound = fieldNotFound;

interface Ref {
  account: string;
  id: string;
}

/** `accounts/{a}/<collection>/{id}` or, with `short`, `{a}/{id}`; with `bare`, an id of the caller's account. */
function parseRef(value: string, collection: string, accountId: string, opts: { bare?: boolean; short?: boolean } = {}): Ref | undefined {
  const full = new RegExp(`^accounts/([^/]+)/${collection}/([^/]+)$`).exec(value);
  if (full) return { account: full[1]!, id: full[2]! };
  const short = opts.short ? /^([^/]+)\/([^/]+)$/.exec(value) : null;
  if (short) return { account: short[1]!, id: short[2]! };
  return opts.bare && /^[^/]+$/.test(value) ? { account: accountId, id: value } : undefined;
}

const MODEL_FORMS =
  'must be accounts/{account}/models/{model} (optionally #accounts/{account}/deployments/{deployment}) or accounts/{account}/deployedModels/{deployedModel}';

export class BatchInferenceJobs extends CollectionService<CustomObject> {
  constructor(ctx: ApiContext) {
    super(ctx, BATCH_INFERENCE_JOBS);
  }

  protected override async prepareCreate(draft: Draft): Promise<void> {
    void this.client; // UNAVAILABLE without a cluster, before anything else is looked at
    const { accountId, spec } = draft;
    if (typeof spec.continuedFromJobName === 'string') await this.#continueFrom(accountId, spec);
    if (typeof spec.model !== 'string') throw invalidArgument('model', 'is required unless continuedFromJobName is set', 'REQUIRED');
    if (typeof spec.inputDatasetId !== 'string') throw invalidArgument('inputDatasetId', 'is required unless continuedFromJobName is set', 'REQUIRED');
    await this.#checkModel(accountId, spec.model);
    spec.inputDatasetId = await this.#inputDataset(accountId, spec.inputDatasetId);
    spec.outputDatasetId = await this.#outputDataset(accountId, typeof spec.outputDatasetId === 'string' ? spec.outputDatasetId : `${draft.id}-output`);
  }

  /** The job continued must be an ended job of the account; its model and input are the defaults. */
  async #continueFrom(accountId: string, spec: Record<string, unknown>): Promise<void> {
    const value = spec.continuedFromJobName as string;
    const ref = parseRef(value, COLLECTION, accountId);
    if (!ref) throw invalidArgument('continuedFromJobName', `must be accounts/${accountId}/${COLLECTION}/{job}`, 'FORMAT');
    const name = batchInferenceJobName(ref.account, ref.id);
    const prev = await this.#own(this.client, accountId, ref);
    if (!prev) throw referenceNotFound('continuedFromJobName', 'batchInferenceJob', name);
    const state = wireState(prev);
    if (!FINAL_STATES.includes(state)) throw failedPrecondition(`continuedFromJobName: batch inference job "${name}" is ${state}; only a job that has ended can be continued`, 'ERR_JOB_NOT_ENDED');
    spec.continuedFromJobName = name;
    spec.model ??= prev.spec.model ?? prev.status?.model;
    spec.inputDatasetId ??= prev.spec.inputDatasetId ?? prev.status?.inputDatasetId;
  }

  /** An object of the caller's account in `client`; another account's reads as missing. */
  async #own(client: { get(ns: string, name: string): Promise<unknown> } | undefined, accountId: string, ref: Ref): Promise<CustomObject | undefined> {
    if (!client || ref.account !== accountId || !isResourceId(ref.id)) return undefined;
    return (await client.get(accountNamespace(accountId), ref.id)) as CustomObject | undefined;
  }

  /** The model runs somewhere the caller may use: a deployed model or deployment of the account, or a model it can see. */
  async #checkModel(accountId: string, model: string): Promise<void> {
    const [modelPart = '', deploymentPart] = model.split('#', 2);
    const deployed = deploymentPart === undefined ? parseRef(model, 'deployedModels', accountId) : undefined;
    if (deployed) {
      if (!(await this.#own(this.ctx.kinds?.deployedModels, accountId, deployed))) throw referenceNotFound('model', 'deployedModel', `accounts/${deployed.account}/deployedModels/${deployed.id}`);
      return;
    }
    const m = parseRef(modelPart, 'models', accountId, { short: true });
    if (!m) throw invalidArgument('model', MODEL_FORMS, 'FORMAT');
    if (deploymentPart !== undefined) await this.#checkDeployment(accountId, deploymentPart);
    await this.#checkModelRow(accountId, m);
  }

  /** A model of the account, another account's public one, or a shared (`fireworks`) one, taken by name. */
  async #checkModelRow(accountId: string, m: Ref): Promise<void> {
    if (m.account === SHARED_MODELS_ACCOUNT) return;
    const row = await getModel(this.ctx.db, m.account, m.id);
    if (!row || (m.account !== accountId && row.spec.public !== true)) throw referenceNotFound('model', 'model', `accounts/${m.account}/models/${m.id}`);
  }

  async #checkDeployment(accountId: string, value: string): Promise<void> {
    const d = parseRef(value, 'deployments', accountId, { short: true });
    if (!d) throw invalidArgument('model', MODEL_FORMS, 'FORMAT');
    if (!(await this.#own(this.ctx.deployments, accountId, d))) throw referenceNotFound('model', 'deployment', `accounts/${d.account}/deployments/${d.id}`);
  }

  async #inputDataset(accountId: string, value: string): Promise<string> {
    const ref = parseRef(value, 'datasets', accountId, { bare: true });
    if (!ref || !isResourceId(ref.id)) throw invalidArgument('inputDatasetId', 'must be a dataset: accounts/{account}/datasets/{dataset} or the id of a dataset of this account', 'FORMAT');
    const name = datasetName(ref.account, ref.id);
    const row = ref.account === accountId ? await getDataset(this.ctx.db, accountId, ref.id) : undefined;
    if (!row) throw referenceNotFound('inputDatasetId', 'dataset', name);
    if (row.state !== 'READY') throw failedPrecondition(`inputDatasetId: dataset "${name}" is ${row.state}; only a READY dataset can be read`, 'ERR_DATASET_NOT_READY');
    return name;
  }

  async #outputDataset(accountId: string, value: string): Promise<string> {
    const ref = parseRef(value, 'datasets', accountId, { bare: true });
    if (!ref || !isResourceId(ref.id) || ref.account !== accountId) {
      throw invalidArgument('outputDatasetId', `must be a new dataset of this account: accounts/${accountId}/datasets/{dataset} or its id`, 'FORMAT');
    }
    const name = datasetName(accountId, ref.id);
    if (await getDataset(this.ctx.db, accountId, ref.id)) throw invalidArgument('outputDatasetId', `dataset "${name}" already exists; name a dataset that does not exist yet`, 'ALREADY_EXISTS');
    return name;
  }

  /** Stops a job that has not ended; the lines it answered stay in its output dataset. */
  async cancel(accountId: string, id: string): Promise<Wire> {
    const { after } = await this.modify(accountId, id, (cur) => {
      const state = wireState(cur);
      if (state === 'JOB_STATE_CANCELLING') return undefined;
      if (FINAL_STATES.includes(state) || state === 'JOB_STATE_DELETING') {
        throw failedPrecondition(`batch inference job "${batchInferenceJobName(accountId, id)}" is ${state}; only a job that has not ended can be cancelled`, 'ERR_NOT_CANCELLABLE');
      }
      return { ...cur, spec: { ...cur.spec, cancelRequested: true } };
    });
    return toWire(after, accountId);
  }
}
