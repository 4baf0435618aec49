// Batch jobs over HTTP: the standard collection routes (src/api/collections/routes.ts), `:cancel`
// and `:getLogs`. The behaviour (numeric ids, references, :cancel rules) is in
// src/api/collections/batch-jobs.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { BatchJobs } from '../collections/batch-jobs.js';
import { collectionRoutes } from '../collections/routes.js';
import { BatchJobResponse, CreateBatchJobBody, GetLogsResponse, MUTABLE_FIELDS, UpdateBatchJobBody } from '../mappers/batch-job.js';
import { AccountParams, queryBool } from './common.js';

const BatchJobParams = AccountParams.extend({ batchJobId: z.string().describe('The batch job id (numeric).') });
const MAX_BATCH_DELETE = 1000;

const GetLogsQuery = z.object({
  ranks: z
    .union([z.string(), z.array(z.string()).max(1024)])
    .optional()
    .describe('Ranks to return lines of (repeatable); all ranks if absent.'),
  pageSize: z.coerce.number().int().min(0).optional().describe('Maximum lines (default 100, at most 10000; larger values are coerced to 10000).'),
  pageToken: z.string().max(4096).optional().describe('nextPageToken of the previous call; every other parameter must match that call.'),
  filter: z.string().max(4096).optional().describe('Only lines containing this text.'),
  readMask: z.string().max(4096).optional().describe('Fields of each entry to return; empty or "*" for all.'),
  startTime: z.string().max(64).optional().describe('RFC 3339; lines before it are left out. Unset: the last pageSize lines.'),
  startFromHead: queryBool('Oldest first (default false: newest first).'),
});

const BatchDeleteBody = z.strictObject({
  names: z
    .array(z.string().max(512))
    .min(1)
    .max(MAX_BATCH_DELETE)
    .describe('Full names of the batch jobs: accounts/{account}/clusters/{cluster}/batchJobs/{id} (accounts/{account}/batchJobs/{id} is accepted too).'),
});

const batchJobs: FastifyPluginAsyncZod = async (app) => {
  const svc = new BatchJobs(app.hearth);

  collectionRoutes(app, svc, {
    tags: ['BatchJobs'],
    names: { one: 'BatchJob', many: 'BatchJobs' },
    titles: { one: 'Batch Job', many: 'Batch Jobs' },
    params: BatchJobParams,
    response: BatchJobResponse,
    list: { description: 'Default order: createTime desc.' },
    create: {
      description: 'The server assigns the numeric id. nodePoolId (and environmentId, when set) must name objects of the account.',
      body: CreateBatchJobBody,
      idFrom: 'none',
    },
    batchDelete: {
      description: 'All or nothing: if a name is malformed (400) or not a batch job of the account (404, naming the first), nothing is deleted.',
      body: BatchDeleteBody,
    },
    update: {
      description: `The update mask is the set of fields in the body (or updateMask). Only ${MUTABLE_FIELDS.join(', ')} can change after create.`,
      body: UpdateBatchJobBody,
    },
    delete: {},
    verbs: [
      {
        method: 'POST',
        verb: 'cancel',
        operation: 'CancelBatchJob',
        summary: 'Cancel Batch Job',
        description: 'Cancels a job that is creating, queued, pending or running (it reads CANCELLING until it stops); a finished job answers FAILED_PRECONDITION.',
        body: z.strictObject({}).optional(),
        handler: (accountId, id) => svc.cancel(accountId, id),
      },
      {
        method: 'GET',
        verb: 'getLogs',
        operation: 'GetBatchJobLogs',
        summary: 'Get Batch Job Logs',
        description: "Each rank's lines: from its pod while it runs, from the archive (kept HEARTH_BATCH_JOB_LOG_RETENTION) once it finished. Ordered by time, oldest first with startFromHead; nextPageToken continues (and polls for new lines).",
        query: GetLogsQuery,
        response: GetLogsResponse,
        handler: (accountId, id, request) => svc.getLogs(accountId, id, request.query as z.infer<typeof GetLogsQuery>),
      },
    ],
  });
};

export default batchJobs;
