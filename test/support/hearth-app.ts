// Hearth's REST app for tests without a cluster: embedded PGlite, in-memory kind clients for every
// custom-resource collection (so those routes answer as with a cluster, not 503), one bootstrapped
// admin of account `acme` and one of `globex`. Optionally listening on 127.0.0.1 for real HTTP.
import type { FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../src/db/client.js';
import { buildApp, type BuildAppOptions } from '../../src/api/app.js';
import { bootstrap } from '../../src/auth/bootstrap.js';
import type { DeploymentClient, KindClients } from '../../src/api/kube/kind-client.js';
import { MemoryKindClient } from '../../src/api/routes/memory-kind-client.test-helper.js';

export interface TestHearth {
  database: Database;
  app: FastifyInstance;
  /** Admin key of account `acme`. */
  key: string;
  /** Admin key of account `globex`. */
  otherKey: string;
  /** `http://127.0.0.1:<port>` when started with `listen: true`. */
  url: string;
  /** Another app on the same database (e.g. with a rate limit); closed by close(). */
  another(opts: Partial<BuildAppOptions>): Promise<FastifyInstance>;
  close(): Promise<void>;
}

export function memoryKindClients(): { deployments: DeploymentClient; kinds: Partial<KindClients> } {
  const kinds = { deployedModels: new MemoryKindClient(), nodePools: new MemoryKindClient(), environments: new MemoryKindClient(), batchJobs: new MemoryKindClient(), supervisedFineTuningJobs: new MemoryKindClient(), batchInferenceJobs: new MemoryKindClient() };
  return { deployments: new MemoryKindClient() as unknown as DeploymentClient, kinds: kinds as unknown as Partial<KindClients> };
}

export async function startTestHearth(opts: { listen?: boolean; app?: Partial<BuildAppOptions> } = {}): Promise<TestHearth> {
  const database = await openDatabase();
  await database.migrate();
  const key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  const otherKey = (await bootstrap(database.db, { accountId: 'globex', email: 'hank@globex.example' })).apiKey!.key;
  const base = { db: database.db, rateLimit: false as const, authenticatorOptions: { cacheTtlMs: 0 }, ...memoryKindClients() };
  const app = await buildApp({ ...base, ...opts.app });
  const url = opts.listen ? await app.listen({ host: '127.0.0.1', port: 0 }) : '';
  const others: FastifyInstance[] = [];
  return {
    database,
    app,
    key,
    otherKey,
    url,
    another: async (o) => {
      const a = await buildApp({ ...base, ...o });
      others.push(a);
      return a;
    },
    close: async () => {
      for (const a of others) await a.close();
      await app.close();
      await database.close();
    },
  };
}

export type HearthDoc = { paths: Record<string, Record<string, HearthOperation>> };
export interface HearthOperation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: Record<string, unknown> }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };
}

/** The operations of the OpenAPI document Hearth serves at /openapi.json. */
export async function servedOperations(app: FastifyInstance): Promise<{ method: string; path: string; op: HearthOperation }[]> {
  const doc = JSON.parse((await app.inject({ method: 'GET', url: '/openapi.json' })).body) as HearthDoc;
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
}

/** A path of the document with its parameters filled: the account, then `x1` for every id. */
export const fillPath = (path: string, accountId: string): string => path.replace('{accountId}', accountId).replace(/\{[A-Za-z]+\}/g, 'x1');
