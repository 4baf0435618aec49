// Wire conformance with the published Fireworks spec (issue #6): for every operation Hearth serves
// whose path + method is in spec/fireworks-gateway-openapi.yml, Hearth's generated /openapi.json
// must agree with it on
//   - path parameters (Hearth's camelCase `{accountId}` ≙ the spec's `{account_id}`),
//   - query parameters: each one Hearth accepts exists in the spec with a compatible type,
//   - the request body: each property Hearth accepts exists in the spec's schema with a compatible
//     type, enum values ⊆ the spec's; a field Hearth requires must be required by the spec too;
//     a writable (not readOnly) spec field must not be rejected as unknown by Hearth,
//   - the 200 response: each property Hearth returns exists in the spec's schema with a compatible
//     type, enum values ⊆ the spec's (list responses: the collection key, nextPageToken, totalSize).
// Types: int64/uint64 are strings in proto3 JSON (Hearth must return a string and accept one);
// other scalars must match; a spec `object` without properties (Struct, Any) takes anything.
// `$ref`, `allOf`, `anyOf`/`oneOf` are resolved on both sides. Reservations, which the spec has as
// a message only (no paths), are compared on their 200 responses (SCHEMA_ONLY).
// Since responses are serialized as the mappers build them (not through the documented schema),
// real bodies are checked too: every collection's create/get/list answers, from PostgreSQL or
// from custom objects seeded with a full status, against the spec's response schema.
// Deliberate deviations are in ALLOWED below, each with its reason; an entry that no longer
// matches a finding fails the test too, so the list stays as short as the truth.
// No cluster: the app is built on PGlite as in app.test.ts, CR-backed kind clients are in memory.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { openDatabase, type Database } from '../db/client.js';
import { createReservation } from '../db/repositories/reservations.js';
import { buildApp } from './app.js';
import { bootstrap } from '../auth/bootstrap.js';
import type { z } from 'zod';
import { DeploymentSpec, DeploymentStatus } from '../crds/deployment.js';
import { DeployedModelSpec, DeployedModelStatus } from '../crds/deployed-model.js';
import { SFTJobSpec, SFTJobStatus } from '../crds/sft-job.js';
import { deploymentShape } from '../fleet/deployment-shapes.js';
import type { CustomObject, DeploymentClient } from './kube/kind-client.js';
import { MemoryKindClient } from './routes/memory-kind-client.test-helper.js';

type Schema = Record<string, unknown>;
type Doc = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };
interface Parameter { name: string; in: string; required?: boolean; schema?: Schema }
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

interface Finding { op: string; where: 'path' | 'query' | 'request' | 'response'; field: string; problem: string }
interface Allowed { op: string; where: Finding['where'] | '*'; field: string; problem?: string; why: string }

const SPEC_PATH = fileURLToPath(new URL('../../spec/fireworks-gateway-openapi.yml', import.meta.url));
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

// Deliberate deviations. `op` is `METHOD <Hearth path>`; `field` is the dotted property path
// (`[]` for array items, `{}` for map values) or the query parameter's name; `problem`, when given,
// narrows the entry to that kind of finding. `*` matches any run of characters.
const ALLOWED: Allowed[] = [
  {
    op: 'PATCH *',
    where: 'query',
    field: 'updateMask',
    why: 'Hearth addition documented in api-notes.md §1.4 and §6: the mask comes from the body keys; an optional AIP-134 updateMask query is accepted too (the spec publishes none).',
  },
  {
    op: 'PATCH *',
    where: 'request',
    field: 'name',
    why: "Output-only, accepted and ignored on input (AIP-203). The spec's PATCH body leaves `name` out only because grpc-gateway binds it from the path; a client that sends back a fetched resource must not get a 400.",
  },
  {
    op: '*',
    where: '*',
    field: '*region*',
    problem: 'enum values not in the spec: *',
    why: 'api-notes.md §4 (PROPOSED, adopted in src/crds/common.ts Region, used by deployments and reservations): the retired v4.21.6 regions (EU_LONDON_1 … EU_ICELAND_3) are accepted besides the v4.259 list, and echoed as given.',
  },
  {
    op: '* /v1/accounts/{accountId}/deployments*',
    where: '*',
    field: '*enableMtp',
    why: 'api-notes.md §5.1: in the SDK and in API v4.21.6, not in the v4.259 listing; kept for clients that still send it.',
  },
  {
    op: '* /v1/accounts/{accountId}/deployments*',
    where: '*',
    field: '*unusedAutoDeleteDuration',
    why: "Hearth extension (firectl's --unused-auto-delete-duration, api-notes.md §5.1): the idle time before a scale-to-zero deployment is deleted; not a published Deployment field.",
  },
  {
    op: '* /v1/accounts/{accountId}/deployments*',
    where: '*',
    field: '*acceleratorType',
    problem: 'enum values not in the spec: CPU',
    why: "Hearth extension (issue 18 item 4, src/controllers/deployment/README.md): acceleratorType CPU serves a deployment without an accelerator on the operator's CPU runtime (HEARTH_MODEL_SERVER_CONFIG_FILE servers.cpu); the published enum lists GPUs only.",
  },
  {
    op: '* /v1/accounts/{accountId}/supervisedFineTuningJobs*',
    where: '*',
    field: '*trainingProgress',
    problem: 'not in the spec',
    why: "Hearth extension (output only, ignored on input like every output-only field): the trainer's step, losses and loss curve; the published jobProgress has percent and epoch only (src/controllers/sft-job/README.md).",
  },
  {
    op: 'POST /v1/accounts/{accountId}/deployedModels',
    where: 'request',
    field: '*',
    problem: 'required by Hearth, optional in the spec',
    why: 'api-notes.md §5.2: `model` and `deployment` are "REQ in practice" (a DeployedModel without them means nothing); the spec marks no field of gatewayDeployedModel required.',
  },
  {
    // Only the DeployedModel state: FAILED anywhere else (a Model, a Dataset) would be a defect.
    op: '* /v1/accounts/{accountId}/deployedModels*',
    where: 'response',
    field: '*state',
    problem: 'enum values not in the spec: FAILED',
    why: 'Issue 12: a DeployedModel that cannot be loaded (quota spent, addons off, another base model, over --max-loras, or a replica refused it after bounded retries) is FAILED, with the reason in `status`; the published DeployedModelState has no terminal failure value, and DEPLOYING forever would make the docs\' load-lora flow wait forever.',
  },
  {
    // …and a Model's references to its DeployedModels carry the same state.
    op: '* /v1/accounts/{accountId}/models*',
    where: 'response',
    field: '*deployedModelRefs[].state',
    problem: 'enum values not in the spec: FAILED',
    why: 'Issue 12: a DeployedModel that cannot be loaded (quota spent, addons off, another base model, over --max-loras, or a replica refused it after bounded retries) is FAILED, with the reason in `status`; the published DeployedModelState has no terminal failure value, and DEPLOYING forever would make the docs\' load-lora flow wait forever.',
  },
];

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/**
 * Operations the spec does not publish but whose resource message it has (api-notes.md §2:
 * Reservation is "schema only"): Hearth's 200 responses are compared with that message. The list
 * response is the AIP-132 shape every published List uses.
 */
const SCHEMA_ONLY: Record<string, Operation> = (() => {
  const ok = (schema: Schema): Operation => ({ responses: { '200': { content: { 'application/json': { schema } } } } });
  const list = (collection: string, item: string) =>
    ok({ type: 'object', properties: { [collection]: { type: 'array', items: { $ref: `#/components/schemas/${item}` } }, nextPageToken: { type: 'string' }, totalSize: { type: 'integer', format: 'int32' } } });
  return {
    'GET /v1/accounts/{accountId}/reservations': list('reservations', 'gatewayReservation'),
    'GET /v1/accounts/{accountId}/reservations/{reservationId}': ok({ $ref: '#/components/schemas/gatewayReservation' }),
  };
})();

/** `{accountId}` and `{account_id}` both become `{}`; the `:verb` suffix stays. */
const pathKey = (path: string) => path.replace(/\{[^}]+\}/g, '{}');
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A schema with `$ref`s followed and `allOf`/`anyOf`/`oneOf` merged into one view. */
interface View {
  types: Set<string>;
  format?: string;
  enum?: Set<string>;
  properties: Map<string, Schema>;
  required: Set<string>;
  items: Schema[];
  additional: Schema[];
  /** An object schema that says nothing about its fields (Struct, Any, free-form). */
  openObject: boolean;
  /** `additionalProperties: false`: other fields are rejected. */
  closed: boolean;
  readOnly: boolean;
}

function view(doc: Doc, schema: Schema | undefined, seen = new Set<string>()): View {
  const v: View = { types: new Set(), properties: new Map(), required: new Set(), items: [], additional: [], openObject: false, closed: false, readOnly: false };
  if (!schema) return v;
  const merge = (s: Schema) => {
    const o = view(doc, s, seen);
    o.types.forEach((t) => v.types.add(t));
    v.format ??= o.format;
    if (o.enum) v.enum = new Set([...(v.enum ?? []), ...o.enum]);
    o.properties.forEach((p, k) => v.properties.set(k, p));
    v.items.push(...o.items);
    v.additional.push(...o.additional);
    v.openObject ||= o.openObject;
    v.closed ||= o.closed;
    v.readOnly ||= o.readOnly;
    return o;
  };
  if (typeof schema.$ref === 'string') {
    const ref = schema.$ref;
    if (!seen.has(ref)) {
      const name = ref.replace('#/components/schemas/', '');
      const target = doc.components?.schemas?.[name];
      if (!target) throw new Error(`unresolved $ref ${ref}`);
      const o = merge(target);
      o.required.forEach((r) => v.required.add(r));
    }
  }
  for (const s of (schema.allOf as Schema[] | undefined) ?? []) merge(s).required.forEach((r) => v.required.add(r));
  for (const s of [...((schema.anyOf as Schema[] | undefined) ?? []), ...((schema.oneOf as Schema[] | undefined) ?? [])]) merge(s);
  const type = schema.type;
  for (const t of Array.isArray(type) ? type : type ? [type] : []) v.types.add(String(t));
  if (typeof schema.format === 'string') v.format = schema.format;
  if (Array.isArray(schema.enum)) v.enum = new Set([...(v.enum ?? []), ...schema.enum.filter((e) => e !== null).map(String)]);
  if (schema.const !== undefined && schema.const !== null) v.enum = new Set([...(v.enum ?? []), String(schema.const)]);
  for (const [k, p] of Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {})) v.properties.set(k, p);
  for (const r of (schema.required as string[] | undefined) ?? []) v.required.add(r);
  if (schema.items && typeof schema.items === 'object') v.items.push(schema.items as Schema);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') v.additional.push(schema.additionalProperties as Schema);
  if (schema.additionalProperties === false) v.closed = true;
  if (schema.readOnly === true) v.readOnly = true;
  if (v.types.has('object') && v.properties.size === 0 && v.additional.length === 0 && !v.closed) v.openObject = true;
  return v;
}

const INT64 = new Set(['int64', 'uint64', 'fixed64', 'sfixed64', 'sint64']);

/** Why a Hearth schema's JSON types do not fit the spec's, or undefined when they do. */
function typeProblem(hearth: View, spec: View, direction: 'request' | 'response' | 'query'): string | undefined {
  const h = new Set([...hearth.types].filter((t) => t !== 'null'));
  if (h.size === 0 || spec.types.size === 0) return undefined; // unconstrained on either side
  const s = spec.types;
  const int64 = spec.format !== undefined && INT64.has(spec.format);
  const shown = `Hearth ${[...h].join('|')} vs spec ${[...s].join('|')}${spec.format ? ` (${spec.format})` : ''}`;
  if (direction === 'query') {
    // Every query value is a string on the wire; Hearth parses booleans and numbers from it.
    const scalar = (t: string) => ['string', 'integer', 'number', 'boolean'].includes(t);
    return [...h].every(scalar) && [...s].every(scalar) ? undefined : shown;
  }
  if (int64) {
    // proto3 JSON: int64 is written as a string and read from a string or a number.
    if (direction === 'response') return h.size === 1 && h.has('string') ? undefined : `${shown}: an int64 is returned as a string`;
    return h.has('string') ? undefined : `${shown}: an int64 must be accepted as a string`;
  }
  if (s.has('number')) return [...h].every((t) => t === 'number' || (t === 'integer' && direction === 'response')) ? undefined : shown;
  return [...h].every((t) => s.has(t)) ? undefined : shown;
}

function compareSchemas(hearthDoc: Doc, specDoc: Doc, hearthSchema: Schema | undefined, specSchema: Schema | undefined, ctx: { op: string; where: 'request' | 'response' }, field: string, out: Finding[]): void {
  const hearth = view(hearthDoc, hearthSchema);
  const spec = view(specDoc, specSchema);
  const report = (f: string, problem: string): void => void out.push({ op: ctx.op, where: ctx.where, field: f || '(body)', problem });
  const tp = typeProblem(hearth, spec, ctx.where);
  if (tp) return report(field, tp);
  if (hearth.enum && spec.enum) {
    const extra = [...hearth.enum].filter((e) => !spec.enum!.has(e));
    if (extra.length) report(field, `enum values not in the spec: ${extra.join(', ')}`);
  } else if (spec.enum && !hearth.enum && ctx.where === 'response' && hearth.types.has('string')) {
    report(field, `the spec has an enum (${[...spec.enum].slice(0, 6).join(', ')}…), Hearth an unconstrained string`);
  }
  if (spec.openObject) return;
  if (hearth.types.has('object') || hearth.properties.size > 0) {
    for (const [name, prop] of hearth.properties) {
      const path = field ? `${field}.${name}` : name;
      let specProp: Schema | undefined = spec.properties.get(name);
      if (!specProp && spec.properties.size === 0 && spec.additional.length) specProp = spec.additional[0];
      if (!specProp) {
        report(path, 'not in the spec');
        continue;
      }
      compareSchemas(hearthDoc, specDoc, prop, specProp, ctx, path, out);
    }
    if (ctx.where === 'request') {
      // The other way round: a writable spec field that Hearth's closed schema would answer with 400.
      if (hearth.closed) {
        for (const [name, prop] of spec.properties) {
          if (!hearth.properties.has(name) && !view(specDoc, prop).readOnly) report(field ? `${field}.${name}` : name, 'a writable spec field Hearth rejects as unknown');
        }
      }
      for (const r of hearth.required) if (!spec.required.has(r) && !(spec.properties.size === 0 && spec.additional.length)) report(field ? `${field}.${r}` : r, 'required by Hearth, optional in the spec');
    }
    if (hearth.additional.length) {
      if (spec.additional.length) compareSchemas(hearthDoc, specDoc, hearth.additional[0], spec.additional[0], ctx, `${field}.{}`, out);
      else if (spec.properties.size) report(field, 'a map in Hearth, a message with fixed fields in the spec');
    }
  }
  if (hearth.items.length && spec.items.length) compareSchemas(hearthDoc, specDoc, hearth.items[0], spec.items[0], ctx, `${field}[]`, out);
}

function compareOperation(hearthDoc: Doc, specDoc: Doc, op: string, hearth: Operation, spec: Operation, out: Finding[], responseOnly = false): void {
  const hearthOk = hearth.responses?.['200']?.content?.['application/json']?.schema;
  const specOk = spec.responses?.['200']?.content?.['application/json']?.schema;
  if (hearthOk && !specOk) out.push({ op, where: 'response', field: '(body)', problem: 'the spec has no JSON 200 response' });
  else if (hearthOk) compareSchemas(hearthDoc, specDoc, hearthOk, specOk, { op, where: 'response' }, '', out);
  if (responseOnly) return;
  const hp = (hearth.parameters ?? []).filter((p) => p.in === 'path').map((p) => snake(p.name));
  const sp = (spec.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
  for (const name of hp) if (!sp.includes(name)) out.push({ op, where: 'path', field: name, problem: `path parameter not in the spec (${sp.join(', ')})` });
  const specQuery = new Map((spec.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p]));
  for (const p of (hearth.parameters ?? []).filter((q) => q.in === 'query')) {
    const s = specQuery.get(p.name);
    if (!s) {
      out.push({ op, where: 'query', field: p.name, problem: 'query parameter not in the spec' });
      continue;
    }
    const problem = typeProblem(view(hearthDoc, p.schema), view(specDoc, s.schema), 'query');
    if (problem) out.push({ op, where: 'query', field: p.name, problem });
    const he = view(hearthDoc, p.schema).enum;
    const se = view(specDoc, s.schema).enum;
    if (he && se) {
      const extra = [...he].filter((e) => !se.has(e));
      if (extra.length) out.push({ op, where: 'query', field: p.name, problem: `enum values not in the spec: ${extra.join(', ')}` });
    }
    if (p.required && !s.required) out.push({ op, where: 'query', field: p.name, problem: 'required by Hearth, optional in the spec' });
  }
  const hearthBody = hearth.requestBody?.content?.['application/json']?.schema;
  const specBody = spec.requestBody?.content?.['application/json']?.schema;
  if (hearthBody && !specBody) out.push({ op, where: 'request', field: '(body)', problem: 'Hearth takes a JSON body, the spec none' });
  else if (hearthBody) compareSchemas(hearthDoc, specDoc, hearthBody, specBody, { op, where: 'request' }, '', out);
}

/** Checks a JSON value Hearth actually sent against the spec's schema (names, JSON types, int64 as strings, enums). */
function checkValue(specDoc: Doc, specSchema: Schema | undefined, value: unknown, ctx: { op: string }, field: string, out: Finding[]): void {
  if (value === null || value === undefined) return;
  const spec = view(specDoc, specSchema);
  const report = (f: string, problem: string): void => void out.push({ op: ctx.op, where: 'response', field: f || '(body)', problem });
  const shown = JSON.stringify(value).slice(0, 60);
  if (spec.format !== undefined && INT64.has(spec.format)) {
    if (typeof value !== 'string' || !/^-?\d+$/.test(value)) report(field, `sent ${shown}: an int64 is a decimal string`);
    return;
  }
  const jsonType = Array.isArray(value) ? 'array' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
  const fits = spec.types.size === 0 || spec.types.has(jsonType) || (jsonType === 'integer' && spec.types.has('number'));
  if (!fits) return report(field, `sent ${shown} (${jsonType}), the spec says ${[...spec.types].join('|')}`);
  if (spec.enum && !spec.enum.has(String(value))) report(field, `sent ${shown}, not one of the spec's values`);
  if (spec.openObject) return;
  if (Array.isArray(value)) {
    value.forEach((v) => checkValue(specDoc, spec.items[0], v, ctx, `${field}[]`, out));
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const path = field ? `${field}.${k}` : k;
      const specProp = spec.properties.get(k) ?? (spec.properties.size === 0 ? spec.additional[0] : undefined);
      if (!specProp) report(path, 'sent, not in the spec');
      else checkValue(specDoc, specProp, v, ctx, path, out);
    }
  }
}

/** The findings in `findings` that no ALLOWED entry covers; the entries used are added to `used`. */
function notAllowed(findings: Finding[], used: Set<Allowed>): Finding[] {
  return findings.filter((f) => {
    const a = ALLOWED.find((x) => glob(x.op).test(f.op) && glob(x.where).test(f.where) && glob(x.field).test(f.field) && (!x.problem || glob(x.problem).test(f.problem)));
    if (a) used.add(a);
    return !a;
  });
}

const show = (f: Finding) => `${f.op} — ${f.where} ${f.field}: ${f.problem}`;

let database: Database;
let app: FastifyInstance;
let hearthDoc: Doc;
let specDoc: Doc;

let key: string;
const kinds = { deployments: new MemoryKindClient(), deployedModels: new MemoryKindClient(), supervisedFineTuningJobs: new MemoryKindClient() };

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  key = (await bootstrap(database.db, { accountId: 'acme', email: 'ann@acme.example' })).apiKey!.key;
  app = await buildApp({
    db: database.db,
    rateLimit: false,
    deployments: kinds.deployments as unknown as DeploymentClient,
    kinds: { deployedModels: kinds.deployedModels, supervisedFineTuningJobs: kinds.supervisedFineTuningJobs },
  });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  hearthDoc = JSON.parse(res.body) as Doc;
  specDoc = parseYaml(readFileSync(SPEC_PATH, 'utf8'), { maxAliasCount: -1 }) as Doc;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('wire conformance with spec/fireworks-gateway-openapi.yml', () => {
  it('agrees with the published spec on every operation both serve, except the allowlisted deviations', () => {
    const specByKey = new Map<string, { path: string; ops: Record<string, Operation> }>();
    for (const [path, ops] of Object.entries(specDoc.paths)) specByKey.set(pathKey(path), { path, ops });
    const findings: Finding[] = [];
    const compared: string[] = [];
    const hearthOnly: string[] = [];
    for (const [path, ops] of Object.entries(hearthDoc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const method of METHODS) {
        const hearth = ops[method];
        if (!hearth) continue;
        const op = `${method.toUpperCase()} ${path}`;
        const published = specByKey.get(pathKey(path))?.ops[method];
        const spec = published ?? SCHEMA_ONLY[op];
        if (!spec) {
          hearthOnly.push(op);
          continue;
        }
        compared.push(op);
        compareOperation(hearthDoc, specDoc, op, hearth, spec, findings, !published);
      }
    }
    const used = new Set<Allowed>();
    const unexpected = notAllowed(findings, used);
    const stale = ALLOWED.filter((a) => !used.has(a)).map((a) => `${a.op} ${a.where} ${a.field} (${a.why})`);

    console.info(
      [
        `conformance: ${compared.length} operations compared with the published spec (${Object.keys(SCHEMA_ONLY).length} of them with its schema-only resource messages), ${findings.length - unexpected.length} allowlisted deviations, ${unexpected.length} findings`,
        `operations Hearth serves that the published spec does not have (${hearthOnly.length}; api-notes.md or Hearth additions):`,
        ...hearthOnly.map((o) => `  ${o}`),
      ].join('\n'),
    );
    if (unexpected.length) console.error(['findings:', ...unexpected.map((f) => `  ${show(f)}`)].join('\n'));

    expect(compared.length).toBeGreaterThan(30);
    // Model files (issue 12): compared like every other operation.
    for (const verb of ['POST {}:getUploadEndpoint', 'GET {}:validateUpload', 'GET {}:getDownloadEndpoint']) {
      expect(compared).toContain(verb.replace('{}', '/v1/accounts/{accountId}/models/{modelId}'));
    }
    expect(unexpected.map(show)).toEqual([]);
    expect(stale, 'allowlist entries that match no finding any more').toEqual([]);
  });
});

describe('responses Hearth actually sends', () => {
  // The document above is generated from zod schemas, but responses are serialized as the mappers
  // build them: check real bodies too — PostgreSQL-backed collections through their routes,
  // custom-resource-backed ones from objects seeded with everything a controller reports.
  // Seeded as the API server keeps them: through the CRD schemas (unknown fields pruned, defaults set).
  const cr = (kind: string, spec: z.ZodType, status: z.ZodType, metadata: CustomObject['metadata'], s: unknown, st: unknown): CustomObject =>
    ({ apiVersion: 'hearth.dev/v1alpha1', kind, metadata, spec: spec.parse(s), status: status.parse(st) }) as CustomObject;
  const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: 'acct-acme', uid: `uid-${name}`, resourceVersion: '1', generation: 1, creationTimestamp: '2026-11-26T09:00:00Z', ...extra });
  const status = { code: 'OK', message: 'fine' };

  it('match the published spec in names, JSON types, int64 strings and enum values', async () => {
    const created = '2026-11-26T09:30:00Z';
    kinds.deployments.seed(cr('Deployment', DeploymentSpec, DeploymentStatus, meta('d1', { annotations: { 'hearth.dev/created-by': 'ann@acme.example' } }),
      {
        baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', displayName: 'D', description: 'd', annotations: { team: 'a' },
        minReplicaCount: 0, maxReplicaCount: 2, acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 1, precision: 'FP8', enableAddons: true,
        autoscalingPolicy: { scaleUpWindow: '30s', scaleDownWindow: '10m', scaleToZeroWindow: '1h', loadTargets: { default: 0.8 } },
        placement: { region: 'US_VIRGINIA_2' }, maxContextLength: 8192, draftTokenCount: 4, directRouteType: 'INTERNET', directRouteApiKeys: ['k'],
      },
      {
        state: 'READY', status, region: 'US_VIRGINIA_2', replicaCount: 1, desiredReplicaCount: 1, observedGeneration: 1,
        replicaStats: { readyReplicaCount: 1, pendingSchedulingReplicaCount: 0 }, directRouteHandle: 'd1.acme.example', activeModelVersion: 'v1',
        updateTime: created, lastRequestTime: created, lastScaleTime: created,
        scalingDecisions: [{ time: created, fromReplicas: 0, toReplicas: 1, reason: 'LoadIncreased' }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: created }],
      },
    ));
    kinds.deployedModels.seed(cr('DeployedModel', DeployedModelSpec, DeployedModelStatus, meta('dm1'),
      { model: 'accounts/acme/models/lora1', deployment: 'accounts/acme/deployments/d1', displayName: 'L', description: 'l', default: true, serverless: false, public: false },
      { state: 'DEPLOYED', status, updateTime: created, observedGeneration: 1 },
    ));
    kinds.supervisedFineTuningJobs.seed(cr('SFTJob', SFTJobSpec, SFTJobStatus, meta('tune', { annotations: { 'hearth.dev/created-by': 'ann@acme.example' } }),
      { dataset: 'accounts/acme/datasets/chat', baseModel: 'accounts/fireworks/models/llama', epochs: 1, loraRank: 8, maxContextLength: 8192, learningRate: 0.0001, wandbConfig: { enabled: true, project: 'p' }, outputModel: 'tuned' },
      { state: 'JOB_STATE_COMPLETED', status, jobProgress: { percent: 100, epoch: 1, inputTokens: 1000 }, completedTime: created, updateTime: created, wandbUrl: 'https://wandb.ai/r', observedGeneration: 1 },
    ));

    await createReservation(database.db, { accountId: 'acme', reservationId: 'h100-va', displayName: 'H100 Virginia', description: 'Q1', region: 'US_VIRGINIA_2', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 16, startTime: new Date('2027-01-01T00:00:00Z'), endTime: new Date('2028-01-01T00:00:00Z'), createdBy: 'ann@acme.example' });
    await createReservation(database.db, { accountId: 'acme', reservationId: 'global', multiRegion: 'GLOBAL', acceleratorType: 'NVIDIA_H100_80GB', reservedCount: 2, startTime: new Date('2027-01-01T00:00:00Z'), endTime: new Date('2028-01-01T00:00:00Z'), createdBy: 'ann@acme.example' });
    const calls: [method: string, url: string, template: string, body?: object][] = [
      ['GET', '/v1/accounts', '/v1/accounts'],
      ['GET', '/v1/accounts/acme', '/v1/accounts/{accountId}'],
      ['GET', '/v1/accounts/acme/users', '/v1/accounts/{accountId}/users'],
      ['POST', '/v1/accounts/acme/users', '/v1/accounts/{accountId}/users', { role: 'user', email: 'bob@acme.example', displayName: 'Bob' }],
      ['GET', '/v1/accounts/acme/users/ann', '/v1/accounts/{accountId}/users/{userId}'],
      ['POST', '/v1/accounts/acme/users/ann/apiKeys', '/v1/accounts/{accountId}/users/{userId}/apiKeys', { apiKey: { displayName: 'ci', expireTime: '2099-01-01T00:00:00Z' } }],
      ['GET', '/v1/accounts/acme/users/ann/apiKeys', '/v1/accounts/{accountId}/users/{userId}/apiKeys'],
      ['GET', '/v1/accounts/acme/quotas', '/v1/accounts/{accountId}/quotas'],
      ['GET', '/v1/accounts/acme/quotas/h100-us-virginia-2', '/v1/accounts/{accountId}/quotas/{quotaId}'],
      ['POST', '/v1/accounts/acme/models', '/v1/accounts/{accountId}/models', { modelId: 'base1', model: { kind: 'HF_BASE_MODEL', displayName: 'B', contextLength: 8192, baseModelDetails: { worldSize: 1, parameterCount: '8000000000', checkpointFormat: 'HUGGINGFACE', moe: false } } }],
      ['POST', '/v1/accounts/acme/models', '/v1/accounts/{accountId}/models', { modelId: 'lora1', model: { kind: 'HF_PEFT_ADDON', peftDetails: { baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', r: 8, targetModules: ['q_proj'] } } }],
      ['GET', '/v1/accounts/acme/models/lora1', '/v1/accounts/{accountId}/models/{modelId}'],
      ['GET', '/v1/accounts/acme/models', '/v1/accounts/{accountId}/models'],
      ['POST', '/v1/accounts/acme/models/lora1:getUploadEndpoint', '/v1/accounts/{accountId}/models/{modelId}:getUploadEndpoint', { filenameToSize: { 'adapter_config.json': '2' } }],
      ['GET', '/v1/accounts/acme/models/lora1:getDownloadEndpoint', '/v1/accounts/{accountId}/models/{modelId}:getDownloadEndpoint'],
      ['POST', '/v1/accounts/acme/datasets', '/v1/accounts/{accountId}/datasets', { datasetId: 'chat', dataset: { displayName: 'C', format: 'CHAT', exampleCount: 3, userUploaded: {} } }],
      ['GET', '/v1/accounts/acme/datasets/chat', '/v1/accounts/{accountId}/datasets/{datasetId}'],
      ['GET', '/v1/accounts/acme/datasets', '/v1/accounts/{accountId}/datasets'],
      ['GET', '/v1/accounts/acme/deployments/d1', '/v1/accounts/{accountId}/deployments/{deploymentId}'],
      ['GET', '/v1/accounts/acme/deployments', '/v1/accounts/{accountId}/deployments'],
      ['GET', '/v1/accounts/acme/deployedModels/dm1', '/v1/accounts/{accountId}/deployedModels/{deployedModelId}'],
      ['GET', '/v1/accounts/acme/deployedModels', '/v1/accounts/{accountId}/deployedModels'],
      ['GET', '/v1/accounts/acme/supervisedFineTuningJobs/tune', '/v1/accounts/{accountId}/supervisedFineTuningJobs/{supervisedFineTuningJobId}'],
      ['GET', '/v1/accounts/acme/supervisedFineTuningJobs', '/v1/accounts/{accountId}/supervisedFineTuningJobs'],
      ['GET', '/v1/accounts/acme/reservations/h100-va', '/v1/accounts/{accountId}/reservations/{reservationId}'],
      ['GET', '/v1/accounts/acme/reservations', '/v1/accounts/{accountId}/reservations'],
      ['GET', '/v1/accounts/fireworks/deploymentShapes', '/v1/accounts/{accountId}/deploymentShapes'],
      ['GET', '/v1/accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-h100', '/v1/accounts/{accountId}/deploymentShapes/{deploymentShapeId}'],
      ['GET', '/v1/accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-h100/versions', '/v1/accounts/{accountId}/deploymentShapes/{deploymentShapeId}/versions'],
      ['GET', `/v1/accounts/fireworks/deploymentShapes/llama-v3p1-8b-instruct-h100/versions/${deploymentShape('llama-v3p1-8b-instruct-h100')!.versionId}`, '/v1/accounts/{accountId}/deploymentShapes/{deploymentShapeId}/versions/{versionId}'],
    ];
    const specByKey = new Map(Object.entries(specDoc.paths).map(([path, ops]) => [pathKey(path), ops]));
    const findings: Finding[] = [];
    for (const [method, url, template, body] of calls) {
      const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(200);
      const spec = specByKey.get(pathKey(template))?.[method.toLowerCase()] ?? SCHEMA_ONLY[`${method} ${template}`];
      expect(spec, `${method} ${template} in the spec`).toBeDefined();
      checkValue(specDoc, spec!.responses?.['200']?.content?.['application/json']?.schema, JSON.parse(res.body), { op: `${method} ${template}` }, '', findings);
    }
    // :validateUpload answers 200 once the files are there: an adapter with a validation warning.
    const urls = await app.inject({ method: 'POST', url: '/v1/accounts/acme/models/lora1:getUploadEndpoint', headers: { authorization: `Bearer ${key}` }, payload: { filenameToSize: { 'adapter_config.json': '45', 'adapter_model.bin': '4' } } });
    const signed = (JSON.parse(urls.body) as { filenameToSignedUrls: Record<string, string> }).filenameToSignedUrls;
    for (const [name, bytes] of [['adapter_config.json', '{"r": 8, "target_modules": ["v_proj"]}'.padEnd(45)], ['adapter_model.bin', 'PK\u0003\u0004']] as const) {
      const u = new URL(signed[name]!);
      expect((await app.inject({ method: 'PUT', url: u.pathname + u.search, payload: Buffer.from(bytes) })).statusCode).toBe(200);
    }
    const validated = await app.inject({ method: 'GET', url: '/v1/accounts/acme/models/lora1:validateUpload', headers: { authorization: `Bearer ${key}` } });
    expect(validated.statusCode, validated.body).toBe(200);
    expect(JSON.parse(validated.body)).toEqual({ warnings: ['adapter_config.json: target_modules lacks q_proj named in peftDetails.targetModules'] });
    const validateSpec = specByKey.get(pathKey('/v1/accounts/{accountId}/models/{modelId}:validateUpload'))?.get;
    checkValue(specDoc, validateSpec?.responses?.['200']?.content?.['application/json']?.schema, JSON.parse(validated.body), { op: 'GET :validateUpload' }, '', findings);

    const unexpected = notAllowed(findings, new Set());
    if (unexpected.length) console.error(['findings in real responses:', ...unexpected.map((f) => `  ${show(f)}`)].join('\n'));
    expect(unexpected.map(show)).toEqual([]);
  });
});

describe('fields fixed after a finding', () => {
  it("accepts users' permissionPreset empty (the proto3 default) and rejects a value, as Hearth has no custom role", async () => {
    const headers = { authorization: `Bearer ${key}` };
    const ok = await app.inject({ method: 'POST', url: '/v1/accounts/acme/users', headers, payload: { role: 'user', email: 'pat@acme.example', permissionPreset: '' } });
    expect(ok.statusCode, ok.body).toBe(200);
    const patched = await app.inject({ method: 'PATCH', url: '/v1/accounts/acme/users/pat', headers, payload: { displayName: 'Pat', permissionPreset: '' } });
    expect(patched.statusCode, patched.body).toBe(200);
    const bad = await app.inject({ method: 'POST', url: '/v1/accounts/acme/users', headers, payload: { role: 'user', email: 'sam@acme.example', permissionPreset: 'viewer' } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).message).toContain('permissionPreset: only valid with role "custom"');
  });
});

describe('the comparison itself', () => {
  // A tiny spec and a Hearth document that breaks each rule once, so a comparator that silently
  // compares nothing cannot pass the test above.
  const specDoc: Doc = {
    paths: {},
    components: {
      schemas: {
        thing: {
          type: 'object',
          required: ['kind'],
          properties: {
            kind: { $ref: '#/components/schemas/Kind' },
            count: { type: 'string', format: 'int64' },
            size: { type: 'integer', format: 'int32' },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
            parts: { type: 'array', items: { $ref: '#/components/schemas/part' } },
            extra: { type: 'object' },
          },
        },
        Kind: { type: 'string', enum: ['A', 'B'] },
        part: { type: 'object', properties: { id: { type: 'string' } } },
      },
    },
  };
  const spec: Operation = {
    parameters: [{ name: 'account_id', in: 'path' }, { name: 'pageSize', in: 'query', schema: { type: 'integer' } }],
    requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/thing' } } } },
    responses: { '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/thing' } } } } },
  };
  const thing = (props: Record<string, Schema>, required: string[] = []): Schema => ({ type: 'object', properties: props, required });
  const run = (body: Schema, response: Schema, query: Parameter[] = []): string[] => {
    const out: Finding[] = [];
    const hearth: Operation = {
      parameters: [{ name: 'accountId', in: 'path' }, ...query],
      requestBody: { content: { 'application/json': { schema: body } } },
      responses: { '200': { content: { 'application/json': { schema: response } } } },
    };
    compareOperation({ paths: {} }, specDoc, 'OP', hearth, spec, out);
    return out.map((f) => `${f.where} ${f.field}: ${f.problem}`);
  };

  it('passes a conforming operation', () => {
    const body = thing({ kind: { anyOf: [{ type: 'string', enum: ['A'] }, { type: 'null' }] }, count: { anyOf: [{ type: 'string' }, { type: 'integer' }] }, labels: { type: 'object', additionalProperties: { type: 'string' } }, extra: { type: 'object', properties: { anything: { type: 'number' } } } });
    const response = thing({ count: { type: 'string' }, size: { type: 'integer' }, parts: { type: 'array', items: thing({ id: { type: 'string' } }) } });
    expect(run(body, response, [{ name: 'pageSize', in: 'query', schema: { type: 'string' } }])).toEqual([]);
  });

  it('reports unknown fields, wrong types, int64 numbers, extra enum values, extra required fields and unknown query parameters', () => {
    const body = { ...thing({ kind: { type: 'string', enum: ['A', 'C'] }, count: { type: 'integer' }, colour: { type: 'string' }, size: { type: 'integer' } }, ['size']), additionalProperties: false };
    const response = thing({ count: { anyOf: [{ type: 'string' }, { type: 'integer' }] }, size: { type: 'string' }, parts: { type: 'array', items: thing({ idd: { type: 'string' } }) }, kind: { type: 'string' } });
    expect(run(body, response, [{ name: 'pageSise', in: 'query', schema: { type: 'integer' } }])).toEqual([
      'response count: Hearth string|integer vs spec string (int64): an int64 is returned as a string',
      'response size: Hearth string vs spec integer (int32)',
      'response parts[].idd: not in the spec',
      'response kind: the spec has an enum (A, B…), Hearth an unconstrained string',
      'query pageSise: query parameter not in the spec',
      'request kind: enum values not in the spec: C',
      'request count: Hearth integer vs spec string (int64): an int64 must be accepted as a string',
      'request colour: not in the spec',
      'request labels: a writable spec field Hearth rejects as unknown',
      'request parts: a writable spec field Hearth rejects as unknown',
      'request extra: a writable spec field Hearth rejects as unknown',
      'request size: required by Hearth, optional in the spec',
    ]);
  });

  it('reports sent values with unknown names, int64 numbers, values outside an enum and wrong JSON types', () => {
    const out: Finding[] = [];
    const sent = { kind: 'C', count: 3, size: 1.5, labels: { a: 1 }, parts: [{ id: 'x', idd: 'y' }], extra: { anything: [1] }, colour: 'red' };
    checkValue(specDoc, { $ref: '#/components/schemas/thing' }, sent, { op: 'OP' }, '', out);
    expect(out.map((f) => `${f.field}: ${f.problem}`)).toEqual([
      'kind: sent "C", not one of the spec\'s values',
      'count: sent 3: an int64 is a decimal string',
      'size: sent 1.5 (number), the spec says integer',
      'labels.a: sent 1 (integer), the spec says string',
      'parts[].idd: sent, not in the spec',
      'colour: sent, not in the spec',
    ]);
    const ok: Finding[] = [];
    checkValue(specDoc, { $ref: '#/components/schemas/thing' }, { kind: 'A', count: '3', size: 2, labels: { a: 'b' }, parts: [{ id: 'x' }] }, { op: 'OP' }, '', ok);
    expect(ok).toEqual([]);
  });
});
