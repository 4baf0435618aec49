// Deployments over HTTP: the standard collection routes (src/api/collections/routes.ts),
// `:undelete` and `:scale`. The behaviour (quota, soft delete) is in src/api/collections/deployments.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Deployments } from '../collections/deployments.js';
import { collectionRoutes } from '../collections/routes.js';
import { CreateDeploymentBody, DeploymentResponse, UpdateDeploymentBody } from '../mappers/deployment.js';
import { AccountParams, ListQuery, UpdateMaskQuery, queryBool } from './common.js';

const DeploymentParams = AccountParams.extend({ deploymentId: z.string().describe('The deployment id.') });

const CreateQuery = z.object({
  deploymentId: z.string().optional().describe('The deployment id; random if absent.'),
  validateOnly: queryBool('Validate and return the deployment that would be created, creating nothing.'),
  skipShapeValidation: queryBool('Accepted for compatibility (Hearth has no shape validation).'),
  skipImageTagValidation: queryBool('Accepted for compatibility.'),
  disableAutoDeploy: queryBool('Accepted for compatibility.'),
  disableSpeculativeDecoding: queryBool('Accepted for compatibility.'),
});

const ListDeploymentsQuery = ListQuery.extend({ showDeleted: queryBool('Include soft-deleted (DELETING/DELETED) deployments.') });

const DeleteQuery = z.object({
  hard: queryBool('Delete the object now instead of a soft delete.'),
  ignoreChecks: queryBool('Delete even if the deployment is in use.'),
});

const ScaleBody = z.strictObject({ replicaCount: z.int32().min(0).optional().describe('The replica count to run (0 scales to zero).') });

const deployments: FastifyPluginAsyncZod = async (app) => {
  const svc = new Deployments(app.hearth, app.log);

  collectionRoutes(app, svc, {
    tags: ['Deployments'],
    names: { one: 'Deployment', many: 'Deployments' },
    titles: { one: 'Deployment', many: 'Deployments' },
    params: DeploymentParams,
    response: DeploymentResponse,
    list: { description: 'Default order: createTime. Soft-deleted deployments only with showDeleted.', query: ListDeploymentsQuery },
    create: {
      description: 'Answers 429 RESOURCE_EXHAUSTED naming the quota when the GPUs it must run do not fit.',
      query: CreateQuery,
      body: CreateDeploymentBody,
      idFrom: 'query',
      conflict: true,
    },
    update: {
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored.',
      query: UpdateMaskQuery.extend({ skipShapeValidation: queryBool('Accepted for compatibility.') }),
      body: UpdateDeploymentBody,
    },
    delete: {
      description: `A soft delete by default: the deployment reads DELETING, then DELETED, and can be undeleted until its purgeTime; hard=true deletes it now.`,
      query: DeleteQuery,
    },
    verbs: [
      {
        method: 'POST',
        verb: 'undelete',
        operation: 'UndeleteDeployment',
        summary: 'Undelete Deployment',
        description: 'Only soft-deleted (DELETING/DELETED) or FAILED deployments; others answer FAILED_PRECONDITION.',
        body: z.strictObject({}).optional(),
        response: DeploymentResponse,
        handler: (accountId, id) => svc.undelete(accountId, id),
      },
      {
        method: 'PATCH',
        verb: 'scale',
        operation: 'ScaleDeployment',
        summary: 'Scale Deployment',
        description: 'Runs exactly replicaCount replicas (the autoscaler is off while it is set). 429 naming the quota if the GPUs do not fit.',
        body: ScaleBody,
        handler: (accountId, id, request) => svc.scale(accountId, id, (request.body as z.infer<typeof ScaleBody>).replicaCount ?? 0),
      },
    ],
  });
};

export default deployments;
