// LoRA end to end (issue 12) on the simulated cluster (real kube-apiserver, scheduler, controller
// manager, EndpointSlice controller; KWOK GPU nodes) and a real PostgreSQL, wired as `main.ts` mode
// `all` wires it: the REST API, the controller manager (Deployment + DeployedModel controllers) and
// the gateway on one informer cache.
//
// A deployment with addons (min 1) → an adapter model created over REST, its files PUT to the signed
// URLs and validated → READY → loaded through REST deployedModels
// AND through `kubectl apply -f` (hack/kubectl, a DeployedModel manifest) → DEPLOYED → chat through the gateway with
// every model-id form → scale to 3 → all 3 replicas have both adapters and serve them → one
// replica's server restarts (loses its adapters) → loaded again → unload both (REST delete, kubectl
// delete) → requests answer 404 → the loras quota back to where it was.
//
// Simulation: one model-server fixture per KWOK pod (test/support/fixture-fleet.ts) behind a
// SimulatedDialMap that the gateway AND the DeployedModel controller dial through; everything else
// (which pods are Ready, their IPs, what is loaded where) is Hearth's production path.
//
// The adapters' files: the Deployment controller gives the pods the model-files sidecar; per pod the
// fleet runs Hearth's real sidecar code on loopback over a temp directory, which is that pod
// fixture's /mnt/models. The fixture, like vLLM, refuses a lora_path without adapter_config.json
// and the weights, so every load below proves the DeployedModel controller had the sidecar fetch
// the files from the API's signed URLs first — on scale-out and after a restart too; the test also
// compares the bytes on each replica with the upload, and checks they are removed on unload.
//
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_FILES_CONTAINER } from '../../src/controllers/deployment/children/workload.js';
import { loadModelServerConfig } from '../../src/controllers/deployment/model-server-config.js';
import type { DeployedModel } from '../../src/crds/deployed-model.js';
import { GROUP, VERSION } from '../../src/crds/group.js';
import { LORAS_QUOTA, getQuota } from '../../src/db/repositories/quotas.js';
import type { Gateway } from '../../src/gateway/index.js';
import { ADAPTER_CONFIG, safetensors } from '../support/adapter-files.js';
import { callApi } from '../support/api.js';
import { startClusterHearth, type ClusterHearth } from '../support/cluster-hearth.js';
import { ROOT as REPO_ROOT } from '../../hack/lib/cluster.js';
import { kubeconfigPath, testKubeConfig } from '../support/env.js';
import { FixtureFleet } from '../support/fixture-fleet.js';
import { dumpNamespace, waitFor } from '../support/wait.js';
import { chat as chatThroughGateway } from '../support/gateway-client.js';

const BASE = 'accounts/fireworks/models/llama-v3p1-8b-instruct';
const suffix = randomBytes(3).toString('hex');
const ACCOUNT = `lora-${suffix}`;
const NS = `acct-${ACCOUNT}`;
const DEP = 'chat';
const RUN_LABEL = 'hearth.dev/lora-e2e';
const dbName = `hearth_t_lora_${suffix}`;
const ADAPTER = `accounts/${ACCOUNT}/models/sql-lora`;
const ADAPTER_2 = `accounts/${ACCOUNT}/models/chat-lora`;

const kc = testKubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const dmTarget = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployedmodels' };
const depTarget = { group: GROUP, version: VERSION, namespace: NS, plural: 'deployments' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let hearth: ClusterHearth;
let app: FastifyInstance;
let gw: Gateway;
let fleet: FixtureFleet;
let apiKey = '';
/** Fixture ports the gateway dialled, in order. */
const dialled: number[] = [];
/** What was uploaded, by model id and file name. */
const uploaded = new Map<string, Record<string, Buffer>>();

const chat = (model: string) => chatThroughGateway(gw.url, apiKey, model, 'select 1', 3);

/** The kubectl built with the simulated cluster (hack/kubectl), as a user runs it. */
async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(REPO_ROOT, 'hack', 'kubectl'), ...args], { env: { ...process.env, KUBECONFIG: kubeconfigPath() }, timeout: 120_000 });
  return stdout;
}

/** `kubectl apply -f` of one object (written to a file, as a user's manifest). */
async function kubectlApply(obj: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-lora-e2e-'));
  try {
    const file = join(dir, 'object.json');
    await writeFile(file, JSON.stringify(obj));
    return await kubectl('apply', '-n', NS, '-f', file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rest = (method: string, path: string, body?: unknown) => callApi(app, method, `/v1/accounts/${ACCOUNT}${path}`, apiKey, body);
const getDm = async (name: string): Promise<DeployedModel | undefined> =>
  ((await custom.getNamespacedCustomObject({ ...dmTarget, name }).catch(() => undefined)) as DeployedModel | undefined);
const lorasUsage = async (): Promise<number> => (await getQuota(hearth.database.db, ACCOUNT, LORAS_QUOTA))?.usage ?? 0;

/** An adapter model through the REST API: create, :getUploadEndpoint, a PUT per file, :validateUpload → READY. */
async function uploadAdapter(id: string): Promise<void> {
  const created = await rest('POST', '/models', { modelId: id, model: { kind: 'HF_PEFT_ADDON', peftDetails: { baseModel: BASE, r: 8, targetModules: ['q_proj', 'v_proj'] } } });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const files: Record<string, Buffer> = { 'adapter_config.json': ADAPTER_CONFIG, 'adapter_model.safetensors': safetensors() };
  uploaded.set(id, files);
  const sizes = Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, String(bytes.length)]));
  const endpoint = await rest('POST', `/models/${id}:getUploadEndpoint`, { filenameToSize: sizes });
  expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(200);
  const urls = endpoint.body.filenameToSignedUrls as Record<string, string>;
  for (const [name, bytes] of Object.entries(files)) {
    const signed = new URL(urls[name]!);
    const put = await app.inject({ method: 'PUT', url: signed.pathname + signed.search, payload: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.statusCode, put.body).toBe(200);
  }
  const validated = await rest('GET', `/models/${id}:validateUpload`);
  expect(validated.status, JSON.stringify(validated.body)).toBe(200);
  expect((await rest('GET', `/models/${id}`)).body).toMatchObject({ state: 'READY' });
}

const dump = async (): Promise<unknown> => ({
  deployedModels: ((await custom.listNamespacedCustomObject(dmTarget)) as { items: DeployedModel[] }).items.map((d) => ({ name: d.metadata.name, spec: d.spec, status: d.status, finalizers: d.metadata.finalizers })),
  fleet: [...fleet.replicas.values()].map((r) => ({ pod: r.pod, ip: r.podIp, port: r.fixture.port, adapters: [...r.fixture.adapters().keys()], modelRoot: r.modelRoot })),
  gateway: { held: gw.core.hold.keys(), ready: gw.core.upstreams.counts() },
  ...((await dumpNamespace(kc, NS)) as object),
});

/** Each replica's /mnt/models/<account>/<id> holds exactly the uploaded bytes of each of `ids`. */
async function expectFilesOnEveryReplica(ids: string[]): Promise<void> {
  for (const r of fleet.replicas.values()) {
    for (const id of ids) {
      for (const [name, bytes] of Object.entries(uploaded.get(id) ?? {})) {
        const got = await readFile(join(r.modelRoot!, ACCOUNT, id, name));
        expect(got.equals(bytes), `${r.pod}: /mnt/models/${ACCOUNT}/${id}/${name}`).toBe(true);
      }
    }
  }
}

/** Every replica of the fleet (exactly `n`) has `models` loaded, and the DeployedModels say so. */
async function waitLoadedEverywhere(n: number, names: string[], models: string[], what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      if (fleet.replicas.size !== n) return false;
      for (const r of fleet.replicas.values()) for (const m of models) if (!r.fixture.adapters().has(m)) return false;
      for (const name of names) {
        const d = await getDm(name);
        const loaded = (d?.status?.replicas ?? []).filter((x) => x.state === 'LOADED').length;
        if (d?.status?.state !== 'DEPLOYED' || loaded !== n) return false;
      }
      return true;
    },
    { timeoutMs: 90_000, intervalMs: 250, dump },
  );
}

beforeAll(async () => {
  hearth = await startClusterHearth({
    account: ACCOUNT,
    dbName,
    // This tree's CRDs again: on a shared cluster another suite may have applied older ones since the
    // global setup (the DeployedModel status the gateway routes on needs this tree's schema).
    crdManager: 'hearth-lora-e2e',
    // The API listens: the pods' model-files sidecars fetch the adapters' signed download URLs from it.
    listen: true,
    gateway: {
      config: { holdTimeoutMs: 3_000, notReadyRetryAfterSeconds: 5 },
      deps: {
        loadReporter: { report: () => undefined },
        dialTarget: (ep) => {
          const t = fleet.dial(ep.address, ep.port);
          dialled.push(t.port);
          return t;
        },
      },
    },
    manager: ({ apiUrl }) => ({
      // Pods of deployments with addons get the model-files sidecar (as HEARTH_MODEL_FILES_IMAGE/_SOURCE_URL do).
      deployment: { selector: `${RUN_LABEL}=${suffix}`, capacityRetryMs: 2000, quotaRetryMs: 2000, modelServerConfig: loadModelServerConfig({ modelFiles: { image: 'ghcr.io/hearth-dev/hearth:e2e', sourceUrl: apiUrl } }) },
      // The URLs are signed with the API's (in-process) secret, as mode `all` does. The fleet starts
      // once the API listens (its sidecars fetch from it), before any pod of the run exists.
      deployedModel: { dial: (address, port) => fleet.dial(address, port), pollMs: 1_000, modelFiles: { sourceUrl: apiUrl } },
    }),
  });
  ({ app, apiKey } = hearth);
  gw = hearth.gateway!;
  fleet = new FixtureFleet(kc, NS, DEP, { model: BASE, modelFiles: { sourceUrl: hearth.apiUrl } });
  fleet.start();
}, 120_000);

afterAll(async () => {
  await hearth?.close();
  await fleet?.stop();
}, 60_000);

describe('LoRA end to end on the simulated cluster', () => {
  let restDm = '';
  const KUBECTL_DM = 'chat-lora-applied';

  it('loads an adapter through REST and through kubectl apply; DEPLOYED; the gateway serves it by every model-id form', async () => {
    // A deployment with addons, min 1 (kubectl apply; labelled so only this run's controller takes it).
    await custom.createNamespacedCustomObject({
      ...depTarget,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Deployment',
        metadata: { name: DEP, labels: { [RUN_LABEL]: suffix } },
        spec: { baseModel: BASE, acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, minReplicaCount: 1, maxReplicaCount: 3, replicaCount: 1, enableAddons: true },
      },
    });
    // The adapters as a user makes them: created over REST, files PUT to the signed URLs, validated → READY.
    for (const id of ['sql-lora', 'chat-lora']) await uploadAdapter(id);
    const usageBefore = await lorasUsage();
    await waitFor('the deployment in the API cache', async () => (await rest('GET', `/deployments/${DEP}`)).status === 200, { timeoutMs: 20_000, dump });

    const created = await rest('POST', '/deployedModels', { model: ADAPTER, deployment: `accounts/${ACCOUNT}/deployments/${DEP}` });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    restDm = String(created.body.name).split('/').pop()!;
    expect(created.body).toMatchObject({ state: 'DEPLOYING', default: true });
    // `kubectl apply` of a second adapter (the bare deployment id, as a manifest would): counted against the quota by the controller.
    const applied = await kubectlApply({ apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: KUBECTL_DM }, spec: { model: ADAPTER_2, deployment: DEP, default: true } });
    expect(applied).toContain(`deployedmodel.${GROUP}/${KUBECTL_DM} created`);

    await waitLoadedEverywhere(1, [restDm, KUBECTL_DM], [ADAPTER, ADAPTER_2], 'both adapters DEPLOYED on the one replica');
    expect((await rest('GET', `/deployedModels/${restDm}`)).body).toMatchObject({ state: 'DEPLOYED' });
    expect(await kubectl('get', '-n', NS, `deployedmodels.${GROUP}`, KUBECTL_DM, '-o', 'jsonpath={.status.state}')).toBe('DEPLOYED');
    // The pod has the sidecar; the files it fetched are the uploaded bytes, where lora_path points.
    const workload = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: NS, name: `${DEP}-server` });
    expect(workload.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['model-server', MODEL_FILES_CONTAINER]);
    expect((await getDm(restDm))?.status?.adapterPath).toBe(`/mnt/models/${ACCOUNT}/sql-lora`);
    await expectFilesOnEveryReplica(['sql-lora', 'chat-lora']);
    // …and the fixture really checks: a lora_path whose files were never put there is refused (vLLM's 404).
    const only = [...fleet.replicas.values()][0]!;
    const probe = await fetch(`${only.fixture.url}/v1/load_lora_adapter`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lora_name: 'probe', lora_path: `/mnt/models/${ACCOUNT}/never-uploaded` }) });
    expect(probe.status).toBe(404);
    expect(await probe.text()).toContain('No adapter found for');
    await waitFor('the kubectl-made DeployedModel to hold a loras unit', async () => (await lorasUsage()) === usageBefore + 2, { timeoutMs: 10_000, dump });

    for (const id of [ADAPTER, `${ACCOUNT}/sql-lora`, `${ADAPTER}#accounts/${ACCOUNT}/deployments/${DEP}`, `${ACCOUNT}/sql-lora#${ACCOUNT}/${DEP}`, `accounts/${ACCOUNT}/deployedModels/${restDm}`]) {
      const r = await waitFor(`the gateway to serve ${id}`, async () => {
        const res = await chat(id);
        return res.status === 200 ? res : undefined;
      }, { timeoutMs: 20_000, intervalMs: 200, dump });
      expect(JSON.parse(r.body), id).toMatchObject({ model: ADAPTER });
    }
    const viaKubectl = await chat(ADAPTER_2);
    expect(viaKubectl.status, viaKubectl.body).toBe(200);
    expect(JSON.parse(viaKubectl.body)).toMatchObject({ model: ADAPTER_2 });

    // Bad input through kubectl (REST would refuse it with a 400): a deployment without addons. The
    // object exists, so the controller says why in its status — FAILED, naming enableAddons — and it
    // holds no loras unit; kubectl delete lets it go.
    await custom.createNamespacedCustomObject({
      ...depTarget,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: 'plain', labels: { [RUN_LABEL]: suffix } }, spec: { baseModel: BASE, acceleratorType: 'AMD_MI300X_192GB', acceleratorCount: 1, minReplicaCount: 0, maxReplicaCount: 1, replicaCount: 0 } },
    });
    await kubectlApply({ apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: 'on-plain' }, spec: { model: ADAPTER, deployment: 'plain' } });
    const bad = await waitFor('the DeployedModel on a deployment without addons to be FAILED', async () => {
      const d = await getDm('on-plain');
      return d?.status?.state === 'FAILED' ? d : undefined;
    }, { timeoutMs: 20_000, dump });
    expect(bad.status?.status?.message).toContain('does not accept addons (enableAddons is not true)');
    expect(await lorasUsage()).toBe(usageBefore + 2);
    await kubectl('delete', '-n', NS, `deployedmodels.${GROUP}`, 'on-plain', '--wait=false');
    await waitFor('the FAILED DeployedModel gone', async () => (await getDm('on-plain')) === undefined, { timeoutMs: 20_000, dump });
    expect(await lorasUsage()).toBe(usageBefore + 2);
  }, 180_000);

  it('scale to 3: every new replica gets both adapters and serves them; a restarted server is loaded again', async () => {
    await custom.patchNamespacedCustomObject({ ...depTarget, name: DEP, body: { spec: { replicaCount: 3 } } }, mergePatch);
    await waitLoadedEverywhere(3, [restDm, KUBECTL_DM], [ADAPTER, ADAPTER_2], 'both adapters on all 3 replicas');
    // Each new pod's sidecar fetched the files (its fixture would have refused the load otherwise).
    await expectFilesOnEveryReplica(['sql-lora', 'chat-lora']);
    await waitFor('the gateway to see 3 ready replicas', async () => gw.core.upstreams.readyCount(`${NS}/${DEP}`) === 3, { timeoutMs: 20_000, dump });

    dialled.length = 0;
    for (let i = 0; i < 12; i++) {
      const r = await chat(i % 2 === 0 ? ADAPTER : ADAPTER_2);
      expect(r.status, r.body).toBe(200);
    }
    const ports = new Set([...fleet.replicas.values()].map((r) => r.fixture.port));
    expect(new Set(dialled)).toEqual(ports); // all three replicas serve the adapters

    // One replica's server restarts in place: it forgets both adapters; the controller finds out by
    // polling its adapter list and loads them again.
    const victim = [...fleet.replicas.values()][1]!;
    await victim.fixture.restart();
    expect(victim.fixture.adapters().size).toBe(0);
    await waitFor('the restarted server to have both adapters again', async () => victim.fixture.adapters().has(ADAPTER) && victim.fixture.adapters().has(ADAPTER_2), { timeoutMs: 30_000, intervalMs: 100, dump });
    for (let i = 0; i < 6; i++) expect((await chat(ADAPTER)).status).toBe(200);
    // Reloaded from the files still in the pod's /mnt/models (an emptyDir outlives a server restart).
    await expectFilesOnEveryReplica(['sql-lora', 'chat-lora']);
  }, 180_000);

  it('unload (REST delete and kubectl delete): the objects go, requests answer 404, the quota is back', async () => {
    const before = await lorasUsage();
    expect((await rest('DELETE', `/deployedModels/${restDm}`)).status).toBe(200);
    expect(await kubectl('delete', '-n', NS, `deployedmodels.${GROUP}`, KUBECTL_DM, '--wait=false')).toContain(`deployedmodel.${GROUP} "${KUBECTL_DM}" deleted`);
    await waitFor('both DeployedModels gone (finalizers done)', async () => (await getDm(restDm)) === undefined && (await getDm(KUBECTL_DM)) === undefined, { timeoutMs: 30_000, dump });
    for (const r of fleet.replicas.values()) expect([...r.fixture.adapters().keys()]).toEqual([]);
    // After the last unload the sidecars removed the files.
    for (const r of fleet.replicas.values()) {
      for (const id of ['sql-lora', 'chat-lora']) await expect(stat(join(r.modelRoot!, ACCOUNT, id)), `${r.pod}: ${id}`).rejects.toThrow(/ENOENT/);
    }
    await waitFor('the gateway to answer 404 for the adapters', async () => (await chat(ADAPTER)).status === 404 && (await chat(ADAPTER_2)).status === 404, { timeoutMs: 10_000, dump });
    expect((await chat(`accounts/${ACCOUNT}/deployedModels/${restDm}`)).status).toBe(404);
    expect(await lorasUsage()).toBe(before - 2);
    // The base model still serves.
    expect((await chat(`${BASE}#accounts/${ACCOUNT}/deployments/${DEP}`)).status).toBe(200);
  }, 120_000);
});
