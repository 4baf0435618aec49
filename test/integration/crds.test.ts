// The generated CRDs in a real kube-apiserver: every invalid object of the corpus is rejected with
// a message naming its field (and, for CEL rules, the same message zod gives), every valid object
// is accepted and stored with the same defaults zod applies, status and scale subresources work,
// and `kubectl get hearth` lists the kinds.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { installCrds as installHearthCrds } from '../../hack/lib/crds.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORY, GROUP, VERSION } from '../../src/crds/group.js';
import { DEPLOYMENT, KINDS, checkObjectUpdate, kindInfo, type KindInfo } from '../../src/crds/registry.js';
import {
  REPO_ROOT,
  fieldToPath,
  invalidCorpus,
  invalidUpdates,
  validCorpus,
  validUpdates,
  type KubeObject,
} from '../fixtures/corpus.js';
import { kubeconfigPath, testKubeConfig } from '../support/env.js';
import { waitFor } from '../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const namespace = `crds-${randomBytes(3).toString('hex')}`;
const run = promisify(execFile);

type Json = Record<string, unknown>;

interface Rejection {
  code: number;
  message: string;
}

function info(o: KubeObject): KindInfo {
  const k = kindInfo(o.kind);
  if (!k) throw new Error(`unknown kind ${o.kind}`);
  return k;
}

function target(o: KubeObject) {
  const k = info(o);
  return { group: GROUP, version: VERSION, namespace, plural: k.plural };
}

/** The object with the test namespace and without server-owned fields. */
function body(o: KubeObject, name = o.metadata.name): KubeObject {
  return { ...o, metadata: { ...o.metadata, name, namespace } };
}

/** Runs a request that must fail; returns the API server's status code and message. */
async function rejection(request: Promise<unknown>): Promise<Rejection> {
  try {
    await request;
  } catch (e) {
    const err = e as { code?: number; body?: unknown; message?: string };
    const b = typeof err.body === 'string' ? (JSON.parse(err.body) as Json) : (err.body as Json | undefined);
    return { code: err.code ?? 0, message: String(b?.message ?? err.message ?? e) };
  }
  throw new Error('the API server accepted it');
}

const RULES_SKIPPED = 'some validation rules were not checked';

/** The API server writes a map key as `m[key]` in CEL errors and as `m.key` in schema errors. */
function namesField(message: string, field: string): boolean {
  return message.includes(field) || message.includes(field.replace(/\[([^\]]*)\]/g, '.$1'));
}

/** The zod messages of rule (custom) issues at `field`: the API server must give the same. */
function zodRuleMessages(o: KubeObject, field: string): string[] {
  const r = info(o).schema.safeParse(o);
  const want = fieldToPath(field).join('.');
  return (r.error?.issues ?? []).filter((i) => i.code === 'custom' && i.path.map(String).join('.') === want).map((i) => i.message);
}

async function installCrds(): Promise<void> {
  await installHearthCrds(kc, 'hearth-crds-test');
  // Established precedes the resource being served by a moment.
  for (const k of KINDS) {
    await waitFor(`${k.plural}.${GROUP} to be served`, async () => {
      await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: k.plural });
      return true;
    });
  }
}

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await installCrds();
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('the API server rejects every invalid object, naming the field', () => {
  it.each(invalidCorpus().map((e) => [e.id, e] as const))('%s', async (_id, e) => {
    const field = e.expectField!;
    const r = await rejection(custom.createNamespacedCustomObject({ ...target(e.object), body: body(e.object) }));
    expect(r.code, r.message).toBe(422);
    expect(namesField(r.message, field), `${e.why}: ${r.message}`).toBe(true);
    // The API server skips CEL rules when the schema already failed; otherwise its message is zod's.
    if (!r.message.includes(RULES_SKIPPED)) {
      for (const m of zodRuleMessages(e.object, field)) expect(r.message, 'same message as zod').toContain(m);
    }
  });
});

describe('the API server accepts every valid object and defaults it as zod does', () => {
  it.each(validCorpus().map((e) => [e.id, e] as const))('%s', async (_id, e) => {
    const created = (await custom.createNamespacedCustomObject({ ...target(e.object), body: body(e.object) })) as Json;
    const parsed = info(e.object).schema.parse(e.object) as Json;
    expect(created.spec, e.why).toEqual(parsed.spec);
  });
});

describe('updates', () => {
  it.each(invalidUpdates().map((u, i) => [u.id, u, i] as const))('rejects %s', async (_id, u, i) => {
    const name = `${u.old.metadata.name}-u${i}`;
    const created = (await custom.createNamespacedCustomObject({ ...target(u.old), body: body(u.old, name) })) as KubeObject;
    const next = body(u.new, name);
    next.metadata.resourceVersion = created.metadata.resourceVersion;
    const r = await rejection(custom.replaceNamespacedCustomObject({ ...target(u.new), name, body: next }));
    expect(r.code, r.message).toBe(422);
    expect(namesField(r.message, u.expectField!), `${u.why}: ${r.message}`).toBe(true);
    for (const issue of checkObjectUpdate(info(u.old), u.new, u.old)) expect(r.message, 'same message as checkObjectUpdate').toContain(issue.message);
  });

  it.each(validUpdates().map((u, i) => [u.id, u, i] as const))('accepts %s', async (_id, u, i) => {
    const name = `${u.old.metadata.name}-ok${i}`;
    const created = (await custom.createNamespacedCustomObject({ ...target(u.old), body: body(u.old, name) })) as KubeObject;
    const next = body(u.new, name);
    next.metadata.resourceVersion = created.metadata.resourceVersion;
    const updated = (await custom.replaceNamespacedCustomObject({ ...target(u.new), name, body: next })) as Json;
    expect(updated.spec).toEqual((info(u.new).schema.parse(u.new) as Json).spec);
  });
});

describe('defaults from the docs', () => {
  it('fills the autoscaling policy, replica floor, accelerator and precision of a bare Deployment', async () => {
    const name = 'defaults-probe';
    const obj: KubeObject = { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name }, spec: { baseModel: 'accounts/fireworks/models/qwen3-8b' } };
    const created = (await custom.createNamespacedCustomObject({ ...target(obj), body: body(obj) })) as { spec: Json };
    expect(created.spec).toEqual({
      baseModel: 'accounts/fireworks/models/qwen3-8b',
      minReplicaCount: 0,
      acceleratorType: 'NVIDIA_A100_80GB',
      precision: 'FP16',
      autoscalingPolicy: { scaleUpWindow: '30s', scaleDownWindow: '10m', scaleToZeroWindow: '1h', loadTargets: { default: 0.8 } } });
  });
});

describe('subresources', () => {
  const name = 'subresources-probe';
  const dep: KubeObject = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Deployment',
    metadata: { name },
    spec: { baseModel: 'accounts/fireworks/models/qwen3-8b', maxReplicaCount: 4 } };
  const t = { group: GROUP, version: VERSION, namespace, plural: DEPLOYMENT.plural, name };

  it('status is written only through /status, and spec only through the main resource', async () => {
    await custom.createNamespacedCustomObject({ ...target(dep), body: body(dep) });
    const current = (await custom.getNamespacedCustomObject(t)) as KubeObject & { status?: Json };
    const withStatus = {
      ...current,
      spec: { ...current.spec, maxReplicaCount: 9 },
      status: { state: 'READY', replicaCount: 2, desiredReplicaCount: 2, labelSelector: `hearth.dev/owner=${name}`, region: 'US_VIRGINIA_2', observedGeneration: 1 } };
    const afterStatus = (await custom.replaceNamespacedCustomObjectStatus({ ...t, body: withStatus })) as { spec: Json; status: Json };
    expect(afterStatus.status).toMatchObject({ state: 'READY', replicaCount: 2 });
    expect(afterStatus.spec.maxReplicaCount, 'spec change through /status is ignored').toBe(4);

    const viaMain = { ...afterStatus, status: { state: 'FAILED' } } as unknown as KubeObject;
    const afterMain = (await custom.replaceNamespacedCustomObject({ ...t, body: viaMain })) as { status: Json };
    expect(afterMain.status.state, 'status change through the main resource is ignored').toBe('READY');
  });

  it('status is validated too: an unknown state is rejected', async () => {
    const current = (await custom.getNamespacedCustomObject(t)) as KubeObject & { status?: Json };
    const r = await rejection(custom.replaceNamespacedCustomObjectStatus({ ...t, body: { ...current, status: { ...current.status, state: 'SLEEPING' } } }));
    expect(r.code).toBe(422);
    expect(r.message).toContain('status.state');
  });

  const scaleBody = (replicas: number) => ({
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name, namespace },
    spec: { replicas } });

  it('GET /scale fails while spec.replicaCount is unset (documented Kubernetes behaviour: the autoscaler owns the count)', async () => {
    const r = await rejection(custom.getNamespacedCustomObjectScale(t));
    expect(r.message).toContain('.spec.replicaCount');
  });

  it('scale writes spec.replicaCount and reads status.replicaCount and the selector', async () => {
    const scaled = (await custom.replaceNamespacedCustomObjectScale({ ...t, body: scaleBody(3) })) as { spec: { replicas: number } };
    expect(scaled.spec.replicas).toBe(3);
    const after = (await custom.getNamespacedCustomObject(t)) as { spec: Json };
    expect(after.spec.replicaCount).toBe(3);
    const scale = (await custom.getNamespacedCustomObjectScale(t)) as { spec: { replicas: number }; status: { replicas: number; selector?: string } };
    expect(scale).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 2, selector: `hearth.dev/owner=${name}` } });
  });

  it('scale is validated like the object: a negative replica count is rejected', async () => {
    const r = await rejection(custom.replaceNamespacedCustomObjectScale({ ...t, body: scaleBody(-1) }));
    expect(r.code, r.message).toBe(422);
    expect(r.message).toContain('spec.replicaCount');
  });
});

describe('discovery and kubectl', () => {
  it('serves every kind with its short names in the hearth category', async () => {
    const list = await custom.getAPIResources({ group: GROUP, version: VERSION });
    for (const k of KINDS) {
      const r = list.resources.find((x) => x.name === k.plural);
      expect(r, k.plural).toBeDefined();
      expect(r!.kind).toBe(k.kind);
      expect(r!.namespaced).toBe(true);
      expect(r!.categories).toContain(CATEGORY);
      expect(r!.shortNames).toEqual(k.shortNames);
    }
    for (const sub of ['status', 'scale']) expect(list.resources.some((x) => x.name === `${DEPLOYMENT.plural}/${sub}`), sub).toBe(true);
  });

  async function kubectl(...args: string[]): Promise<string> {
    const { stdout } = await run('bash', [join(REPO_ROOT, 'hack', 'kubectl'), ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath() },
      timeout: 120_000 });
    return stdout;
  }

  it('`kubectl get hearth` lists objects of every kind', async () => {
    const out = await kubectl('get', CATEGORY, '-n', namespace, '-o', 'name');
    for (const k of KINDS) expect(out, k.kind).toContain(`${k.kind.toLowerCase()}.${GROUP}/`);
    const sft = await kubectl('get', 'sftj', '-n', namespace);
    expect(sft).toMatch(/NAME\s+STATE\s+READY\s+BASE MODEL\s+DATASET\s+PROGRESS\s+AGE/);
  });

  it('`kubectl apply -f manifests/samples/` is accepted (server-side dry run)', async () => {
    const out = await kubectl('apply', '-n', namespace, '--dry-run=server', '-f', join(REPO_ROOT, 'manifests', 'samples'));
    for (const k of KINDS) expect(out, k.kind).toContain(`${k.kind.toLowerCase()}.${GROUP}/`);
  });

  it('`kubectl explain` shows the description of a nested field', async () => {
    const out = await kubectl('explain', `deployments.${GROUP}.spec.autoscalingPolicy.scaleToZeroWindow`);
    expect(out).toContain('at least 5m');
  });
});
