// Supervised fine-tuning jobs over HTTP: the standard collection routes (no PATCH: the published
// API has none), `:cancel` and `:resume`. The behaviour is in src/api/collections/sft-jobs.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { collectionRoutes } from '../collections/routes.js';
import { SFTJobs } from '../collections/sft-jobs.js';
import { CreateSFTJobBody, RESUMABLE_STATES, SFTJobResponse } from '../mappers/sft-job.js';
import { AccountParams, errorResponses } from './common.js';

const JobParams = AccountParams.extend({ supervisedFineTuningJobId: z.string().describe('The supervised fine-tuning job id.') });

const CreateQuery = z.object({
  supervisedFineTuningJobId: z.string().optional().describe('The job id; random if absent.'),
});

const sftJobs: FastifyPluginAsyncZod = async (app) => {
  const svc = new SFTJobs(app.hearth);

  collectionRoutes(app, svc, {
    tags: ['SupervisedFineTuningJobs'],
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
    verbs: [
      {
        method: 'POST',
        verb: 'cancel',
        operation: 'CancelSupervisedFineTuningJob',
        summary: 'Cancel Supervised Fine-tuning Job',
        description: 'Cancels a job that has not finished (it reads JOB_STATE_CANCELLING until it stops); a finished job answers FAILED_PRECONDITION.',
        body: z.strictObject({}).optional(),
        handler: (accountId, id) => svc.cancel(accountId, id),
      },
      {
        method: 'POST',
        verb: 'resume',
        operation: 'ResumeSupervisedFineTuningJob',
        summary: 'Resume Supervised Fine-tuning Job',
        description: `Only ${RESUMABLE_STATES.join(', ')} jobs (others answer FAILED_PRECONDITION); the job reads JOB_STATE_RE_QUEUEING until it runs again.`,
        body: z.strictObject({}).optional(),
        response: SFTJobResponse,
        handler: (accountId, id) => svc.resume(accountId, id),
      },
    ],
  });

  app.route({
    method: 'POST',
    url: '/accounts/:accountId/supervisedFineTuningJobs::estimateCost',
    schema: {
      summary: 'Estimate the cost of a Supervised Fine-tuning Job',
      description: 'GPU-hours from the dataset\'s estimated tokens × epochs on the GPU the controller would choose first for the base model, at the catalog\'s price per GPU-hour.',
      tags: ['SupervisedFineTuningJobs'],
      operationId: 'Gateway_EstimateSupervisedFineTuningJobCost',
      params: AccountParams,
      body: CreateSFTJobBody,
      response: { 200: EstimateCostResponse, ...errorResponses },
    },
    handler: async (request) => svc.estimateCost((request.params as { accountId: string }).accountId, request.body as Record<string, unknown>),
  });
};

const EstimateCostResponse = z
  .object({ estimatedCost: z.object({ currencyCode: z.string(), units: z.string(), nanos: z.number().int() }).describe('An estimate of the fine-tuning costs.') })
  .describe('The estimated cost.');

export default sftJobs;
