// The DeployedModel reconciler: loads a LoRA adapter into every Ready replica of its Deployment
// through the model server's runtime adapter API (model-server.ts) and records per replica what is
// loaded, which is what the gateway routes adapter requests on. Level-triggered and idempotent:
// each pass compares what every Ready replica HAS (replica-adapters.ts, the servers' own lists)
// with what it should have, and loads only the difference.
//
//   fetch (gone → done) → being deleted? unload from every Ready replica (unless another live
//   DeployedModel of the deployment serves the same adapter), release the `loras` quota, drop the
//   finalizer (status UNDEPLOYING meanwhile) → finalizer → base deployment (exists, not deleted,
//   addons on) → within the deployment's --max-loras (oldest DeployedModels first) → adapter model
//   READY, its lora_path → hold one `loras` unit (kubectl-made objects count too; none while FAILED
//   for bad input)
//   → per Ready replica (EndpointSlice): listed by the server? LOADED : load it
//     (refused: attempts+1, FAILED after MAX_LOAD_ATTEMPTS; unreachable: retry, not counted)
//   → status once (state, replicas, conditions) → requeue: soon while loading, every pollMs after
//     (a restarted server lists nothing: the next poll loads again)
import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import { accountOfNamespace } from '../../crds/account.js';
import type { DeployedModel, DeployedModelStatus, ReplicaAdapter } from '../../crds/deployed-model.js';
import type { Deployment } from '../../crds/deployment.js';
import { ANNOTATIONS, FINALIZER } from '../../crds/group.js';
import { acceptsAddons, adapterPath, addonSlots } from '../../fleet/lora.js';
import { readyEndpoints, sliceDeploymentKey, type EndpointSliceLike } from '../../kube/endpoint-slices.js';
import { splitKey } from '../../kube/keys.js';
import type { Clock } from '../../util/clock.js';
import { EventRecorder } from '../runtime/events.js';
import type { Lister } from '../runtime/controller.js';
import { hasFinalizer } from '../runtime/finalizers.js';
import { OwnWrites, PassObject } from '../runtime/pass.js';
import { inUnverifiedNamespace } from '../runtime/tenancy.js';
import type { ReconcileContext, Reconciler, Result } from '../runtime/result.js';
import type { ObjectWriter } from '../runtime/writer.js';
import { modelRefOf, type ModelFileUrls, type ModelFilesApi } from './model-files.js';
import type { AdapterApi } from './model-server.js';
import { ReplicaAdapters, type ReplicaRef } from './replica-adapters.js';
import { MAX_LOAD_ATTEMPTS, computeStatus, eventsFor, undeployingStatus, type Blocker, type PassOutcome } from './status.js';
import { holderOf, type AdapterModels, type LoraQuota, type ModelFileSet } from './stores.js';

export interface Listers {
  deployedModels: Lister<DeployedModel>;
  deployments: Lister<Deployment>;
  endpointSlices: Lister<EndpointSliceLike & KubernetesObject>;
  namespaces: Lister<V1Namespace>;
}

export interface DeployedModelReconcilerOptions {
  listers: Listers;
  writer: ObjectWriter;
  api: AdapterApi;
  models: AdapterModels;
  quota: LoraQuota;
  clock: Clock;
  /** How often each Ready replica's adapter list is re-read (lost adapters are found this way). */
  pollMs?: number;
  /** Default `--max-loras` when a deployment sets no numPeftDeviceCached (the runtime config's). */
  defaultMaxLoras?: number;
  /**
   * The deployments lister holds only the selected Deployments (a shard): a DeployedModel whose
   * deployment is not there belongs to another controller and is left untouched.
   */
  sharded?: boolean;
  /** lora_path of a model the database does not hold (a shared one); default src/fleet/lora.ts's. */
  modelPathTemplate?: string;
  /**
   * The replicas' model-files sidecars (model-files.ts) and the signed URLs they fetch from: an
   * adapter's files are put into the pod before each load and removed after the last unload.
   * Unset: the files must reach lora_path some other way (an operator's shared volume).
   */
  files?: { api: ModelFilesApi; urls: ModelFileUrls };
  events?: EventRecorder;
}

export const DEFAULT_POLL_MS = 10_000;
/** Retry of a refused or unreachable load: 1 s, 2 s, 4 s … capped. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** How soon a DeployedModel waiting for its deployment or its model looks again. */
const WAIT_MS = 5_000;

/** `spec.deployment` as a name in the DeployedModel's namespace (or undefined for another account's). */
export function localDeploymentName(ref: string, account: string | undefined): string | undefined {
  if (!ref.startsWith('accounts/')) return ref;
  const parts = ref.split('/');
  return parts.length === 4 && parts[1] === account && parts[2] === 'deployments' ? parts[3] : undefined;
}

const isGone = (o: KubernetesObject): boolean =>
  o.metadata?.deletionTimestamp !== undefined || o.metadata?.annotations?.[ANNOTATIONS.softDeleteRequested] !== undefined;

/** The adapter's name on the model server: the addon model's name, which requests carry as `model`. */
export const loraName = (dm: DeployedModel): string => dm.spec.model;

export class DeployedModelReconciler implements Reconciler {
  readonly #o: DeployedModelReconcilerOptions;
  readonly #events: EventRecorder;
  readonly #written = new OwnWrites<DeployedModel>();
  readonly #replicas: ReplicaAdapters;
  readonly #pollMs: number;

  constructor(o: DeployedModelReconcilerOptions) {
    this.#o = o;
    this.#pollMs = o.pollMs ?? DEFAULT_POLL_MS;
    this.#events = o.events ?? new EventRecorder({ sink: o.writer, clock: o.clock });
    this.#replicas = new ReplicaAdapters(o.api, o.clock, this.#pollMs);
  }

  async reconcile(key: string, ctx?: ReconcileContext): Promise<Result> {
    const read = this.#written.read(key, this.#o.listers.deployedModels.get(key));
    if (!read) return {};
    const { namespace } = splitKey(key);
    if (!namespace) return {};
    const ns = this.#o.listers.namespaces.get(namespace);
    const account = accountOfNamespace(ns);
    const obj = new PassObject(this.#o.writer, read);
    try {
      if (read.metadata.deletionTimestamp) return await this.#deleted(obj, namespace, account, ctx);
      // A namespace labelled with an account by hand: no adapter loaded on anyone's replicas.
      if (await inUnverifiedNamespace(ns, read, this.#events, ctx?.log)) return {};
      if (this.#o.sharded && !this.#inShard(read, namespace, account)) return {};
      return await this.#run(obj, namespace, account, ctx);
    } finally {
      this.#written.remember(key, read, obj);
    }
  }

  #inShard(dm: DeployedModel, namespace: string, account: string | undefined): boolean {
    const dep = localDeploymentName(dm.spec.deployment, account);
    return dep !== undefined && this.#o.listers.deployments.get(`${namespace}/${dep}`) !== undefined;
  }

  /**
   * Being deleted. Sharded: the shard of the deployment unloads (it is the one that reaches those
   * replicas); another shard steps in only when no Ready replica is left to unload from (the
   * deployment is gone), so a DeployedModel is never stuck on its finalizer.
   */
  #deleted(obj: PassObject<DeployedModel>, namespace: string, account: string | undefined, ctx?: ReconcileContext): Promise<Result> {
    const dm = obj.current;
    if (this.#o.sharded && !this.#inShard(dm, namespace, account) && this.#servedAnywhere(dm, namespace, account)) return Promise.resolve({});
    return this.#finalize(obj, namespace, account, ctx);
  }

  /** Whether the DeployedModel's deployment has a Ready replica (in any shard: EndpointSlices are not sharded). */
  #servedAnywhere(dm: DeployedModel, namespace: string, account: string | undefined): boolean {
    const dep = localDeploymentName(dm.spec.deployment, account);
    return dep !== undefined && this.readyReplicas(namespace, dep).length > 0;
  }

  /** The Ready replicas of `namespace/deployment`, in address order. */
  readyReplicas(namespace: string, deployment: string): Array<ReplicaRef & { pod: string }> {
    const key = `${namespace}/${deployment}`;
    const seen = new Map<string, ReplicaRef & { pod: string }>();
    for (const s of this.#o.listers.endpointSlices.list(namespace)) {
      if (sliceDeploymentKey(s) !== key) continue;
      for (const e of readyEndpoints(s)) {
        const id = `${e.address}:${e.port}`;
        if (!seen.has(id)) seen.set(id, { address: e.address, port: e.port, pod: e.pod ?? id, ...(e.podUid ? { podUid: e.podUid } : {}) });
      }
    }
    return [...seen.values()].sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1));
  }

  /** Unload everywhere, give the quota back, let the object go (whoever deleted it: REST or kubectl). */
  async #finalize(obj: PassObject<DeployedModel>, namespace: string, account: string | undefined, ctx?: ReconcileContext): Promise<Result> {
    const dm = obj.current;
    if (!hasFinalizer(dm, FINALIZER)) return {};
    await obj.writeStatus(undeployingStatus(dm.status as DeployedModelStatus | undefined, new Date(this.#o.clock.now())));
    const dep = localDeploymentName(dm.spec.deployment, account);
    const name = loraName(dm);
    // Another live DeployedModel of the same adapter on the same deployment still needs it.
    const shared = this.#o.listers.deployedModels
      .list(namespace)
      .some((o) => o.metadata.name !== dm.metadata.name && !o.metadata.deletionTimestamp && o.spec.model === name && localDeploymentName(o.spec.deployment, account) === dep);
    if (dep !== undefined && !shared) {
      const failures: string[] = [];
      await Promise.all(
        this.readyReplicas(namespace, dep).map(async (r) => {
          try {
            const res = await this.#o.api.unload(r, name, ctx?.signal);
            if (!res.ok) return void failures.push(`${r.pod}: ${res.status} ${res.message}`);
            this.#replicas.removed(r, name);
            await this.#removeFiles(r, name, ctx);
          } catch (e) {
            // Unreachable: a server that is down has nothing loaded when it comes back.
            ctx?.log?.info({ replica: r.pod, err: e }, 'unload: replica unreachable; skipped');
          }
        }),
      );
      if (failures.length > 0) throw new Error(`unloading ${name} failed on ${failures.join('; ')}`);
    }
    if (account !== undefined) await this.#o.quota.release(account, holderOf(dm.metadata.name ?? ''));
    await obj.removeFinalizer(FINALIZER);
    return {};
  }

  async #run(obj: PassObject<DeployedModel>, namespace: string, account: string | undefined, ctx?: ReconcileContext): Promise<Result> {
    await obj.addFinalizer(FINALIZER);
    const dm = obj.current;
    const prev = dm.status as DeployedModelStatus | undefined;
    const target = await this.#target(dm, namespace, account);
    const outcome: PassOutcome =
      'blocker' in target
        ? { generation: dm.metadata.generation as number | undefined, replicas: [], blocker: target.blocker }
        : { generation: dm.metadata.generation as number | undefined, replicas: await this.#loadAll(dm, namespace, target, ctx), adapterPath: target.path };
    const next = computeStatus(prev, outcome, new Date(this.#o.clock.now()));
    if (await obj.writeStatus(next)) for (const e of eventsFor(prev, next)) await this.#events.record(obj.current, e, ctx?.log);
    const requeueMs = this.#requeueMs(outcome);
    return requeueMs !== undefined ? { requeueAfter: requeueMs } : {};
  }

  /** Every Ready replica of the deployment, in address order, each loaded if it lacks the adapter. */
  #loadAll(dm: DeployedModel, namespace: string, t: Target, ctx?: ReconcileContext): Promise<ReplicaAdapter[]> {
    const before = new Map(((dm.status as DeployedModelStatus | undefined)?.replicas ?? []).map((r) => [r.pod, r]));
    const name = loraName(dm);
    const ready = this.readyReplicas(namespace, t.deployment);
    this.#replicas.retain(`${namespace}/${t.deployment}`, ready);
    return Promise.all(
      ready.map((r) => this.#replica({ r, name, path: t.path, ...(t.files ? { files: t.files } : {}), before: before.get(r.pod) }, ctx)),
    );
  }

  /** Soon while a blocker may clear or a load is retried (backoff); every pollMs while replicas serve it. */
  #requeueMs(o: PassOutcome): number | undefined {
    if (o.blocker) return o.blocker.failed ? undefined : WAIT_MS;
    const retrying = o.replicas.filter((r) => r.state === 'LOADING');
    if (retrying.length > 0) return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(...retrying.map((r) => r.attempts ?? 0)));
    return o.replicas.length > 0 ? this.#pollMs : undefined;
  }

  /**
   * What keeps the adapter off the replicas, or the deployment and lora_path to load it with. One
   * `loras` unit is held while it is loaded or may still be (waiting for its deployment or model);
   * none while it is FAILED for what retrying cannot fix (bad input made with kubectl: another base
   * model, addons off, no --max-loras slot), as REST refuses such input before reserving any.
   */
  async #target(dm: DeployedModel, namespace: string, account: string | undefined): Promise<{ blocker: Blocker } | Target> {
    const found = await this.#find(dm, namespace, account);
    if (account === undefined) return found;
    const holder = holderOf(dm.metadata.name ?? '');
    if ('blocker' in found && found.blocker.failed) {
      await this.#o.quota.release(account, holder);
      return found;
    }
    const q = await this.#o.quota.hold(account, holder);
    return q.ok ? found : block('QuotaExceeded', 'RESOURCE_EXHAUSTED', true, q.message);
  }

  /** The deployment and the adapter model checked: a blocker, or where to load it. */
  async #find(dm: DeployedModel, namespace: string, account: string | undefined): Promise<{ blocker: Blocker } | Target> {
    const dep = this.#deploymentCheck(dm, namespace, account);
    if ('blocker' in dep) return dep;
    const model = await this.#o.models.get(dm.spec.model);
    if (model && model.state !== 'READY') return block('ModelNotReady', 'FAILED_PRECONDITION', false, `waiting for model ${dm.spec.model} to be READY (it is ${model.state})`);
    if (model?.baseModel !== undefined && model.baseModel !== dep.spec.baseModel) {
      return block('BaseModelMismatch', 'FAILED_PRECONDITION', true, `model ${dm.spec.model} adapts ${model.baseModel}, but deployment ${dep.name} serves ${dep.spec.baseModel}`);
    }
    if (!model && dm.spec.model.startsWith(`accounts/${account ?? ''}/`)) {
      return block('ModelNotFound', 'NOT_FOUND', false, `waiting for model ${dm.spec.model}: no such model in the account`);
    }
    // A shared model (another account's, e.g. accounts/fireworks) is known by name only.
    return { deployment: dep.name, path: model?.path ?? adapterPath(dm.spec.model, this.#o.modelPathTemplate), ...(model?.files ? { files: model.files } : {}) };
  }

  /** The base deployment: exists, not deleted, accepts addons, and has a --max-loras slot for `dm`. */
  #deploymentCheck(dm: DeployedModel, namespace: string, account: string | undefined): { blocker: Blocker } | { name: string; spec: Deployment['spec'] } {
    const name = localDeploymentName(dm.spec.deployment, account);
    if (name === undefined) return block('InvalidSpec', 'INVALID_ARGUMENT', true, `deployment ${dm.spec.deployment} is not in this account`);
    const dep = this.#o.listers.deployments.get(`${namespace}/${name}`);
    if (!dep || isGone(dep)) return block('DeploymentNotFound', 'NOT_FOUND', false, `waiting for deployment ${name}: it does not exist or is deleted`);
    const spec = dep.spec;
    if (!acceptsAddons(spec)) {
      return block('AddonsDisabled', 'FAILED_PRECONDITION', true, `deployment ${name} does not accept addons (enableAddons is not true)`);
    }
    const max = addonSlots(spec, this.#o.defaultMaxLoras);
    if (this.#rankOnDeployment(dm, namespace, name, account) >= max) {
      return block('TooManyAdapters', 'RESOURCE_EXHAUSTED', true, `deployment ${name} serves at most ${max} adapters (--max-loras) and ${max} older DeployedModels hold them`);
    }
    return { name, spec };
  }

  /**
   * Position of `dm` among the live DeployedModels of its deployment, oldest first. creationTimestamp
   * has one-second resolution: of two made in the same second, one already DEPLOYED keeps its slot
   * (a newcomer whose name sorts first must not take it), then the name decides.
   */
  #rankOnDeployment(dm: DeployedModel, namespace: string, dep: string, account: string | undefined): number {
    const peers = this.#o.listers.deployedModels
      .list(namespace)
      .filter((o) => !o.metadata.deletionTimestamp && localDeploymentName(o.spec.deployment, account) === dep)
      .map((o) => ({
        name: o.metadata.name ?? '',
        t: new Date((o.metadata.creationTimestamp as string | Date | undefined) ?? 0).getTime() || 0,
        serving: o.status?.state === 'DEPLOYED' ? 0 : 1,
      }))
      .sort((a, b) => a.t - b.t || a.serving - b.serving || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return peers.findIndex((p) => p.name === dm.metadata.name);
  }

  /** One Ready replica: listed → LOADED; else load (bounded refusals; unreachable is not a refusal). */
  async #replica(job: ReplicaJob, ctx?: ReconcileContext): Promise<ReplicaAdapter> {
    const { r, name, before } = job;
    const base = { pod: r.pod, address: `${r.address}:${r.port}` };
    // The same pod already refused it MAX_LOAD_ATTEMPTS times: FAILED until the replica changes.
    const samePod = before?.address === base.address;
    if (samePod && before?.state === 'FAILED') return before;
    const attempts = samePod ? (before?.attempts ?? 0) : 0;
    const unreachable = (e: unknown): ReplicaAdapter => ({ ...base, state: 'LOADING', ...(attempts ? { attempts } : {}), message: `model server unreachable: ${errText(e)}` });
    try {
      if ((await this.#replicas.loaded(r, ctx?.signal)).has(name)) return { ...base, state: 'LOADED' };
      // The files first (a no-op when the pod has them): vLLM reads lora_path when it loads.
      const res = (await this.#putFiles(job, ctx)) ?? (await this.#o.api.load(r, name, job.path, ctx?.signal));
      if (res.ok) {
        this.#replicas.added(r, name);
        return { ...base, state: 'LOADED' };
      }
      const n = attempts + 1;
      ctx?.log?.info({ replica: r.pod, adapter: name, attempt: n, status: res.status, message: res.message }, 'model server refused the adapter');
      return { ...base, state: n >= MAX_LOAD_ATTEMPTS ? 'FAILED' : 'LOADING', attempts: n, message: `${res.status}: ${res.message}`.slice(0, 1024) };
    } catch (e) {
      return unreachable(e);
    }
  }

  /** Asks the replica's sidecar for the adapter's files; a refusal (as a failed load), or undefined when they are there. Throws when unreachable. */
  async #putFiles(job: ReplicaJob, ctx?: ReconcileContext): Promise<{ ok: false; status: number; message: string } | undefined> {
    const files = this.#o.files;
    if (!files || !job.files) return undefined;
    const f = job.files;
    let res;
    try {
      res = await files.api.put(job.r, f, files.urls(f, f.sizes), ctx?.signal);
    } catch (e) {
      // Reported as the replica being unreachable, naming the sidecar (errText of a wrapped error would lose the code).
      throw new Error(`model-files sidecar: ${errText(e)}`);
    }
    // 503: the sidecar could not reach the API; retried like an unreachable replica, not a refusal.
    if (!res.ok && res.status === 503) throw new Error(`model-files sidecar: ${res.message}`);
    return res.ok ? undefined : { ok: false, status: res.status, message: `the model-files sidecar could not put the adapter's files into ${job.path}: ${res.message}` };
  }

  /** After the last unload from a replica: its copy of the files goes too (best effort; unreachable: skipped). */
  async #removeFiles(r: ReplicaRef & { pod: string }, model: string, ctx?: ReconcileContext): Promise<void> {
    const files = this.#o.files;
    const ref = modelRefOf(model);
    if (!files || !ref) return;
    try {
      const res = await files.api.remove(r, ref, ctx?.signal);
      if (!res.ok) ctx?.log?.warn({ replica: r.pod, model, status: res.status, message: res.message }, 'model-files sidecar: removing the files failed');
    } catch (e) {
      ctx?.log?.info({ replica: r.pod, model, err: e }, 'model-files sidecar unreachable: files not removed');
    }
  }
}

/** Where an adapter goes: the base deployment's name, the lora_path to load it from, its files. */
interface Target {
  deployment: string;
  path: string;
  files?: ModelFileSet;
}

interface ReplicaJob {
  r: ReplicaRef & { pod: string };
  name: string;
  path: string;
  files?: ModelFileSet;
  before: ReplicaAdapter | undefined;
}

function block(reason: string, code: string, failed: boolean, message: string): { blocker: Blocker } {
  return { blocker: { reason, code, failed, message } };
}

function errText(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return (err.cause?.code ?? err.cause?.message ?? err.message ?? String(e)).slice(0, 512);
}
