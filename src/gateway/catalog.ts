// What the gateway knows about accounts, deployments and deployed models: a few indexes kept up to
// date from informer events (sources.ts), and the resolution of a model identifier to the
// deployment that serves it. Pure data structures: unit tests feed them plain objects.
//
// Visibility (docs: "models can only be queried by the account that owns them"; a public deployed
// model "anyone with a valid API key can query"): a caller sees its own account's deployments and
// deployed models, plus public deployed models of other accounts. Anything else resolves to
// undefined, the same as something that does not exist, so existence never leaks.
import { accountOfNamespace } from '../crds/account.js';
import { ANNOTATIONS } from '../crds/group.js';
import { deploymentName, modelName, parseModelId, type ModelId } from './model-id.js';

/** Per-deployment overrides of the cold-start hold, from annotations on the Deployment object. */
export const ANNOTATION_MAX_HELD = ANNOTATIONS.gatewayMaxHeldRequests;
export const ANNOTATION_HOLD_TIMEOUT = ANNOTATIONS.gatewayHoldTimeoutSeconds;

export interface DeploymentEntry {
  namespace: string;
  name: string;
  account: string;
  baseModel: string;
  createdAt: number;
  /** `spec.enableSessionAffinity`: requests with the same `user` go to the same replica. */
  sessionAffinity: boolean;
  maxHeld?: number;
  holdTimeoutMs?: number;
}

export interface DeployedModelEntry {
  namespace: string;
  name: string;
  account: string;
  /** The addon model, `accounts/<a>/models/<m>`: also the LoRA's name on the model server. */
  model: string;
  /** The base deployment's name in `namespace`. */
  deployment: string;
  isDefault: boolean;
  isPublic: boolean;
  /**
   * The replicas (`address:port`, as the EndpointSlice lists them) that have the adapter loaded,
   * from the status the DeployedModel controller writes. Adapter requests go only there.
   */
  loaded: ReadonlySet<string>;
}

/** Where a request goes: a deployment, and the `model` the model server knows it by. */
export interface Route {
  /** `namespace/name` of the hearth Deployment. */
  key: string;
  deployment: DeploymentEntry;
  upstreamModel: string;
  /**
   * Set when the request is for a LoRA adapter (a DeployedModel): `key` is the DeployedModel's
   * `namespace/name`. Only replicas that have it loaded may serve it (`Catalog.adapterLoadedOn`).
   */
  adapter?: { key: string };
}

/** The minimal object shape the catalog reads (Kubernetes objects, already from the cache). */
export interface ObjectLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: Date | string;
    deletionTimestamp?: Date | string;
  };
  spec?: unknown;
  status?: unknown;
}

const GONE_STATES = new Set(['DELETING', 'DELETED']);

export const deploymentKey = (namespace: string, name: string): string => `${namespace}/${name}`;

function positive(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export class Catalog {
  readonly #nsByAccount = new Map<string, string>();
  readonly #accountByNs = new Map<string, string>();
  /** Raw objects by key, kept so a namespace that appears later can still index them. */
  readonly #rawDeployments = new Map<string, ObjectLike>();
  readonly #rawDeployedModels = new Map<string, ObjectLike>();
  readonly #deployments = new Map<string, DeploymentEntry>();
  readonly #deployedModels = new Map<string, DeployedModelEntry>();
  /** Deployments by account and base model (a bare model name falls back to these). */
  readonly #byBase = new Map<string, Set<DeploymentEntry>>();
  /** Deployed models by their addon model name (requests name models, not deployed models). */
  readonly #byModelName = new Map<string, Set<DeployedModelEntry>>();
  readonly #removed = new Set<(key: string) => void>();
  readonly #adapterLoaded = new Set<(key: string) => void>();
  readonly #adapterRemoved = new Set<(key: string) => void>();

  /** Called with the key of a deployment that stopped being routable (deleted, soft-deleted). */
  onRemoved(fn: (key: string) => void): () => void {
    this.#removed.add(fn);
    return () => this.#removed.delete(fn);
  }

  /** Called with a DeployedModel's key when it is loaded on a replica it was not loaded on before. */
  onAdapterLoaded(fn: (key: string) => void): () => void {
    this.#adapterLoaded.add(fn);
    return () => this.#adapterLoaded.delete(fn);
  }

  /** Called with a DeployedModel's key when it stops being routable (deleted, being unloaded). */
  onAdapterRemoved(fn: (key: string) => void): () => void {
    this.#adapterRemoved.add(fn);
    return () => this.#adapterRemoved.delete(fn);
  }

  // ---- updates (from informers) ----------------------------------------------------------------

  upsertNamespace(ns: ObjectLike): void {
    const name = ns.metadata?.name;
    const label = accountOfNamespace(ns);
    if (name) this.#setAccount(name, label && !ns.metadata?.deletionTimestamp ? label : undefined);
  }

  deleteNamespace(ns: ObjectLike): void {
    const name = ns.metadata?.name;
    if (name) this.#setAccount(name, undefined);
  }

  /** Only a real change of a namespace's account re-indexes its objects (updates are frequent). */
  #setAccount(ns: string, account: string | undefined): void {
    const prev = this.#accountByNs.get(ns);
    if (prev === account) return;
    if (prev !== undefined) {
      this.#accountByNs.delete(ns);
      if (this.#nsByAccount.get(prev) === ns) this.#nsByAccount.delete(prev);
    }
    if (account !== undefined) {
      this.#accountByNs.set(ns, account);
      this.#nsByAccount.set(account, ns);
    }
    this.#reindexNamespace(ns);
  }

  upsertDeployment(obj: ObjectLike): void {
    const key = objKey(obj);
    if (!key) return;
    this.#rawDeployments.set(key, obj);
    this.#indexDeployment(key, obj);
  }

  deleteDeployment(obj: ObjectLike): void {
    const key = objKey(obj);
    if (!key) return;
    this.#rawDeployments.delete(key);
    if (this.#dropDeployment(key)) for (const fn of this.#removed) fn(key);
  }

  upsertDeployedModel(obj: ObjectLike): void {
    const key = objKey(obj);
    if (!key) return;
    this.#rawDeployedModels.set(key, obj);
    this.#indexDeployedModel(key, obj);
  }

  deleteDeployedModel(obj: ObjectLike): void {
    const key = objKey(obj);
    if (!key) return;
    this.#rawDeployedModels.delete(key);
    if (this.#dropDeployedModel(key)) for (const fn of this.#adapterRemoved) fn(key);
  }

  // ---- reads -----------------------------------------------------------------------------------

  deployment(key: string): DeploymentEntry | undefined {
    return this.#deployments.get(key);
  }

  /** True when DeployedModel `key` is loaded on the replica `endpointId` (`address:port`). */
  adapterLoadedOn(key: string, endpointId: string): boolean {
    return this.#deployedModels.get(key)?.loaded.has(endpointId) === true;
  }

  /** Keys of the DeployedModels on deployment `deploymentKey` (`namespace/name`). */
  deployedModelsOn(deploymentKey: string): string[] {
    const out: string[] = [];
    for (const [k, dm] of this.#deployedModels) if (deploymentKey === `${dm.namespace}/${dm.deployment}`) out.push(k);
    return out;
  }

  /** Deployments and deployed models `account` may call, as `model` ids for `/v1/models`. */
  visibleModelIds(account: string): string[] {
    const ids: string[] = [];
    for (const d of this.#deployments.values()) {
      if (d.account === account) ids.push(`${d.baseModel}#${deploymentName({ account: d.account, id: d.name })}`);
    }
    for (const m of this.#deployedModels.values()) {
      if (m.account === account || m.isPublic) ids.push(`accounts/${m.account}/deployedModels/${m.name}`);
    }
    return ids.sort();
  }

  /** The route for `model` as `callerAccount` sees it; undefined if unknown or not visible. */
  resolve(model: string, callerAccount: string): Route | undefined {
    const id = parseModelId(model);
    return id ? this.resolveId(id, callerAccount) : undefined;
  }

  resolveId(id: ModelId, caller: string): Route | undefined {
    switch (id.kind) {
      case 'modelOnDeployment':
        return this.#onDeployment(modelName(id.model), id.deployment.account, id.deployment.id, caller);
      case 'deployedModel': {
        const ns = this.#nsByAccount.get(id.deployedModel.account);
        const dm = ns === undefined ? undefined : this.#deployedModels.get(deploymentKey(ns, id.deployedModel.id));
        return dm && (dm.account === caller || dm.isPublic) ? this.#viaDeployedModel(dm) : undefined;
      }
      case 'model':
        return this.#byModel(modelName(id.model), caller);
    }
  }

  #onDeployment(model: string, account: string, deployment: string, caller: string): Route | undefined {
    const ns = this.#nsByAccount.get(account);
    if (ns === undefined) return undefined;
    const dep = this.#deployments.get(deploymentKey(ns, deployment));
    if (!dep) return undefined;
    if (dep.baseModel === model && caller === account) return { key: deploymentKey(ns, dep.name), deployment: dep, upstreamModel: model };
    for (const dm of this.#byModelName.get(model) ?? []) {
      if (dm.namespace === ns && dm.deployment === deployment && dm.model === model && (dm.account === caller || dm.isPublic)) {
        return this.#viaDeployedModel(dm);
      }
    }
    return undefined;
  }

  /**
   * A bare model name, resolved in this order (issue 15 item 1: the caller's own objects first):
   * 1. the caller's own default deployed model of it;
   * 2. the caller's own deployment of that base model (the oldest, if several);
   * 3. a public default deployed model of ANOTHER account only when that account owns the model
   *    (`accounts/<that account>/models/…`), in name order so the choice is stable.
   * So another account's deployed model can never capture a caller's traffic for a shared model
   * (e.g. `accounts/fireworks/models/…`), whether or not the caller has a deployment of it.
   */
  #byModel(model: string, caller: string): Route | undefined {
    let pub: DeployedModelEntry | undefined;
    const owner = model.split('/')[1];
    for (const dm of this.#byModelName.get(model) ?? []) {
      if (!dm.isDefault) continue;
      if (dm.account === caller) return this.#viaDeployedModel(dm);
      if (dm.isPublic && dm.account === owner && (!pub || deploymentKey(dm.namespace, dm.name) < deploymentKey(pub.namespace, pub.name))) pub = dm;
    }
    let best: DeploymentEntry | undefined;
    for (const d of this.#byBase.get(baseKey(caller, model)) ?? []) {
      if (!best || d.createdAt < best.createdAt || (d.createdAt === best.createdAt && d.name < best.name)) best = d;
    }
    if (best) return { key: deploymentKey(best.namespace, best.name), deployment: best, upstreamModel: model };
    return pub ? this.#viaDeployedModel(pub) : undefined;
  }

  #viaDeployedModel(dm: DeployedModelEntry): Route | undefined {
    const key = deploymentKey(dm.namespace, dm.deployment);
    const dep = this.#deployments.get(key);
    return dep ? { key, deployment: dep, upstreamModel: dm.model, adapter: { key: deploymentKey(dm.namespace, dm.name) } } : undefined;
  }

  #reindexNamespace(ns: string): void {
    for (const [k, o] of this.#rawDeployments) if (o.metadata?.namespace === ns) this.#indexDeployment(k, o);
    for (const [k, o] of this.#rawDeployedModels) if (o.metadata?.namespace === ns) this.#indexDeployedModel(k, o);
  }

  #indexDeployment(key: string, obj: ObjectLike): void {
    const namespace = obj.metadata?.namespace ?? '';
    const account = this.#accountByNs.get(namespace);
    const spec = (obj.spec ?? {}) as { baseModel?: unknown; enableSessionAffinity?: unknown };
    const state = (obj.status as { state?: unknown } | undefined)?.state;
    const had = this.#dropDeployment(key);
    if (account === undefined || typeof spec.baseModel !== 'string' || obj.metadata?.deletionTimestamp || GONE_STATES.has(String(state))) {
      if (had) for (const fn of this.#removed) fn(key);
      return;
    }
    const ann = obj.metadata?.annotations ?? {};
    const timeout = positive(ann[ANNOTATION_HOLD_TIMEOUT]);
    const maxHeld = positive(ann[ANNOTATION_MAX_HELD]);
    const entry: DeploymentEntry = {
      namespace,
      name: obj.metadata?.name ?? '',
      account,
      baseModel: spec.baseModel,
      createdAt: new Date(obj.metadata?.creationTimestamp ?? 0).getTime() || 0,
      sessionAffinity: spec.enableSessionAffinity === true,
      ...(maxHeld !== undefined ? { maxHeld: Math.floor(maxHeld) } : {}),
      ...(timeout !== undefined ? { holdTimeoutMs: timeout * 1000 } : {}),
    };
    this.#deployments.set(key, entry);
    const bk = baseKey(account, entry.baseModel);
    const set = this.#byBase.get(bk) ?? new Set<DeploymentEntry>();
    set.add(entry);
    this.#byBase.set(bk, set);
  }

  #dropDeployment(key: string): boolean {
    const old = this.#deployments.get(key);
    if (!old) return false;
    this.#deployments.delete(key);
    const bk = baseKey(old.account, old.baseModel);
    const set = this.#byBase.get(bk);
    set?.delete(old);
    if (set?.size === 0) this.#byBase.delete(bk);
    return true;
  }

  #indexDeployedModel(key: string, obj: ObjectLike): void {
    const namespace = obj.metadata?.namespace ?? '';
    const account = this.#accountByNs.get(namespace);
    const spec = (obj.spec ?? {}) as { model?: unknown; deployment?: unknown; default?: unknown; public?: unknown };
    const deployment = typeof spec.deployment === 'string' ? this.#localDeployment(spec.deployment, account) : undefined;
    const before = this.#deployedModels.get(key);
    const had = this.#dropDeployedModel(key);
    if (account === undefined || typeof spec.model !== 'string' || deployment === undefined || obj.metadata?.deletionTimestamp) {
      if (had) for (const fn of this.#adapterRemoved) fn(key);
      return;
    }
    const loaded = loadedReplicas(obj.status);
    const entry: DeployedModelEntry = {
      namespace,
      name: obj.metadata?.name ?? '',
      account,
      model: spec.model,
      deployment,
      isDefault: spec.default === true,
      isPublic: spec.public === true,
      loaded,
    };
    this.#deployedModels.set(key, entry);
    const set = this.#byModelName.get(entry.model) ?? new Set<DeployedModelEntry>();
    set.add(entry);
    this.#byModelName.set(entry.model, set);
    if ([...loaded].some((a) => !before?.loaded.has(a))) for (const fn of this.#adapterLoaded) fn(key);
  }

  #dropDeployedModel(key: string): boolean {
    const old = this.#deployedModels.get(key);
    if (!old) return false;
    this.#deployedModels.delete(key);
    const set = this.#byModelName.get(old.model);
    set?.delete(old);
    if (set?.size === 0) this.#byModelName.delete(old.model);
    return true;
  }

  /** A DeployedModel's `deployment`: a name in its namespace, or `accounts/<own account>/deployments/<d>`. */
  #localDeployment(ref: string, account: string | undefined): string | undefined {
    if (!ref.startsWith('accounts/')) return ref;
    const parts = ref.split('/');
    return parts.length === 4 && parts[1] === account && parts[2] === 'deployments' ? parts[3] : undefined;
  }
}

/** The `address:port` of every replica a DeployedModel's status lists as LOADED. */
function loadedReplicas(status: unknown): ReadonlySet<string> {
  const replicas = (status as { replicas?: unknown } | undefined)?.replicas;
  const out = new Set<string>();
  if (!Array.isArray(replicas)) return out;
  for (const r of replicas as Array<{ address?: unknown; state?: unknown }>) if (r.state === 'LOADED' && typeof r.address === 'string') out.add(r.address);
  return out;
}

const baseKey = (account: string, baseModel: string): string => `${account}\u0000${baseModel}`;

function objKey(o: ObjectLike): string | undefined {
  const { name, namespace } = o.metadata ?? {};
  return name && namespace ? deploymentKey(namespace, name) : undefined;
}
