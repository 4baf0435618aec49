// Deployment shapes and their versions: list and get. Read-only: the shapes are derived from the
// fleet catalog (src/fleet/deployment-shapes.ts) and published under `accounts/fireworks`, which
// every account may read; another account holds no shapes of its own (create, update and delete
// answer 501 UNIMPLEMENTED from the published-operations table). See ../README.md.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DEPLOYMENT_SHAPES, deploymentShape, type DeploymentShape } from '../../fleet/deployment-shapes.js';
import {
  COLLECTION,
  DeploymentShapeResponse,
  DeploymentShapeVersionResponse,
  SHAPES_ACCOUNT,
  SHAPE_FIELDS,
  VERSIONS,
  VERSION_FIELDS,
  shapeName,
  shapeToWire,
  shapeVersionName,
  shapeVersionToWire,
} from '../mappers/deployment-shape.js';
import { notFound } from '../wire/errors.js';
import { listPage } from '../wire/pagination.js';
import { AccountParams, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked } from './common.js';

const ShapeParams = AccountParams.extend({ deploymentShapeId: z.string().describe('The deployment shape id.') });
const VersionParams = ShapeParams.extend({ versionId: z.string().describe('The version id.') });
const ListShapesQuery = ListQuery.extend({
  targetModel: z.string().max(512).optional().describe('Only shapes for this base model, e.g. accounts/fireworks/models/llama-v3p1-8b-instruct.'),
});
const GetShapeQuery = ReadMaskQuery.extend({
  skipShapeValidation: z.string().optional().describe('Accepted; every shape Hearth offers is validated.'),
});

/** Reads of `accounts/fireworks/…` are allowed to every account (see plugins/auth.ts). */
const PUBLIC = { publicAccount: SHAPES_ACCOUNT };

function shapesOf(accountId: string): readonly DeploymentShape[] {
  return accountId === SHAPES_ACCOUNT ? DEPLOYMENT_SHAPES : [];
}

/** The shape at a path, or the NOT_FOUND naming it. */
export function shapeAt(accountId: string, id: string): DeploymentShape {
  const shape = accountId === SHAPES_ACCOUNT ? deploymentShape(id) : undefined;
  if (!shape) throw notFound('deploymentShape', shapeName(accountId, id));
  return shape;
}

const deploymentShapes: FastifyPluginAsyncZod = async (app) => {
  const tags = ['Deployment Shapes'];

  app.get('/accounts/:accountId/deploymentShapes', {
    config: PUBLIC,
    schema: {
      summary: 'List Deployment Shapes',
      description: 'The shapes Hearth offers are those of `accounts/fireworks` (one per base model and accelerator type); other accounts have none. Default order: name.',
      tags,
      operationId: 'Gateway_ListDeploymentShapes',
      params: AccountParams,
      querystring: ListShapesQuery,
      response: { 200: listResponseSchema(COLLECTION, DeploymentShapeResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      const { targetModel } = request.query;
      const all = shapesOf(accountId)
        .filter((s) => targetModel === undefined || targetModel === '' || s.baseModel === targetModel)
        .map(shapeToWire);
      const page = listPage(all, request.query, {
        binding: { parent: `accounts/${accountId}/${COLLECTION}`, targetModel },
        codec: app.hearth.pageTokens,
        defaultOrderBy: 'name',
        filterFields: SHAPE_FIELDS,
        orderByFields: SHAPE_FIELDS,
      });
      return listResponse(COLLECTION, page.items.map((s) => masked(s, request.query.readMask)), page);
    },
  });

  app.get('/accounts/:accountId/deploymentShapes/:deploymentShapeId', {
    config: PUBLIC,
    schema: {
      summary: 'Get Deployment Shape',
      tags,
      operationId: 'Gateway_GetDeploymentShape',
      params: ShapeParams,
      querystring: GetShapeQuery,
      response: { 200: DeploymentShapeResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentShapeId } = request.params;
      return masked(shapeToWire(shapeAt(accountId, deploymentShapeId)), request.query.readMask);
    },
  });

  app.get('/accounts/:accountId/deploymentShapes/:deploymentShapeId/versions', {
    config: PUBLIC,
    schema: {
      summary: 'List Deployment Shapes Versions',
      description: "A shape derived from the catalog has one version, its current settings' hash.",
      tags,
      operationId: 'Gateway_ListDeploymentShapeVersions',
      params: ShapeParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema(VERSIONS, DeploymentShapeVersionResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentShapeId } = request.params;
      const shape = shapeAt(accountId, deploymentShapeId);
      const page = listPage([shapeVersionToWire(shape)], request.query, {
        binding: { parent: shapeName(accountId, deploymentShapeId) },
        codec: app.hearth.pageTokens,
        defaultOrderBy: 'name',
        filterFields: VERSION_FIELDS,
        orderByFields: VERSION_FIELDS,
      });
      return listResponse(VERSIONS, page.items.map((v) => masked(v, request.query.readMask)), page);
    },
  });

  app.get('/accounts/:accountId/deploymentShapes/:deploymentShapeId/versions/:versionId', {
    config: PUBLIC,
    schema: {
      summary: 'Get Deployment Shape Version',
      tags,
      operationId: 'Gateway_GetDeploymentShapeVersion',
      params: VersionParams,
      querystring: ReadMaskQuery,
      response: { 200: DeploymentShapeVersionResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentShapeId, versionId } = request.params;
      const shape = shapeAt(accountId, deploymentShapeId);
      if (shape.versionId !== versionId) throw notFound('deploymentShapeVersion', shapeVersionName(accountId, deploymentShapeId, versionId));
      return masked(shapeVersionToWire(shape), request.query.readMask);
    },
  });
};

export default deploymentShapes;
