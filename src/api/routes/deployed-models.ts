// DeployedModels ("Load LoRA") over HTTP: the standard collection routes with the LoRA wording.
// The behaviour (quota, base deployment and addon checks, defaults) is in
// src/api/collections/deployed-models.ts.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DeployedModels } from '../collections/deployed-models.js';
import { collectionRoutes } from '../collections/routes.js';
import { CreateDeployedModelBody, DeployedModelResponse, UpdateDeployedModelBody } from '../mappers/deployed-model.js';
import { AccountParams, queryBool } from './common.js';

const Params = AccountParams.extend({ deployedModelId: z.string().describe('The deployed model id.') });

const CreateQuery = z.object({
  replaceMergedAddon: queryBool('Unload every other addon of the deployment (required for hot-reload deployments).'),
});

const deployedModels: FastifyPluginAsyncZod = async (app) => {
  collectionRoutes(app, new DeployedModels(app.hearth, app.log), {
    tags: ['DeployedModels'],
    names: { one: 'DeployedModel', many: 'DeployedModels' },
    titles: { one: 'LoRA', many: 'LoRAs' },
    params: Params,
    response: DeployedModelResponse,
    list: { description: 'Default order: name.' },
    create: {
      summary: 'Load LoRA',
      description:
        'Loads an addon model onto a deployment of the account (which must have enableAddons). The id is generated. ' +
        'A missing deployment or model answers NOT_FOUND; one more LoRA than the `loras` quota allows answers 429 RESOURCE_EXHAUSTED naming the quota.',
      query: CreateQuery,
      body: CreateDeployedModelBody,
      idFrom: 'none',
    },
    update: {
      description: 'The update mask is the set of fields in the body (or `updateMask`); output-only fields are ignored; model and deployment are immutable.',
      body: UpdateDeployedModelBody,
    },
    delete: { summary: 'Unload LoRA', description: 'Deletes the deployed model now and releases its unit of the `loras` quota.' },
  });
};

export default deployedModels;
