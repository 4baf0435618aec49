// Supervised fine-tuning jobs: the `sftjobs.hearth.dev` objects of the account's namespace. Reads
// come from the watch-fed cache; writes go to the API server as `hearth-api`. The training dataset
// (and evaluation dataset) must be a READY dataset of the account (PostgreSQL) or a shared one.
// No PATCH (the published API has none). See mappers/sft-job.ts for the wire ⇄ object mapping.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SFTJobSpec } from '../../crds/sft-job.js';
import { getDataset } from '../../db/repositories/datasets.js';
import type { ApiContext } from '../context.js';
import { fromKubeError } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { CustomObject, ResourceStore } from '../kube/resource-store.js';
import { JOB_ANNOTATIONS } from '../mappers/batch-job.js';
import { COLLECTION, CreateSFTJobBody, RESUMABLE_STATES, SFTJobResponse, isCancellable, newSFTJobObject, sftJobName, specFromWire, toWire, wireState } from '../mappers/sft-job.js';
import { resourceNotFound } from '../resources.js';
import { parseOrThrow } from '../validation.js';
import { failedPrecondition, invalidArgument } from '../wire/errors.js';
import { listPage, type PageTokenCodec } from '../wire/pagination.js';
import { isResourceId, validateResourceId } from '../wire/resource-names.js';
import { AccountParams, Empty, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, loadObject, requireStore } from './common.js';
import { rfc3339 as iso } from '../../util/rfc3339.js';

const JobParams = AccountParams.extend({ supervisedFineTuningJobId: z.string().describe('The supervised fine-tuning job id.') });
/** `{id}:verb` paths: the id may not contain ':' (fastify regex parameter). */
const ID = ':supervisedFineTuningJobId(^[^:]+)';
const RESOURCE_TYPE = 'supervisedFineTuningJob';

/** Accounts whose datasets every account may train on (the public catalog, as for base models). */
export const SHARED_DATASET_ACCOUNTS: readonly string[] = ['fireworks'];

const CreateQuery = z.object({
  supervisedFineTuningJobId: z.string().optional().describe('The job id; random if absent.'),
});

/** Random ids look like Fireworks' resource ids: a letter, then 11 of [a-z0-9]. */
function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 12; i++) id += alphabet[bytes[i]! % 36];
  return id;
}

class SFTJobs {
  constructor(private readonly ctx: ApiContext) {}

  get store(): ResourceStore<CustomObject> {
    return requireStore(this.ctx.stores?.supervisedFineTuningJobs, 'supervised fine-tuning jobs');
  }

  kubeError(e: unknown, accountId: string, id: string, op: 'create' | 'update' | 'get' | 'delete'): unknown {
    return fromKubeError(e, { resourceType: RESOURCE_TYPE, name: sftJobName(accountId, id), op });
  }

  async load(accountId: string, id: string): Promise<CustomObject> {
    const store = this.store;
    if (!isResourceId(id)) throw resourceNotFound(accountId, COLLECTION, id);
    return loadObject(store, accountNamespace(accountId), id, {
      kubeError: (e) => this.kubeError(e, accountId, id, 'get'),
      missing: () => resourceNotFound(accountId, COLLECTION, id),
    });
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

  async create(accountId: string, body: Record<string, unknown>, q: z.infer<typeof CreateQuery>, createdBy: string): Promise<Record<string, unknown>> {
    const id = q.supervisedFineTuningJobId !== undefined ? validateResourceId(q.supervisedFineTuningJobId, 'supervisedFineTuningJobId') : randomId();
    const spec = specFromWire(body);
    parseOrThrow(SFTJobSpec, spec);
    const store = this.store;
    spec.dataset = await this.resolveDataset(accountId, 'dataset', spec.dataset as string);
    if (typeof spec.evaluationDataset === 'string' && spec.evaluationDataset !== '') {
      spec.evaluationDataset = await this.resolveDataset(accountId, 'evaluationDataset', spec.evaluationDataset);
    }
    const ns = accountNamespace(accountId);
    await this.ctx.ensureNamespace?.(accountId);
    try {
      return toWire(await store.create(newSFTJobObject({ accountId, namespace: ns, id, spec, createdBy })), accountId);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'create');
    }
  }

  async delete(accountId: string, id: string): Promise<void> {
    await this.load(accountId, id);
    try {
      if (!(await this.store.delete(accountNamespace(accountId), id))) throw resourceNotFound(accountId, COLLECTION, id);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'delete');
    }
  }

  async annotate(accountId: string, id: string, annotations: Record<string, string | null>): Promise<CustomObject> {
    try {
      return await this.store.mergePatch(accountNamespace(accountId), id, { metadata: { annotations } });
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'update');
    }
  }

  async cancel(accountId: string, id: string): Promise<void> {
    const state = wireState(await this.load(accountId, id));
    if (state === 'JOB_STATE_CANCELLING') return;
    if (!isCancellable(state)) {
      throw failedPrecondition(`supervised fine-tuning job "${sftJobName(accountId, id)}" is ${state}; only jobs that have not finished can be cancelled`, 'ERR_NOT_CANCELLABLE');
    }
    // A resume the controller has not acted on yet is withdrawn: the job stays where it stopped.
    const withdraw: Record<string, null> = state === 'JOB_STATE_RE_QUEUEING' ? { [JOB_ANNOTATIONS.resumeRequested]: null } : {};
    await this.annotate(accountId, id, { [JOB_ANNOTATIONS.cancelRequested]: iso(this.ctx.now()), ...withdraw });
  }

  async resume(accountId: string, id: string): Promise<Record<string, unknown>> {
    const cur = await this.load(accountId, id);
    const state = wireState(cur);
    if (state === 'JOB_STATE_RE_QUEUEING') return toWire(cur, accountId);
    if (!RESUMABLE_STATES.includes(state)) {
      throw failedPrecondition(
        `supervised fine-tuning job "${sftJobName(accountId, id)}" is ${state}; only ${RESUMABLE_STATES.join(', ')} jobs can be resumed`,
        'ERR_NOT_RESUMABLE',
      );
    }
    const updated = await this.annotate(accountId, id, { [JOB_ANNOTATIONS.resumeRequested]: iso(this.ctx.now()), [JOB_ANNOTATIONS.cancelRequested]: null });
    return toWire(updated, accountId);
  }

  list(accountId: string, q: z.infer<typeof ListQuery>, codec: PageTokenCodec): Record<string, unknown> {
    const all = this.store.list(accountNamespace(accountId)).map((o) => toWire(o, accountId));
    const page = listPage(all, q, { binding: { parent: `accounts/${accountId}/${COLLECTION}` }, codec, defaultOrderBy: 'name' });
    return listResponse(COLLECTION, page.items.map((d) => masked(d, q.readMask)), page);
  }
}

const tags = ['SupervisedFineTuningJobs'];

const sftJobs: FastifyPluginAsyncZod = async (app) => {
  const svc = new SFTJobs(app.hearth);

  app.get('/accounts/:accountId/supervisedFineTuningJobs', {
    schema: {
      summary: 'List Supervised Fine-tuning Jobs',
      description: 'Default order: name.',
      tags,
      operationId: 'Gateway_ListSupervisedFineTuningJobs',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema(COLLECTION, SFTJobResponse), ...errorResponses },
    },
    handler: async (request) => svc.list(request.params.accountId, request.query, app.hearth.pageTokens),
  });

  app.post('/accounts/:accountId/supervisedFineTuningJobs', {
    schema: {
      summary: 'Create Supervised Fine-tuning Job',
      description: 'dataset (and evaluationDataset) must be a READY dataset of the account or a shared one; exactly one of baseModel or warmStartFrom.',
      tags,
      operationId: 'Gateway_CreateSupervisedFineTuningJob',
      params: AccountParams,
      querystring: CreateQuery,
      body: CreateSFTJobBody,
      response: { 200: SFTJobResponse, ...errorResponses, 409: errorResponses[400] },
    },
    handler: async (request) => svc.create(request.params.accountId, request.body as Record<string, unknown>, request.query, request.principal.email),
  });

  app.get(`/accounts/:accountId/supervisedFineTuningJobs/${ID}`, {
    schema: {
      summary: 'Get Supervised Fine-tuning Job',
      tags,
      operationId: 'Gateway_GetSupervisedFineTuningJob',
      params: JobParams,
      querystring: ReadMaskQuery,
      response: { 200: SFTJobResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, supervisedFineTuningJobId } = request.params;
      return masked(toWire(await svc.load(accountId, supervisedFineTuningJobId), accountId), request.query.readMask);
    },
  });

  app.delete(`/accounts/:accountId/supervisedFineTuningJobs/${ID}`, {
    schema: {
      summary: 'Delete Supervised Fine-tuning Job',
      tags,
      operationId: 'Gateway_DeleteSupervisedFineTuningJob',
      params: JobParams,
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.delete(request.params.accountId, request.params.supervisedFineTuningJobId);
      return {};
    },
  });

  app.post(`/accounts/:accountId/supervisedFineTuningJobs/${ID}::cancel`, {
    schema: {
      summary: 'Cancel Supervised Fine-tuning Job',
      description: 'Cancels a job that has not finished (it reads JOB_STATE_CANCELLING until it stops); a finished job answers FAILED_PRECONDITION.',
      tags,
      operationId: 'Gateway_CancelSupervisedFineTuningJob',
      params: JobParams,
      body: z.strictObject({}).optional(),
      response: { 200: Empty, ...errorResponses },
    },
    handler: async (request) => {
      await svc.cancel(request.params.accountId, request.params.supervisedFineTuningJobId);
      return {};
    },
  });

  app.post(`/accounts/:accountId/supervisedFineTuningJobs/${ID}::resume`, {
    schema: {
      summary: 'Resume Supervised Fine-tuning Job',
      description: `Only ${RESUMABLE_STATES.join(', ')} jobs (others answer FAILED_PRECONDITION); the job reads JOB_STATE_RE_QUEUEING until it runs again.`,
      tags,
      operationId: 'Gateway_ResumeSupervisedFineTuningJob',
      params: JobParams,
      body: z.strictObject({}).optional(),
      response: { 200: SFTJobResponse, ...errorResponses },
    },
    handler: async (request) => svc.resume(request.params.accountId, request.params.supervisedFineTuningJobId),
  });
};

export default sftJobs;
