import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, NotFoundError } from '../../../src/db/errors.js';
import {
  createAccount,
  createUser,
  getUser,
  listAccounts,
  listUsers,
  mustGetAccount,
  updateUser,
  userIdFromEmail,
} from '../../../src/db/repositories/accounts.js';
import { appendAudit, listAudit } from '../../../src/db/repositories/audit.js';
import { createDataset, deleteDataset, getDataset, listDatasets, updateDataset } from '../../../src/db/repositories/datasets.js';
import { createModel, deleteModel, getModel, listModels, updateModel } from '../../../src/db/repositories/models.js';
import { createReservation, getReservation, listReservations } from '../../../src/db/repositories/reservations.js';
import { ACCOUNT_WIDE, createNodePoolBinding, isBoundToNodePool } from '../../../src/db/repositories/node-pool-bindings.js';
import { dbTargets, uniqueId } from './support.js';

const targets = dbTargets('resources');

describe.each(targets)('accounts and users on $name', (t) => {
  it('creates, reads, lists and updates', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'billing@example.com', displayName: 'Acme' });
    await expect(createAccount(t.db, { accountId: a, email: 'x@example.com' })).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(await mustGetAccount(t.db, a)).toMatchObject({ accountId: a, displayName: 'Acme', state: 'READY', suspendState: 'UNSUSPENDED' });
    await expect(mustGetAccount(t.db, uniqueId())).rejects.toBeInstanceOf(NotFoundError);
    expect((await listAccounts(t.db)).map((x) => x.accountId)).toContain(a);

    await createUser(t.db, { accountId: a, userId: 'bob', email: 'bob@example.com', role: 'user' });
    await expect(createUser(t.db, { accountId: a, userId: 'bob', email: 'other@example.com', role: 'user' })).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(createUser(t.db, { accountId: a, userId: 'bobby', email: 'bob@example.com', role: 'user' })).rejects.toBeInstanceOf(AlreadyExistsError);
    await createUser(t.db, { accountId: a, userId: 'ann', email: 'ann@example.com', role: 'admin' });
    expect((await listUsers(t.db, a)).map((u) => u.userId)).toEqual(['ann', 'bob']);
    const updated = await updateUser(t.db, a, 'bob', { role: 'admin', displayName: 'Bob' });
    expect(updated).toMatchObject({ role: 'admin', displayName: 'Bob' });
    expect(updated.updateTime.getTime()).toBeGreaterThanOrEqual(updated.createTime.getTime());
    await expect(updateUser(t.db, a, 'nobody', { role: 'user' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await getUser(t.db, uniqueId(), 'bob')).toBeUndefined();
  });

  it('enforces the role set in the schema', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    // @ts-expect-error: not a role
    await expect(createUser(t.db, { accountId: a, userId: 'eve', email: 'eve@example.com', role: 'root' })).rejects.toThrow();
  });
});

describe('userIdFromEmail', () => {
  it.each([
    ['alice@example.com', 'alice'],
    ['Alice.Smith+ci@example.com', 'alice-smith-ci'],
    ['42bob@example.com', 'bob'],
    ['___@example.com', 'user'],
    [`${'x'.repeat(80)}@example.com`, 'x'.repeat(63)],
  ])('%s → %s', (email, id) => {
    expect(userIdFromEmail(email)).toBe(id);
  });
});

describe.each(targets)('models, datasets, reservations and audit on $name', (t) => {
  it('stores model metadata', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    const m = await createModel(t.db, {
      accountId: a,
      modelId: 'lora-1',
      displayName: 'My LoRA',
      kind: 'HF_PEFT_ADDON',
      spec: { peftDetails: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', r: 8, targetModules: ['q_proj'] } },
      fineTuningJob: `accounts/${a}/supervisedFineTuningJobs/j1`,
    });
    expect(m).toMatchObject({ state: 'UPLOADING', status: { code: 'OK' } });
    await expect(createModel(t.db, { accountId: a, modelId: 'lora-1' })).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(createModel(t.db, { accountId: uniqueId(), modelId: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await updateModel(t.db, a, 'lora-1', { state: 'READY' })).toMatchObject({ state: 'READY', spec: { peftDetails: { r: 8 } } });
    expect((await listModels(t.db, a)).map((x) => x.modelId)).toEqual(['lora-1']);
    await deleteModel(t.db, a, 'lora-1');
    expect(await getModel(t.db, a, 'lora-1')).toBeUndefined();
    await expect(deleteModel(t.db, a, 'lora-1')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('stores dataset metadata with int64 counts', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    await createDataset(t.db, { accountId: a, datasetId: 'ds', format: 'CHAT', spec: { userUploaded: {} } });
    const big = 2n ** 60n;
    expect(await updateDataset(t.db, a, 'ds', { state: 'READY', exampleCount: big, storageUri: 'file:///data/ds.jsonl' })).toMatchObject({
      exampleCount: big,
      state: 'READY',
    });
    expect((await getDataset(t.db, a, 'ds'))!.exampleCount).toBe(big);
    expect((await listDatasets(t.db, a)).length).toBe(1);
    await deleteDataset(t.db, a, 'ds');
    await expect(updateDataset(t.db, a, 'ds', { state: 'READY' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('stores capacity reservations with exactly one of region and multiRegion', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    const window = { startTime: new Date('2026-01-01T00:00:00Z'), endTime: new Date('2027-01-01T00:00:00Z') };
    await createReservation(t.db, { accountId: a, reservationId: 'r1', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 16, ...window });
    await expect(createReservation(t.db, { accountId: a, reservationId: 'r1', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 1, ...window })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    await expect(
      createReservation(t.db, { accountId: a, reservationId: 'r2', region: 'US_VIRGINIA_2', multiRegion: 'US', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 1, ...window }),
    ).rejects.toThrow();
    expect(await getReservation(t.db, a, 'r1')).toMatchObject({ reservedCount: 16 });
    expect((await listReservations(t.db, a)).length).toBe(1);
  });

  it('appends and lists audit entries newest first', async () => {
    const a = uniqueId();
    for (const action of ['CreateDeployment', 'UpdateQuota', 'DeleteApiKey']) {
      await appendAudit(t.db, { accountId: a, actor: 'users/alice', action, resource: `accounts/${a}/x`, details: { n: 1 } });
    }
    const all = await listAudit(t.db, a);
    expect(all.map((r) => r.action)).toEqual(['DeleteApiKey', 'UpdateQuota', 'CreateDeployment']);
    expect((await listAudit(t.db, a, { beforeId: all[0]!.id, limit: 1 })).map((r) => r.action)).toEqual(['UpdateQuota']);
  });

  it('never stores anything shaped like an API key in the audit log', async () => {
    const a = uniqueId();
    const key = `hearth_AbCdEfGhIjKl_${'x'.repeat(32)}123456`;
    const row = await appendAudit(t.db, { accountId: a, actor: 'users/alice', action: 'CreateApiKey', resource: `accounts/${a}/users/alice`, details: { echo: { key }, note: `got ${key}` } });
    expect(JSON.stringify(row.details)).not.toContain('x'.repeat(32));
    expect(row.details).toEqual({ echo: { key: 'hearth_AbCdEfGhIjKl_…' }, note: 'got hearth_AbCdEfGhIjKl_…' });
  });
});

describe.each(targets)('node pool bindings on $name', (t) => {
  it('a principal may use a pool it is bound to, or every pool through an account-wide binding', async () => {
    const a = uniqueId();
    await createAccount(t.db, { accountId: a, email: 'x@example.com' });
    await createNodePoolBinding(t.db, { accountId: a, nodePoolId: 'train', principal: 'bob@example.com', createdBy: 'ann@example.com' });
    await createNodePoolBinding(t.db, { accountId: a, nodePoolId: ACCOUNT_WIDE, principal: 'cat@example.com', createdBy: 'ann@example.com' });
    expect(await isBoundToNodePool(t.db, a, 'train', 'bob@example.com')).toBe(true);
    expect(await isBoundToNodePool(t.db, a, 'other', 'bob@example.com')).toBe(false);
    expect(await isBoundToNodePool(t.db, a, 'other', 'cat@example.com')).toBe(true);
    expect(await isBoundToNodePool(t.db, a, 'train', 'eve@example.com')).toBe(false);
    expect(await isBoundToNodePool(t.db, uniqueId(), 'train', 'bob@example.com')).toBe(false);
  });
});
