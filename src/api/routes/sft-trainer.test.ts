// The trainer endpoints' token check (issue 14), with app.inject on PGlite and an in-memory kind
// client whose cache can lag behind its "API server". The token is the controller's
// (`trainerToken` under the installation key both processes read from PostgreSQL); what is checked
// here is that a trainer pod of a new attempt is never refused because the controller's own writes
// (the status naming the attempt, the token's digest) have not landed yet, and that a superseded
// attempt's or another job's token still is. The real cluster: test/e2e/sft.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { trainerToken } from '../../crds/sft-trainer.js';
import { openDatabase, type Database } from '../../db/client.js';
import { createDataset } from '../../db/repositories/datasets.js';
import { SECRET_NAMES, installationSecret } from '../../db/repositories/installation-secrets.js';
import type { CustomObject } from '../kube/kind-client.js';
import { buildApp } from '../app.js';
import { bootstrap } from '../../auth/bootstrap.js';
import { MemoryKindClient } from './memory-kind-client.test-helper.js';

const NS = 'acct-acme';
const URL_OF = (job: string, what: string) => `/v1-trainer/sft/acme/${job}/${what}`;

/** The memory client with an informer cache that may lag: `get` answers from `cached` when set there. */
class LaggingKindClient extends MemoryKindClient {
  readonly cached = new Map<string, CustomObject>();

  override async get(namespace: string, name: string): Promise<CustomObject | undefined> {
    const stale = this.cached.get(`${namespace}/${name}`);
    return stale ? structuredClone(stale) : super.get(namespace, name);
  }

  override async read(namespace: string, name: string): Promise<CustomObject | undefined> {
    return super.get(namespace, name);
  }

  /** As the API server: a merge patch carrying a resourceVersion is refused (409) if the object changed. */
  override async mergePatch(namespace: string, name: string, patch: Record<string, unknown>): Promise<CustomObject> {
    const rv = (patch.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    const cur = this.objects.get(`${namespace}/${name}`);
    if (rv !== undefined && cur && cur.metadata.resourceVersion !== rv) throw Object.assign(new Error('conflict'), { code: 409 });
    return super.mergePatch(namespace, name, patch);
  }
}

let database: Database;
let app: FastifyInstance;
let jobs: LaggingKindClient;
let key: Buffer;

/** The SFTJob `tune` as the controller left it (uid-tune), with the status given. */
function job(status: Record<string, unknown>, uid = 'uid-tune'): CustomObject {
  return {
    apiVersion: 'hearth.dev/v1alpha1',
    kind: 'SFTJob',
    metadata: { name: 'tune', namespace: NS, uid, generation: 1 },
    spec: { dataset: 'accounts/acme/datasets/chat', baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct' },
    status,
  };
}
const token = (attempt: number, uid = 'uid-tune') => trainerToken(key, uid, attempt);
const call = (method: 'GET' | 'POST', what: string, bearer: string, payload?: object) =>
  app.inject({ method, url: URL_OF('tune', what), headers: { authorization: `Bearer ${bearer}` }, ...(payload ? { payload } : {}) });

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' });
  await createDataset(database.db, { accountId: 'acme', datasetId: 'chat', state: 'READY' });
  // `tune` has no evaluation dataset: its validation wrote the carve-out before its Job was made,
  // and /inputs serves the split before the status names it.
  for (const part of ['train', 'eval']) await createDataset(database.db, { accountId: 'acme', datasetId: `tune-${part}-split`, state: 'READY' });
  jobs = new LaggingKindClient(() => new Date('2026-12-06T08:00:00Z'));
  app = await buildApp({ db: database.db, rateLimit: false, kinds: { supervisedFineTuningJobs: jobs }, now: () => new Date('2026-12-06T08:00:00Z') });
  // The key the controller derives the tokens from (PgSftStores.tokenKey reads the same row).
  key = await installationSecret(database.db, SECRET_NAMES.sftTrainerTokens);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

beforeEach(() => {
  jobs.objects.clear();
  jobs.cached.clear();
});

describe('/inputs before any status is written (the controller writes RUNNING once the pods run)', () => {
  it('serves the carve-out split the validation wrote (with its evaluation half), not the whole dataset', async () => {
    jobs.seed(job({}));
    const r = await call('GET', 'inputs', token(0));
    expect(r.statusCode, r.body).toBe(200);
    // The rows here have no files (their URL maps are empty): the evaluation set's presence says the
    // split was chosen (the spec names no evaluation dataset; the whole dataset alone has none).
    expect(r.json()).toHaveProperty('eval');
  });
});

describe('trainer token: a pod of a new attempt is not refused for writes of Hearth that have not landed', () => {
  it('first attempt: the pod calls before the PENDING status (attempt 0, the token digest) is written → 200', async () => {
    jobs.seed(job({ state: 'JOB_STATE_VALIDATING' }));
    const r = await call('GET', 'inputs', token(0));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ attempt: 0 });
  });

  it(':resume: the status says attempt 1 but not yet its token digest (the placement write is in flight) → 200 with the checkpoint', async () => {
    jobs.seed(job({ state: 'JOB_STATE_PENDING', training: { attempt: 1, checkpoint: 'step-4', trainDataset: 'accounts/acme/datasets/chat' } }));
    const r = await call('GET', 'inputs', token(1));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ attempt: 1, resumeCheckpoint: 'step-4' });
    // The first attempt's token is superseded.
    expect((await call('GET', 'inputs', token(0))).statusCode).toBe(401);
  });

  it(':resume: the API server has attempt 1 but the cache still shows the job CANCELLED at attempt 0 → 200 (read through)', async () => {
    jobs.seed(job({ state: 'JOB_STATE_PENDING', training: { attempt: 1, checkpoint: 'step-4' } }));
    jobs.cached.set(`${NS}/tune`, job({ state: 'JOB_STATE_CANCELLED', training: { attempt: 0, checkpoint: 'step-4' } }));
    const r = await call('GET', 'inputs', token(1));
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ attempt: 1, resumeCheckpoint: 'step-4' });
  });

  it('a trainer of the attempt after the one the status shows (a resume whose status write is behind its Job) → 200, its reports kept as that attempt', async () => {
    jobs.seed(job({ state: 'JOB_STATE_CANCELLED', training: { attempt: 0, checkpoint: 'step-4' } }));
    expect((await call('GET', 'inputs', token(1))).statusCode).toBe(200);
    const p = await call('POST', 'progress', token(1), { step: 5, totalSteps: 10 });
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json()).toEqual({ accepted: true, attempt: 1 });
    expect(JSON.parse(jobs.objects.get(`${NS}/tune`)!.metadata.annotations!['hearth.dev/trainer-progress']!)).toMatchObject({ attempt: 1, step: 5 });
  });
});

describe('trainer token: still refused', () => {
  it("a superseded attempt's, two attempts ahead, another job's, another installation's, malformed, none", async () => {
    jobs.seed(job({ state: 'JOB_STATE_RUNNING', training: { attempt: 2 } }));
    expect((await call('GET', 'inputs', token(2))).statusCode).toBe(200);
    const refused: [string, string][] = [
      ['superseded attempt 1', token(1)],
      ['superseded attempt 0', token(0)],
      ['attempt 4 (not started by Hearth)', token(4)],
      ['another job (or a deleted job of the same name)', token(2, 'uid-other')],
      ['another installation', trainerToken(Buffer.alloc(32, 1), 'uid-tune', 2)],
      ['relabelled attempt', `1.${token(2).split('.')[1]}`],
      ['not a token', 'abc'],
    ];
    for (const [what, bearer] of refused) {
      const r = await call('GET', 'inputs', bearer);
      expect(r.statusCode, what).toBe(401);
    }
    expect((await app.inject({ method: 'GET', url: URL_OF('tune', 'inputs') })).statusCode).toBe(401);
    // Another job's name in the path with this job's token.
    expect((await app.inject({ method: 'GET', url: URL_OF('other', 'inputs'), headers: { authorization: `Bearer ${token(2)}` } })).statusCode).toBe(401);
  });

  it("a final job's current attempt → 400 FAILED_PRECONDITION (the trainer must stop)", async () => {
    jobs.seed(job({ state: 'JOB_STATE_CANCELLED', training: { attempt: 1 } }));
    const r = await call('POST', 'progress', token(1), { step: 1 });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ message: expect.stringContaining('JOB_STATE_CANCELLED') });
  });

  it('a superseded attempt the lagging cache still shows current cannot overwrite the new attempt’s progress', async () => {
    jobs.seed(job({ state: 'JOB_STATE_PENDING', training: { attempt: 1 } }));
    jobs.cached.set(`${NS}/tune`, { ...job({ state: 'JOB_STATE_RUNNING', training: { attempt: 0 } }), metadata: { ...job({}).metadata, resourceVersion: '0' } });
    const r = await call('POST', 'progress', token(0), { step: 9 });
    expect(r.statusCode, r.body).toBe(401);
    expect(jobs.objects.get(`${NS}/tune`)!.metadata.annotations?.['hearth.dev/trainer-progress']).toBeUndefined();
  });
});
