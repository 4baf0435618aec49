// Batch inference jobs over HTTP: the standard collection routes of the published API (create,
// get, list, delete; no update) and Hearth's `:cancel`. The behaviour is in
// src/api/collections/batch-inference-jobs.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { BatchInferenceJobs } from '../collections/batch-inference-jobs.js';
import { collectionRoutes } from '../collections/routes.js';
import { BatchInferenceJobResponse, CreateBatchInferenceJobBody } from '../mappers/batch-inference-job.js';
import { AccountParams } from './common.js';

const JobParams = AccountParams.extend({ batchInferenceJobId: z.string().describe('The batch inference job id.') });

const CreateQuery = z.object({
  batchInferenceJobId: z.string().optional().describe('ID of the batch inference job; random if absent.'),
});

const batchInferenceJobs: FastifyPluginAsyncZod = async (app) => {
  const svc = new BatchInferenceJobs(app.hearth);

  collectionRoutes(app, svc, {
    tags: ['BatchInferenceJobs'],
    names: { one: 'BatchInferenceJob', many: 'BatchInferenceJobs' },
    titles: { one: 'Batch Inference Job', many: 'Batch Inference Jobs' },
    params: JobParams,
    response: BatchInferenceJobResponse,
    list: { description: 'Default order: name.' },
    create: {
      description:
        'model must exist (404 otherwise), inputDatasetId must be a READY dataset of the account (404 / 400), outputDatasetId a dataset that does not exist yet (400; default <job>-output). Input: JSONL, one {"custom_id", "body"} per line, body a chat completion (messages) or completion (prompt) request. Output: one line per input line with custom_id, line and the response or the error.',
      query: CreateQuery,
      body: CreateBatchInferenceJobBody,
      idFrom: 'query',
      conflict: true,
    },
    delete: { description: 'Deletes the job; a running job stops. Its output dataset stays.' },
    verbs: [
      {
        method: 'POST',
        verb: 'cancel',
        operation: 'CancelBatchInferenceJob',
        summary: 'Cancel Batch Inference Job',
        description: 'Hearth extension: stops a job that has not ended (JOB_STATE_CANCELLING until it stops, then JOB_STATE_CANCELLED); the lines answered so far stay in the output dataset. An ended job answers FAILED_PRECONDITION.',
        body: z.strictObject({}).optional(),
        response: BatchInferenceJobResponse,
        handler: (accountId, id) => svc.cancel(accountId, id),
      },
    ],
  });
};

export default batchInferenceJobs;
