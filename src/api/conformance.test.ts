// Wire conformance with the published Fireworks spec (issue #6): for every operation Hearth serves
// whose path + method is in spec/fireworks-gateway-openapi.yml, Hearth's generated /openapi.json
// must agree with it on
//   - path parameters (Hearth's camelCase `{accountId}` ≙ the spec's `{account_id}`),
//   - query parameters: each one Hearth accepts exists in the spec with a compatible type,
//   - the request body: each property Hearth accepts exists in the spec's schema with a compatible
//     type, enum values ⊆ the spec's; a field Hearth requires must be required by the spec too,
//   - the 200 response: each property Hearth returns exists in the spec's schema with a compatible
//     type, enum values ⊆ the spec's (list responses: the collection key, nextPageToken, totalSize).
// Types: int64/uint64 are strings in proto3 JSON (Hearth must return a string and accept one);
// other scalars must match; a spec `object` without properties (Struct, Any) takes anything.
// Deliberate deviations are in ALLOWED below, each with its reason; an entry that no longer
// matches a finding fails the test too, so the list stays as short as the truth.
// No cluster: the app is built on PGlite as in app.test.ts; only its OpenAPI document is read.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { openDatabase, type Database } from '../db/client.js';
import { buildApp } from './app.js';

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
    op: '* /v1/accounts/{accountId}/deployments*',
    where: '*',
    field: '*region*',
    problem: 'enum values not in the spec: *',
    why: 'api-notes.md §4 (PROPOSED, adopted in src/crds/common.ts Region): the retired v4.21.6 regions (EU_LONDON_1 … EU_ICELAND_3) are accepted besides the v4.259 list, and echoed as given.',
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
    op: 'POST /v1/accounts/{accountId}/deployedModels',
    where: 'request',
    field: '*',
    problem: 'required by Hearth, optional in the spec',
    why: 'api-notes.md §5.2: `model` and `deployment` are "REQ in practice" (a DeployedModel without them means nothing); the spec marks no field of gatewayDeployedModel required.',
  },
];

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

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
}

function view(doc: Doc, schema: Schema | undefined, seen = new Set<string>()): View {
  const v: View = { types: new Set(), properties: new Map(), required: new Set(), items: [], additional: [], openObject: false };
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
  if (v.types.has('object') && v.properties.size === 0 && v.additional.length === 0) v.openObject = true;
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
      for (const r of hearth.required) if (!spec.required.has(r) && !(spec.properties.size === 0 && spec.additional.length)) report(field ? `${field}.${r}` : r, 'required by Hearth, optional in the spec');
    }
    if (hearth.additional.length) {
      if (spec.additional.length) compareSchemas(hearthDoc, specDoc, hearth.additional[0], spec.additional[0], ctx, `${field}.{}`, out);
      else if (spec.properties.size) report(field, 'a map in Hearth, a message with fixed fields in the spec');
    }
  }
  if (hearth.items.length && spec.items.length) compareSchemas(hearthDoc, specDoc, hearth.items[0], spec.items[0], ctx, `${field}[]`, out);
}

function compareOperation(hearthDoc: Doc, specDoc: Doc, op: string, hearth: Operation, spec: Operation, out: Finding[]): void {
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
  const hearthOk = hearth.responses?.['200']?.content?.['application/json']?.schema;
  const specOk = spec.responses?.['200']?.content?.['application/json']?.schema;
  if (hearthOk && !specOk) out.push({ op, where: 'response', field: '(body)', problem: 'the spec has no JSON 200 response' });
  else if (hearthOk) compareSchemas(hearthDoc, specDoc, hearthOk, specOk, { op, where: 'response' }, '', out);
}

let database: Database;
let app: FastifyInstance;
let hearthDoc: Doc;
let specDoc: Doc;

beforeAll(async () => {
  database = await openDatabase();
  await database.migrate();
  app = await buildApp({ db: database.db, rateLimit: false });
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
        const spec = specByKey.get(pathKey(path))?.ops[method];
        if (!spec) {
          hearthOnly.push(op);
          continue;
        }
        compared.push(op);
        compareOperation(hearthDoc, specDoc, op, hearth, spec, findings);
      }
    }
    const used = new Set<Allowed>();
    const unexpected = findings.filter((f) => {
      const a = ALLOWED.find((x) => glob(x.op).test(f.op) && glob(x.where).test(f.where) && glob(x.field).test(f.field) && (!x.problem || glob(x.problem).test(f.problem)));
      if (a) used.add(a);
      return !a;
    });
    const stale = ALLOWED.filter((a) => !used.has(a)).map((a) => `${a.op} ${a.where} ${a.field} (${a.why})`);

    console.info(
      [
        `conformance: ${compared.length} operations compared with the published spec, ${findings.length - unexpected.length} allowlisted deviations, ${unexpected.length} findings`,
        `operations Hearth serves that the published spec does not have (${hearthOnly.length}; api-notes.md or Hearth additions):`,
        ...hearthOnly.map((o) => `  ${o}`),
      ].join('\n'),
    );
    if (unexpected.length) console.error(['findings:', ...unexpected.map((f) => `  ${f.op} — ${f.where} ${f.field}: ${f.problem}`)].join('\n'));

    expect(compared.length).toBeGreaterThan(30);
    expect(unexpected.map((f) => `${f.op} — ${f.where} ${f.field}: ${f.problem}`)).toEqual([]);
    expect(stale, 'allowlist entries that match no finding any more').toEqual([]);
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
    const body = thing({ kind: { type: 'string', enum: ['A', 'C'] }, count: { type: 'integer' }, colour: { type: 'string' }, size: { type: 'integer' } }, ['size']);
    const response = thing({ count: { anyOf: [{ type: 'string' }, { type: 'integer' }] }, size: { type: 'string' }, parts: { type: 'array', items: thing({ idd: { type: 'string' } }) }, kind: { type: 'string' } });
    expect(run(body, response, [{ name: 'pageSise', in: 'query', schema: { type: 'integer' } }])).toEqual([
      'query pageSise: query parameter not in the spec',
      'request kind: enum values not in the spec: C',
      'request count: Hearth integer vs spec string (int64): an int64 must be accepted as a string',
      'request colour: not in the spec',
      'request size: required by Hearth, optional in the spec',
      'response count: Hearth string|integer vs spec string (int64): an int64 is returned as a string',
      'response size: Hearth string vs spec integer (int32)',
      'response parts[].idd: not in the spec',
      'response kind: the spec has an enum (A, B…), Hearth an unconstrained string',
    ]);
  });
});
