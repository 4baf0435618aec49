// The OpenAPI document, generated from the routes' zod schemas (@fastify/swagger with
// fastify-type-provider-zod's transform), at `/openapi.json`, and a browsable UI at `/docs`.
// Must be registered before the routes it describes.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

async function openapi(app: FastifyInstance, opts: { version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Hearth API',
        description:
          'Fireworks-compatible control-plane API (`/v1/accounts/*`): deployments on GPUs, accounts, users, API keys and quotas. ' +
          'Errors are google.rpc.Status `{code, message, details}`.',
        version: opts.version,
      },
      components: {
        securitySchemes: { BearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'API_KEY' } },
      },
      security: [{ BearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } as Record<string, unknown> }, async () => app.swagger());
}

export default fp(openapi, { name: 'hearth-openapi', fastify: '5.x' });
