// An in-memory KindClient for route unit tests (no cluster there). It keeps the parts of the API
// server's contract the routes rely on: resourceVersion preconditions (409), 404 on missing
// objects, creationTimestamp and generation. The integration tests run the same routes against
// the real API server (test/integration/api-node-pools.test.ts, api-jobs.test.ts).
import type { CustomObject, KindClient } from '../kube/kind-client.js';
import { rfc3339 } from '../../util/rfc3339.js';

function apiError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces. */
function mergePatchInto(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) {
      out[k] = mergePatchInto(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = structuredClone(v);
  }
  return out;
}

export class MemoryKindClient implements KindClient<CustomObject> {
  /** The "API server's" objects by `namespace/name` (tests read and edit them directly). */
  readonly objects = new Map<string, CustomObject>();
  /** Names left out of list(): a cache that lags behind the API server. */
  readonly hidden = new Set<string>();
  #rv = 0;

  constructor(private readonly now: () => Date = () => new Date('2026-11-26T10:00:00Z')) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  #key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  list(namespace: string): CustomObject[] {
    return [...this.objects.values()].filter((o) => o.metadata.namespace === namespace && !this.hidden.has(o.metadata.name)).map((o) => structuredClone(o));
  }

  async get(namespace: string, name: string): Promise<CustomObject | undefined> {
    const o = this.objects.get(this.#key(namespace, name));
    return o && structuredClone(o);
  }

  async read(namespace: string, name: string): Promise<CustomObject | undefined> {
    return this.get(namespace, name);
  }

  /** Puts an object as a controller would have left it (status included). */
  seed(obj: CustomObject): void {
    const o = structuredClone(obj);
    o.metadata.resourceVersion = String(++this.#rv);
    o.metadata.creationTimestamp ??= rfc3339(this.now());
    this.objects.set(this.#key(o.metadata.namespace ?? '', o.metadata.name), o);
  }

  async create(obj: CustomObject): Promise<CustomObject> {
    const key = this.#key(obj.metadata.namespace ?? '', obj.metadata.name);
    if (this.objects.has(key)) throw apiError(409, 'already exists');
    const o = structuredClone(obj);
    o.metadata.generation = 1;
    o.metadata.uid = `uid-${this.#rv + 1}`;
    this.seed(o);
    return (await this.get(o.metadata.namespace ?? '', o.metadata.name))!;
  }

  async replace(obj: CustomObject): Promise<CustomObject> {
    const key = this.#key(obj.metadata.namespace ?? '', obj.metadata.name);
    const cur = this.objects.get(key);
    if (!cur) throw apiError(404, 'not found');
    if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw apiError(409, 'conflict');
    const o = structuredClone(obj);
    o.status = cur.status;
    o.metadata.generation = (cur.metadata.generation ?? 1) + (JSON.stringify(o.spec) === JSON.stringify(cur.spec) ? 0 : 1);
    o.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(key, o);
    return structuredClone(o);
  }

  async mergePatch(namespace: string, name: string, patch: Record<string, unknown>): Promise<CustomObject> {
    const key = this.#key(namespace, name);
    const cur = this.objects.get(key);
    if (!cur) throw apiError(404, 'not found');
    const o = mergePatchInto(cur as unknown as Record<string, unknown>, patch) as unknown as CustomObject;
    o.status = cur.status;
    o.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(key, o);
    return structuredClone(o);
  }

  /** Puts a minimal object (as kubectl or another replica might have made it), status as given. */
  put(obj: Partial<CustomObject> & { metadata: CustomObject['metadata'] }): void {
    this.seed({ apiVersion: 'hearth.dev/v1alpha1', kind: 'X', spec: {}, ...obj });
  }

  async delete(namespace: string, name: string): Promise<boolean> {
    return this.objects.delete(this.#key(namespace, name));
  }
}
