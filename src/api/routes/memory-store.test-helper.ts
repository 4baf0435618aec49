// An in-memory ResourceStore for route unit tests (no cluster there). It keeps the parts of the API
// server's contract the routes rely on: resourceVersion preconditions (409), 404 on missing
// objects, creationTimestamp and generation. The integration tests run the same routes against
// the real API server (test/integration/api-node-pools.test.ts).
import type { CustomObject, ResourceStore } from '../kube/resource-store.js';

function apiError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class MemoryStore implements ResourceStore<CustomObject> {
  readonly #objects = new Map<string, CustomObject>();
  #rv = 0;

  constructor(private readonly now: () => Date = () => new Date('2026-11-26T10:00:00Z')) {}

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  #key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  list(namespace: string): CustomObject[] {
    return [...this.#objects.values()].filter((o) => o.metadata.namespace === namespace).map((o) => structuredClone(o));
  }

  async get(namespace: string, name: string): Promise<CustomObject | undefined> {
    const o = this.#objects.get(this.#key(namespace, name));
    return o && structuredClone(o);
  }

  async read(namespace: string, name: string): Promise<CustomObject | undefined> {
    return this.get(namespace, name);
  }

  /** Puts an object as a controller would have left it (status included). */
  seed(obj: CustomObject): void {
    const o = structuredClone(obj);
    o.metadata.resourceVersion = String(++this.#rv);
    o.metadata.creationTimestamp ??= this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.#objects.set(this.#key(o.metadata.namespace ?? '', o.metadata.name), o);
  }

  async create(obj: CustomObject): Promise<CustomObject> {
    const key = this.#key(obj.metadata.namespace ?? '', obj.metadata.name);
    if (this.#objects.has(key)) throw apiError(409, 'already exists');
    const o = structuredClone(obj);
    o.metadata.generation = 1;
    o.metadata.uid = `uid-${this.#rv + 1}`;
    this.seed(o);
    return (await this.get(o.metadata.namespace ?? '', o.metadata.name))!;
  }

  async replace(obj: CustomObject): Promise<CustomObject> {
    const key = this.#key(obj.metadata.namespace ?? '', obj.metadata.name);
    const cur = this.#objects.get(key);
    if (!cur) throw apiError(404, 'not found');
    if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw apiError(409, 'conflict');
    const o = structuredClone(obj);
    o.status = cur.status;
    o.metadata.generation = (cur.metadata.generation ?? 1) + (JSON.stringify(o.spec) === JSON.stringify(cur.spec) ? 0 : 1);
    o.metadata.resourceVersion = String(++this.#rv);
    this.#objects.set(key, o);
    return structuredClone(o);
  }

  async mergePatch(): Promise<CustomObject> {
    throw new Error('MemoryStore: mergePatch is not used by the node pool and environment routes');
  }

  async delete(namespace: string, name: string): Promise<boolean> {
    return this.#objects.delete(this.#key(namespace, name));
  }
}
