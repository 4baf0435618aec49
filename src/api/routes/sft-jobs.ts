// Supervised fine-tuning jobs over HTTP: the standard collection routes (no PATCH: the published
// API has none), `:cancel` and `:resume`. The behaviour is in src/api/collections/sft-jobs.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { collectionRoutes, itemParams, itemPath } from '../collections/routes.js';
import { SFTJobs } from '../collections/sft-jobs.js';
import { CreateSFTJobBody, RESUMABLE_STATES, SFTJobResponse } from '../mappers/sft-job.js';
import { AccountParams, Empty, errorResponses } from './common.js';

const JobParams = AccountParams.extend({ supervisedFineTuningJobId: z.string().describe('The supervised fine-tuning job id.') });
const tags = ['SupervisedFineTuningJobs'];

const CreateQuery = z.object({
  supervisedFineTuningJobId: z.string().optional().describe('The job id; random if absent.'),
});

const sftJobs: FastifyPluginAsyncZod = async (app) => {
  const svc = new SFTJobs(app.hearth);

  collectionRoutes(app, svc, {
    tags,
    names: { one: 'SupervisedFineTuningJob', many: 'SupervisedFineTuningJobs' },
    titles: { one: 'Supervised Fine-tuning Job', many: 'Supervised Fine-tuning Jobs' },
    params: JobParams,
    response: SFTJobResponse,
    list: { description: 'Default order: name.' },
    create: {
      description: 'dataset (and evaluationDataset) must be a READY dataset of the account or a shared one; exactly one of baseModel or warmStartFrom.',
      query: CreateQuery,
      body: CreateSFTJobBody,
      idFrom: 'query',
      conflict: true,
    },
    delete: {},
  });

  app.post(itemPath(svc, 'cancel'), {
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
      const { accountId, id } = itemParams(svc, request);
      await svc.cancel(accountId, id);
      return {};
    },
  });

  app.post(itemPath(svc, 'resume'), {
    schema: {
      summary: 'Resume Supervised Fine-tuning Job',
      description: `Only ${RESUMABLE_STATES.join(', ')} jobs (others answer FAILED_PRECONDITION); the job reads JOB_STATE_RE_QUEUEING until it runs again.`,
      tags,
      operationId: 'Gateway_ResumeSupervisedFineTuningJob',
      params: JobParams,
      body: z.strictObject({}).optional(),
      response: { 200: SFTJobResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, id } = itemParams(svc, request);
      return svc.resume(accountId, id);
    },
  });
};

export default sftJobs;
