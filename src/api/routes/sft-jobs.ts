// Supervised fine-tuning jobs over HTTP: the standard collection routes (no PATCH: the published
// API has none), `:cancel` and `:resume`. The behaviour is in src/api/collections/sft-jobs.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { collectionRoutes } from '../collections/routes.js';
import { SFTJobs } from '../collections/sft-jobs.js';
import { CreateSFTJobBody, RESUMABLE_STATES, SFTJobResponse } from '../mappers/sft-job.js';
import { AccountParams } from './common.js';

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
};

export default sftJobs;
