import { describe, expect, it } from 'vitest';
import { ANNOTATION_HOLD_TIMEOUT, ANNOTATION_MAX_HELD, Catalog, type ObjectLike } from './catalog.js';

const ns = (name: string, account: string): ObjectLike => ({ metadata: { name, labels: { 'hearth.dev/account': account } } });
const dep = (namespace: string, name: string, baseModel: string, extra: Partial<NonNullable<ObjectLike['metadata']>> = {}, status?: unknown): ObjectLike => ({
  metadata: { namespace, name, creationTimestamp: '2026-01-01T00:00:00Z', ...extra },
  spec: { baseModel },
  ...(status ? { status } : {}),
});
const dm = (namespace: string, name: string, spec: Record<string, unknown>): ObjectLike => ({ metadata: { namespace, name }, spec });

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const LORA = 'accounts/alice/models/my-lora';

function world(): Catalog {
  const c = new Catalog();
  c.upsertNamespace(ns('acct-alice', 'alice'));
  c.upsertNamespace(ns('acct-bob', 'bob'));
  c.upsertDeployment(dep('acct-alice', 'd1', BASE));
  c.upsertDeployment(dep('acct-alice', 'd2', BASE, { creationTimestamp: '2026-02-01T00:00:00Z' }));
  c.upsertDeployment(dep('acct-bob', 'bd', BASE));
  c.upsertDeployedModel(dm('acct-alice', 'my-lora-abc', { model: LORA, deployment: 'd1', default: true }));
  c.upsertDeployedModel(dm('acct-alice', 'my-lora-pub', { model: LORA, deployment: 'accounts/alice/deployments/d2', public: true }));
  return c;
}

describe('Catalog.resolve', () => {
  it('routes a base model on the caller’s own deployment, long and short forms', () => {
    const c = world();
    for (const id of [`${BASE}#accounts/alice/deployments/d1`, 'fireworks/llama-v3p1-8b-instruct#alice/d1']) {
      expect(c.resolve(id, 'alice')).toMatchObject({ key: 'acct-alice/d1', upstreamModel: BASE });
    }
  });

  it('answers another account’s private deployment exactly like a missing one', () => {
    const c = world();
    expect(c.resolve(`${BASE}#accounts/bob/deployments/bd`, 'alice')).toBeUndefined();
    expect(c.resolve(`${BASE}#accounts/bob/deployments/nope`, 'alice')).toBeUndefined();
    expect(c.resolve(`${BASE}#accounts/nobody/deployments/bd`, 'alice')).toBeUndefined();
    expect(c.resolve(`${BASE}#accounts/bob/deployments/bd`, 'bob')).toMatchObject({ key: 'acct-bob/bd' });
  });

  it('routes a LoRA on a deployment to its DeployedModel, with the addon as the upstream model', () => {
    expect(world().resolve(`${LORA}#accounts/alice/deployments/d1`, 'alice')).toMatchObject({ key: 'acct-alice/d1', upstreamModel: LORA });
    expect(world().resolve(`${LORA}#accounts/alice/deployments/d9`, 'alice')).toBeUndefined();
  });

  it('routes a deployed model name; a public one for any account, a private one only for its own', () => {
    const c = world();
    expect(c.resolve('accounts/alice/deployedModels/my-lora-abc', 'alice')).toMatchObject({ key: 'acct-alice/d1', upstreamModel: LORA });
    expect(c.resolve('accounts/alice/deployedModels/my-lora-abc', 'bob')).toBeUndefined();
    expect(c.resolve('accounts/alice/deployedModels/my-lora-pub', 'bob')).toMatchObject({ key: 'acct-alice/d2', upstreamModel: LORA });
    expect(c.resolve(`${LORA}#alice/d2`, 'bob')).toMatchObject({ key: 'acct-alice/d2' });
    expect(c.resolve(`${LORA}#alice/d1`, 'bob')).toBeUndefined();
  });

  it('routes a bare model name to its default deployed model, then to the caller’s oldest deployment of it', () => {
    const c = world();
    expect(c.resolve(LORA, 'alice')).toMatchObject({ key: 'acct-alice/d1' });
    expect(c.resolve('alice/my-lora', 'alice')).toMatchObject({ key: 'acct-alice/d1' });
    // bob may not use alice's private default; no public default exists
    expect(c.resolve(LORA, 'bob')).toBeUndefined();
    c.upsertDeployedModel(dm('acct-alice', 'my-lora-pub', { model: LORA, deployment: 'd2', public: true, default: true }));
    expect(c.resolve(LORA, 'bob')).toMatchObject({ key: 'acct-alice/d2' });
    expect(c.resolve(BASE, 'alice')).toMatchObject({ key: 'acct-alice/d1', upstreamModel: BASE });
    expect(c.resolve(BASE, 'bob')).toMatchObject({ key: 'acct-bob/bd' });
    expect(c.resolve('accounts/fireworks/models/unknown', 'alice')).toBeUndefined();
  });

  it('forgets deleted and soft-deleted deployments and deleted deployed models', () => {
    const c = world();
    c.upsertDeployment(dep('acct-alice', 'd1', BASE, {}, { state: 'DELETED' }));
    expect(c.resolve(`${BASE}#alice/d1`, 'alice')).toBeUndefined();
    expect(c.resolve('accounts/alice/deployedModels/my-lora-abc', 'alice')).toBeUndefined();
    c.deleteDeployedModel(dm('acct-alice', 'my-lora-pub', {}));
    expect(c.resolve('accounts/alice/deployedModels/my-lora-pub', 'bob')).toBeUndefined();
    c.deleteDeployment(dep('acct-bob', 'bd', BASE));
    expect(c.resolve(`${BASE}#bob/bd`, 'bob')).toBeUndefined();
  });

  it('indexes objects seen before their namespace, and drops them with it', () => {
    const c = new Catalog();
    c.upsertDeployment(dep('acct-carol', 'd', BASE));
    expect(c.resolve(`${BASE}#carol/d`, 'carol')).toBeUndefined();
    c.upsertNamespace(ns('acct-carol', 'carol'));
    expect(c.resolve(`${BASE}#carol/d`, 'carol')).toMatchObject({ key: 'acct-carol/d' });
    c.deleteNamespace(ns('acct-carol', 'carol'));
    expect(c.resolve(`${BASE}#carol/d`, 'carol')).toBeUndefined();
  });

  it('follows a changed base model and refuses deployed models that point into another account', () => {
    const c = world();
    const OTHER_BASE = 'accounts/fireworks/models/qwen3-8b';
    c.upsertDeployment(dep('acct-alice', 'd1', OTHER_BASE));
    c.upsertDeployment(dep('acct-alice', 'd2', OTHER_BASE));
    expect(c.resolve(BASE, 'alice')).toBeUndefined();
    expect(c.resolve(OTHER_BASE, 'alice')).toMatchObject({ key: 'acct-alice/d1' });
    c.upsertDeployedModel(dm('acct-alice', 'sneaky', { model: 'accounts/alice/models/x', deployment: 'accounts/bob/deployments/bd', public: true }));
    expect(c.resolve('accounts/alice/deployedModels/sneaky', 'alice')).toBeUndefined();
  });

  it('tells listeners when a deployment stops being routable, not when its namespace is merely updated', () => {
    const c = world();
    const removed: string[] = [];
    c.onRemoved((k) => removed.push(k));
    c.upsertNamespace({ metadata: { name: 'acct-alice', labels: { 'hearth.dev/account': 'alice', other: 'x' }, annotations: { a: 'b' } } });
    expect(removed).toEqual([]);
    expect(c.resolve(`${BASE}#alice/d1`, 'alice')).toBeDefined();
    c.upsertDeployment(dep('acct-alice', 'd1', BASE, {}, { state: 'DELETING' }));
    c.deleteDeployment(dep('acct-alice', 'd2', BASE));
    expect(removed).toEqual(['acct-alice/d1', 'acct-alice/d2']);
  });

  it('reads per-deployment hold limits from annotations', () => {
    const c = world();
    c.upsertDeployment(dep('acct-alice', 'd3', BASE, { annotations: { [ANNOTATION_MAX_HELD]: '5', [ANNOTATION_HOLD_TIMEOUT]: '90' } }));
    expect(c.deployment('acct-alice/d3')).toMatchObject({ maxHeld: 5, holdTimeoutMs: 90_000 });
    c.upsertDeployment(dep('acct-alice', 'd4', BASE, { annotations: { [ANNOTATION_MAX_HELD]: 'lots' } }));
    expect(c.deployment('acct-alice/d4')?.maxHeld).toBeUndefined();
  });

  it('lists what a caller may call', () => {
    expect(world().visibleModelIds('bob')).toEqual(['accounts/alice/deployedModels/my-lora-pub', `${BASE}#accounts/bob/deployments/bd`]);
  });

  it('SECURITY (issue 15 item 1): another account’s public default deployed model never captures a caller’s traffic for a shared base model', () => {
    const c = world();
    // bob (an attacker) publishes a default, public "deployed model" of the shared base model,
    // once on a deployment of his own and once with a LoRA name he does not own.
    c.upsertDeployedModel(dm('acct-bob', 'grab-base', { model: BASE, deployment: 'bd', default: true, public: true }));
    c.upsertDeployedModel(dm('acct-bob', 'grab-lora', { model: LORA, deployment: 'bd', default: true, public: true }));
    // alice has deployments of the base model: her own oldest one serves her, not bob's.
    expect(c.resolve(BASE, 'alice')).toMatchObject({ key: 'acct-alice/d1', upstreamModel: BASE });
    expect(c.resolve('fireworks/llama-v3p1-8b-instruct', 'alice')).toMatchObject({ key: 'acct-alice/d1' });
    expect(c.resolve(BASE, 'alice')?.adapter).toBeUndefined();
    // carol has no deployment of it: still not bob's (he does not own accounts/fireworks models).
    c.upsertNamespace(ns('acct-carol', 'carol'));
    expect(c.resolve(BASE, 'carol')).toBeUndefined();
    // alice's own LoRA name resolves to her own default, never to bob's claim on it…
    expect(c.resolve(LORA, 'alice')).toMatchObject({ key: 'acct-alice/d1', adapter: { key: 'acct-alice/my-lora-abc' } });
    // …and for a third account bob's claim on alice's model is not a route either.
    expect(c.resolve(LORA, 'carol')).toBeUndefined();
    // A public default of a model bob owns is his to offer.
    c.upsertDeployedModel(dm('acct-bob', 'bob-lora', { model: 'accounts/bob/models/tuned', deployment: 'bd', default: true, public: true }));
    expect(c.resolve('accounts/bob/models/tuned', 'carol')).toMatchObject({ key: 'acct-bob/bd', adapter: { key: 'acct-bob/bob-lora' } });
  });

  it('an adapter route names its DeployedModel; the replicas it may use are those the status lists LOADED', () => {
    const c = world();
    const loadedEvents: string[] = [];
    const removedEvents: string[] = [];
    c.onAdapterLoaded((k) => loadedEvents.push(k));
    c.onAdapterRemoved((k) => removedEvents.push(k));
    for (const id of [`${LORA}#accounts/alice/deployments/d1`, 'alice/my-lora#alice/d1', 'accounts/alice/deployedModels/my-lora-abc', LORA, 'alice/my-lora']) {
      expect(c.resolve(id, 'alice'), id).toMatchObject({ key: 'acct-alice/d1', upstreamModel: LORA, adapter: { key: 'acct-alice/my-lora-abc' } });
    }
    expect(c.adapterLoadedOn('acct-alice/my-lora-abc', '10.0.0.1:8000')).toBe(false);
    const withStatus = (replicas: unknown[]): ObjectLike => ({ ...dm('acct-alice', 'my-lora-abc', { model: LORA, deployment: 'd1', default: true }), status: { state: 'DEPLOYED', replicas } });
    c.upsertDeployedModel(withStatus([{ pod: 'p1', address: '10.0.0.1:8000', state: 'LOADED' }, { pod: 'p2', address: '10.0.0.2:8000', state: 'LOADING' }]));
    expect(c.adapterLoadedOn('acct-alice/my-lora-abc', '10.0.0.1:8000')).toBe(true);
    expect(c.adapterLoadedOn('acct-alice/my-lora-abc', '10.0.0.2:8000')).toBe(false);
    expect(loadedEvents).toEqual(['acct-alice/my-lora-abc']);
    c.upsertDeployedModel(withStatus([{ pod: 'p1', address: '10.0.0.1:8000', state: 'LOADED' }, { pod: 'p2', address: '10.0.0.2:8000', state: 'LOADING' }]));
    expect(loadedEvents).toHaveLength(1); // nothing new
    expect(c.deployedModelsOn('acct-alice/d1')).toEqual(['acct-alice/my-lora-abc']);
    // Being unloaded (deletionTimestamp): no longer routable, held requests are told.
    c.upsertDeployedModel({ ...withStatus([]), metadata: { namespace: 'acct-alice', name: 'my-lora-abc', deletionTimestamp: '2026-12-06T00:00:00Z' } });
    expect(removedEvents).toEqual(['acct-alice/my-lora-abc']);
    expect(c.resolve('accounts/alice/deployedModels/my-lora-abc', 'alice')).toBeUndefined();
    expect(c.resolve(`${BASE}#alice/d1`, 'alice')?.adapter).toBeUndefined();
  });
});
