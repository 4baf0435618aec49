// One REST collection of a hearth.dev kind over its watch-fed kind client (src/api/kube/kind-client.ts):
// the mechanics every cluster-backed collection shares, written once —
//
//   load    the cache, or the API server when `fresh` (read-modify-write); a miss is NOT_FOUND
//   list    the account's namespace from the cache; filter, orderBy, paging (wire/pagination.ts),
//           readMask, and `showDeleted` for kinds with a soft delete
//   create  both body styles (`{fooId, foo}` or the bare resource with `?fooId=`), the spec checked
//           with the CRD's zod schema, an optional look-up of a caller's id before anything is
//           held, `validateOnly`, the namespace made on demand, and the id: the caller's, a random
//           one, or the next number of a sequence (the API server's 409 arbitrates; see
//           `#createNumbered`)
//   update  the field mask, applied to the current spec and replaced under its resourceVersion;
//           a 409 (someone wrote in between) reloads from the API server and tries again
//   delete, batchDelete (every name checked before anything is deleted)
//
// A kind gives a `CollectionKind` (its names, mapper and id rule) and, when it needs them,
// overrides the hooks below (quota, references, defaults, in-use checks) and adds its custom
// verbs as methods that use `load`, `modify` and `annotate`. Its route file
// (src/api/routes/<collection>.ts) is one `collectionRoutes` call (routes.ts): the documentation of
// the standard routes and the verbs. Adding a kind: src/api/README.md, "A new collection".
import type { ReferenceField } from '../wire/resource-names.js';
import { resolveReferences } from './references.js';
import { randomBytes } from 'node:crypto';
import { rfc3339 as iso } from '../../util/rfc3339.js';
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import { checkObjectUpdate, type KindInfo } from '../../crds/registry.js';
import type { ApiContext } from '../context.js';
import { fromKubeError, statusCodeOf } from '../kube/errors.js';
import { accountNamespace } from '../kube/namespaces.js';
import type { KindClient, StoredObject } from '../kube/kind-client.js';
import { resourceNameOf, resourceNotFound } from './names.js';
import { parseOrThrow } from '../validation.js';
import { alreadyExists, invalidArguments, notFound, unavailable } from '../wire/errors.js';
import { applyFieldMask, updatePaths, type UpdateMaskRules } from '../wire/field-mask.js';
import { listPage } from '../wire/pagination.js';
import { validateResourceId } from '../wire/resource-names.js';
import { listResponse, masked } from '../routes/common.js';

export type Wire = Record<string, unknown>;

/** What the service needs of a stored object: a name, annotations, a spec. */
export type KindObject = StoredObject & {
  metadata: StoredObject['metadata'] & { annotations?: Record<string, string>; deletionTimestamp?: unknown };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
};

/** The object a create is about to write, as the hooks see it. */
export interface Draft {
  accountId: string;
  namespace: string;
  /** The caller's or a random id; '' for numbered kinds (the number is picked after the hooks). */
  id: string;
  /** The spec from the wire (hooks may complete it: defaults, full names of references). */
  spec: Record<string, unknown>;
  /** `spec` as the CRD schema parsed it (defaults applied). */
  parsed: unknown;
  /** The caller's e-mail. */
  createdBy: string;
  /** The caller is an account admin (node pool bindings do not apply to admins). */
  admin: boolean;
  /** The create request's query (`validateOnly`, kind-specific flags). */
  query: Record<string, unknown>;
}

export interface CreateInput {
  /** The caller's id (`{fooId}` in the body or `?fooId=`); undefined: the kind assigns one. */
  id?: string;
  /** The resource in wire form. */
  resource: Wire;
  /** Where the resource sits in the body (`nodePool`), prefixing field paths in errors. */
  field?: string;
  createdBy: string;
  /** The caller is an account admin; default false. */
  admin?: boolean;
  query?: Record<string, unknown>;
}

/** A batchDelete target: the id and the name the caller wrote (errors repeat it). */
export interface BatchTarget {
  id: string;
  name: string;
}

export interface CollectionKind<T extends KindObject> {
  /** REST collection: the URL segment, the list's key, the page tokens' parent (`nodePools`). */
  collection: string;
  /** The resource type in errors (`nodePool`). */
  resourceType: string;
  /** The collection in UNAVAILABLE's "… need a Kubernetes cluster" (`node pools`). */
  plural: string;
  /** The id's field in create bodies/queries, paths and errors (`nodePoolId`). */
  idField: string;
  /**
   * Fields naming other resources (wire/resource-names.ts): accepted as bare ids or full names,
   * rewritten to the stored form before the spec is checked, on create and update.
   */
  references?: readonly ReferenceField[];
  /** The kind's client; undefined when the API server runs without a cluster. */
  client(ctx: ApiContext): KindClient<T> | undefined;
  /** Path ids must be resource ids (else 400 naming `idField`); otherwise a malformed id is 404. */
  strictPathIds: boolean;
  /** Path id → object name; undefined: no object can have that id (NOT_FOUND). Default: the id. */
  objectName?(id: string): string | undefined;
  /** The full wire name (Kubernetes errors, ALREADY_EXISTS). Default `accounts/{a}/<collection>/{id}`. */
  fullName?(accountId: string, id: string): string;
  /** The NOT_FOUND of a missing object. Default: resourceNotFound (the URL's form). */
  notFound?(accountId: string, id: string): unknown;

  // ---- the mapper (src/api/mappers/<kind>.ts) ----
  /** Object → wire; absent when the kind's service overrides `toWire` (it needs more than the object). */
  toWire?(obj: T, accountId: string): Wire;
  specFromWire(resource: Wire): Record<string, unknown>;
  newObject(draft: Draft): T;
  /** The CRD's spec schema: create and update validate with it. */
  spec: z.ZodType;
  /** The registry entry: its CEL transition rules (immutable fields) are checked on update. */
  registry?: KindInfo;
  /** PATCH's writable / output-only fields; absent: the kind has no update. */
  updateMask?: UpdateMaskRules;

  // ---- behaviour ----
  defaultOrderBy: string;
  /**
   * Ids when the caller names none: random (a letter + 11 of [a-z0-9]), or numbered: `next` after
   * the cached objects (`noun` names the kind when no number can be had).
   */
  assignIds: 'random' | { next(objects: readonly T[]): string; noun: string };
  /** Look a caller's id up before anything is held (the API server's 409 guards it anyway). */
  checkIdFreeFirst?: boolean;
  /** Soft delete: such objects are listed only with `showDeleted`. */
  isDeleted?(obj: T): boolean;
  /** DELETE of an object gone since it was loaded answers {} (else NOT_FOUND). */
  vanishedDeleteOk?: boolean;
  /** `:batchDelete` names → targets (format, account and cluster checked; repeats collapsed). */
  batchTargets?(names: readonly string[], accountId: string): BatchTarget[];
  /** `:batchDelete` deletes the targets concurrently (else one by one). */
  batchDeleteConcurrently?: boolean;
}

type KubeOp = 'create' | 'update' | 'get' | 'delete';

/** Attempts at a read-modify-write that meets 409 (someone else wrote in between). */
const MAX_CONFLICT_RETRIES = 3;
/** Attempts at a fresh number when concurrent creates take the one we tried. */
const MAX_ID_ATTEMPTS = 20;

/** Random ids look like Fireworks': a letter, then 11 of [a-z0-9]. */
export function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 12; i++) id += alphabet[bytes[i]! % 36];
  return id;
}


export class CollectionService<T extends KindObject> {
  /** Per namespace, the tail of the numbered creates in flight on this replica (`#serialized`). */
  readonly #creates = new Map<string, Promise<void>>();

  constructor(
    readonly ctx: ApiContext,
    readonly kind: CollectionKind<T>,
    readonly log?: FastifyBaseLogger,
  ) {}

  /** The kind's client, or UNAVAILABLE when this API server runs without a cluster. */
  get client(): KindClient<T> {
    const client = this.kind.client(this.ctx);
    if (!client) throw unavailable(`${this.kind.plural} need a Kubernetes cluster; this API server runs without one`);
    return client;
  }

  fullName(accountId: string, id: string): string {
    return this.kind.fullName?.(accountId, id) ?? resourceNameOf(accountId, this.kind.collection, id);
  }

  notFound(accountId: string, id: string): unknown {
    return this.kind.notFound?.(accountId, id) ?? resourceNotFound(accountId, this.kind.collection, id);
  }

  kubeError(e: unknown, accountId: string, id: string, op: KubeOp): unknown {
    return fromKubeError(e, { resourceType: this.kind.resourceType, name: this.fullName(accountId, id), op });
  }

  /** A path id, checked before anything else the route does (400 for kinds with strict ids). */
  pathId(id: string): string {
    return this.kind.strictPathIds ? validateResourceId(id, this.kind.idField) : id;
  }

  toWire(obj: T, accountId: string): Wire {
    if (!this.kind.toWire) throw new Error(`${this.kind.collection}: the service must override toWire`);
    return this.kind.toWire(obj, accountId);
  }

  /** The mapping for a whole list (a kind may prepare what every item needs once). */
  protected listMapper(accountId: string): (obj: T) => Wire {
    return (obj) => this.toWire(obj, accountId);
  }

  // ---- read ----------------------------------------------------------------------------------

  /** The object from the cache (`fresh`: from the API server, for read-modify-write). */
  async load(accountId: string, id: string, fresh = false): Promise<T> {
    const name = this.kind.objectName ? this.kind.objectName(id) : id;
    const client = this.client;
    if (name === undefined) throw this.notFound(accountId, id);
    let obj: T | undefined;
    try {
      obj = fresh ? await client.read(accountNamespace(accountId), name) : await client.get(accountNamespace(accountId), name);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'get');
    }
    if (!obj) throw this.notFound(accountId, id);
    return obj;
  }

  async get(accountId: string, id: string, readMask: string | undefined): Promise<Partial<Wire>> {
    return masked(this.toWire(await this.load(accountId, id), accountId), readMask);
  }

  list(accountId: string, q: { readMask?: string; showDeleted?: boolean; pageSize?: number; pageToken?: string; filter?: string; orderBy?: string }): Wire {
    const { collection, isDeleted, defaultOrderBy } = this.kind;
    const showDeleted = q.showDeleted ?? false;
    const toWire = this.listMapper(accountId);
    const all = this.client
      .list(accountNamespace(accountId))
      .filter((o) => showDeleted || !isDeleted?.(o))
      .map(toWire);
    // The page token is bound to every parameter that shapes the list.
    const parent = `accounts/${accountId}/${collection}`;
    const binding = isDeleted ? { parent, showDeleted } : { parent };
    const page = listPage(all, q, { binding, codec: this.ctx.pageTokens, defaultOrderBy });
    return listResponse(collection, page.items.map((o) => masked(o, q.readMask)), page);
  }

  // ---- create --------------------------------------------------------------------------------

  async create(accountId: string, input: CreateInput): Promise<Wire> {
    const { kind } = this;
    const chosen = input.id !== undefined;
    const id = chosen ? validateResourceId(input.id, kind.idField) : kind.assignIds === 'random' ? randomId() : '';
    const spec = kind.specFromWire(input.resource);
    await this.normalizeReferences(accountId, spec);
    const parsed = parseOrThrow(kind.spec, spec, input.field);
    const query = input.query ?? {};
    const draft: Draft = { accountId, namespace: accountNamespace(accountId), id, spec, parsed, createdBy: input.createdBy, admin: input.admin ?? false, query };
    await this.prepareCreate(draft);
    if (chosen && kind.checkIdFreeFirst) await this.assertIdFree(accountId, id);
    if (query.validateOnly === true) {
      await this.reserve(draft, true);
      const wouldBe = kind.newObject({ ...draft, spec: parsed as Record<string, unknown> });
      wouldBe.metadata.creationTimestamp = iso(this.ctx.now());
      return this.toWire(wouldBe, accountId);
    }
    await this.ctx.ensureNamespace?.(accountId);
    if (kind.assignIds !== 'random' && !chosen) return this.#serialized(draft.namespace, () => this.#createNumbered(draft));
    return this.insert(draft);
  }

  /** ALREADY_EXISTS when the id is taken (asking the API server: this replica's cache may lag). */
  async assertIdFree(accountId: string, id: string): Promise<void> {
    const existing = await this.client.get(accountNamespace(accountId), id).catch((e: unknown) => {
      throw this.kubeError(e, accountId, id, 'get');
    });
    if (existing) throw alreadyExists(this.kind.resourceType, this.fullName(accountId, id));
  }

  /** Reserves what the object holds (quota), writes it, and gives the reservation back if that fails. */
  protected async insert(draft: Draft): Promise<Wire> {
    await this.reserve(draft, false);
    let created: T;
    try {
      created = await this.client.create(this.kind.newObject(draft));
    } catch (e) {
      await this.unreserve(draft, e);
      throw this.kubeError(e, draft.accountId, draft.id, 'create');
    }
    await this.afterCreate(draft, created);
    return this.toWire(created, draft.accountId);
  }

  /**
   * Creates under the next free number: the kind's next after the cached objects, or past one a
   * 409 says is taken (another replica or request); the API server arbitrates, so two replicas
   * never hand out the same id.
   */
  async #createNumbered(draft: Draft): Promise<Wire> {
    const { assignIds } = this.kind;
    if (assignIds === 'random') throw new Error('unreachable: random ids are not numbered');
    const client = this.client;
    let candidate = 0n;
    for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
      const fromCache = BigInt(assignIds.next(client.list(draft.namespace)));
      candidate = fromCache > candidate ? fromCache : candidate;
      const id = String(candidate);
      try {
        return this.toWire(await client.create(this.kind.newObject({ ...draft, id })), draft.accountId);
      } catch (e) {
        if (statusCodeOf(e) !== 409) throw this.kubeError(e, draft.accountId, id, 'create');
        candidate += 1n;
      }
    }
    throw unavailable(`could not assign a ${assignIds.noun} id: too many concurrent creates; retry`);
  }

  /**
   * Runs the numbered creates of one account one after the other on this replica: concurrent
   * creates would all propose the same next number and retry each other out (k creates cost k²
   * API calls). Across replicas the API server's 409 still arbitrates.
   */
  async #serialized<R>(namespace: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.#creates.get(namespace) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#creates.set(namespace, tail);
    void tail.then(() => {
      if (this.#creates.get(namespace) === tail) this.#creates.delete(namespace);
    });
    return run;
  }

  // ---- update --------------------------------------------------------------------------------

  async update(accountId: string, id: string, body: Wire, updateMask: string | undefined): Promise<Wire> {
    const rules = this.kind.updateMask;
    if (!rules) throw new Error(`${this.kind.collection} have no update`);
    const mask = updatePaths(body, updateMask, rules);
    const patch = this.kind.specFromWire(body);
    await this.normalizeReferences(accountId, patch);
    const { before, after } = await this.modify(accountId, id, async (cur) => {
      this.checkWritable(accountId, id, cur);
      if (mask.length === 0) return undefined;
      const spec = applyFieldMask(cur.spec, patch, mask);
      await this.checkUpdate(accountId, id, cur, spec);
      return { ...cur, spec };
    });
    if (after !== before) await this.afterUpdate(accountId, before, after);
    return this.toWire(after, accountId);
  }

  /** The kind's reference fields in `spec` (create body or PATCH fields), rewritten to their stored form. */
  async normalizeReferences(accountId: string, spec: Record<string, unknown>): Promise<void> {
    if (this.kind.references) await resolveReferences(this.ctx, spec, this.kind.references, accountId);
  }

  /**
   * Read-modify-write: `change` gets the current object and returns its replacement (undefined: no
   * change). Replaced under the object's resourceVersion; on a 409 the object is read again from
   * the API server and `change` runs again.
   */
  async modify(accountId: string, id: string, change: (cur: T) => Promise<T | undefined> | T | undefined): Promise<{ before: T; after: T }> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.load(accountId, id, attempt > 0);
      const next = await change(cur);
      if (next === undefined) return { before: cur, after: cur };
      try {
        return { before: cur, after: await this.client.replace(next) };
      } catch (e) {
        if (statusCodeOf(e) === 409 && attempt < MAX_CONFLICT_RETRIES) continue;
        throw this.kubeError(e, accountId, id, 'update');
      }
    }
  }

  /** The spec check of an update: the CRD schema, then its transition rules (immutable fields). */
  protected checkSpecUpdate(cur: T, spec: Record<string, unknown>): unknown {
    const parsed = parseOrThrow(this.kind.spec, spec);
    if (this.kind.registry) {
      const issues = checkObjectUpdate(this.kind.registry, { ...cur, spec }, cur);
      if (issues.length > 0) throw invalidArguments(issues.map((i) => ({ field: i.path.filter((s) => s !== 'spec').join('.'), description: i.message, reason: 'IMMUTABLE' })));
    }
    return parsed;
  }

  /** JSON merge patch of annotations (null removes one). */
  async annotate(accountId: string, id: string, objectName: string, annotations: Record<string, string | null>): Promise<T> {
    try {
      return await this.client.mergePatch(accountNamespace(accountId), objectName, { metadata: { annotations } });
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'update');
    }
  }

  // ---- delete --------------------------------------------------------------------------------

  async delete(accountId: string, id: string, _query: Record<string, unknown> = {}): Promise<void> {
    const cur = await this.load(accountId, id);
    this.checkDeletable(accountId, id, this.fullName(accountId, id));
    const existed = await this.remove(accountId, id, cur.metadata.name);
    if (!existed && !this.kind.vanishedDeleteOk) throw this.notFound(accountId, id);
  }

  /** Deletes the object and what goes with it (`afterRemove`); false if it was already gone. */
  async remove(accountId: string, id: string, objectName: string): Promise<boolean> {
    let existed: boolean;
    try {
      existed = await this.client.delete(accountNamespace(accountId), objectName);
    } catch (e) {
      throw this.kubeError(e, accountId, id, 'delete');
    }
    await this.afterRemove(accountId, id);
    return existed;
  }

  /** Every name is checked (format, existence, `checkDeletable`) before anything is deleted. */
  async batchDelete(accountId: string, names: readonly string[]): Promise<void> {
    const parse = this.kind.batchTargets;
    if (!parse) throw new Error(`${this.kind.collection} have no batchDelete`);
    const targets = parse(names, accountId);
    const found: { id: string; objectName: string }[] = [];
    for (const t of targets) {
      const name = this.kind.objectName ? this.kind.objectName(t.id) : t.id;
      const obj = name === undefined ? undefined : await this.client.get(accountNamespace(accountId), name).catch((e: unknown) => {
        throw this.kubeError(e, accountId, t.id, 'get');
      });
      if (!obj) throw notFound(this.kind.resourceType, t.name);
      this.checkDeletable(accountId, t.id, t.name);
      found.push({ id: t.id, objectName: obj.metadata.name });
    }
    if (this.kind.batchDeleteConcurrently) await Promise.all(found.map((t) => this.remove(accountId, t.id, t.objectName)));
    else for (const t of found) await this.remove(accountId, t.id, t.objectName);
  }

  // ---- hooks (defaults: nothing to do) -------------------------------------------------------

  /** Before a create: references, defaults, completing `draft.spec`. */
  protected async prepareCreate(_draft: Draft): Promise<void> {}
  /** Holds what the new object needs (quota); `dryRun` only checks. */
  protected async reserve(_draft: Draft, _dryRun: boolean): Promise<void> {}
  /** The create failed with `error`: give back what `reserve` held. */
  protected async unreserve(_draft: Draft, _error: unknown): Promise<void> {}
  /** After the object was created (e.g. effects on its siblings). */
  protected async afterCreate(_draft: Draft, _created: T): Promise<void> {}
  /** Before an update is computed: may the object be changed at all? */
  protected checkWritable(_accountId: string, _id: string, _cur: T): void {}
  /** The updated spec's checks (throws); default: the CRD schema and its transition rules. */
  protected async checkUpdate(_accountId: string, _id: string, cur: T, spec: Record<string, unknown>): Promise<void> {
    this.checkSpecUpdate(cur, spec);
  }
  /** After an update changed the object. */
  protected async afterUpdate(_accountId: string, _before: T, _after: T): Promise<void> {}
  /** FAILED_PRECONDITION while the object is in use (`name`: as the caller wrote it). */
  protected checkDeletable(_accountId: string, _id: string, _name: string): void {}
  /** After the object was deleted (bindings, quota). */
  protected async afterRemove(_accountId: string, _id: string): Promise<void> {}
}
