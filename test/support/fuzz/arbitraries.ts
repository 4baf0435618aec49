// fast-check arbitraries for the REST fuzz (test/integration/api-fuzz.test.ts): values shaped by
// the JSON Schema Hearth publishes at /openapi.json, hostile values of every kind (wrong types,
// huge strings, unicode with lone surrogates, nesting, prototype keys), mutations of the one into
// the other, and the wire around them: path ids, query strings, content types, truncated JSON.
// Strings are drawn partly from a vocabulary of names that exist (the accounts' real objects,
// catalog models, regions…) so that schema-shaped bodies get past "not found" into the handlers.
import fc from 'fast-check';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean | number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
};

/** Strings the generators draw from besides random ones: names that exist, values that parse. */
export interface Vocabulary {
  /** Any string field may take one of these. */
  strings: readonly string[];
  /** Values found in responses during the run (names, page tokens): read at generation time. */
  captured: () => readonly string[];
  /** Values that fit a field of this name (`baseModel`, `nodePoolId`…): drawn often, so that creates succeed. */
  byField?: Readonly<Record<string, readonly string[]>>;
}

/** Values that are wrong for nearly every field: types, sizes, encodings, prototype keys. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ufeff',
  '\u202e\u202d',
  '\ud800',
  '\udfff\ud800',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ ☃ 日本語',
  'e\u0301\u0301\u0301',
  '../../../../etc/passwd',
  '..',
  '%00',
  '%zz',
  "'; drop table accounts; --",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  'NaN',
  'Infinity',
  '-1',
  '1e999',
  '9'.repeat(40),
  '-9223372036854775809',
  'true',
  'null',
  '__proto__',
  '2026-02-30T25:61:00Z',
  '0001-01-01T00:00:00Z',
  '-1s',
  '1e9h',
  '99999999999999999999h',
  'accounts/',
  'accounts//models/',
  'accounts/x/models/y/versions/z',
  '*',
  '\\',
  '"',
];

const KEYS = ['__proto__', 'constructor', 'prototype', '', 'a.b', '$where', 'name', 'state', '\u0000', 'ünï', 'x'.repeat(300)];

/** A huge string: up to 100 KB (the body limit is 1 MiB; `oversize` bodies go beyond it). */
const hugeString = fc.tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.constantFrom('x', 'é', '𝔘', '\u0000', ' ')).map(([n, c]) => c.repeat(Math.ceil(n / c.length)));

export function hostileScalar(vocab: Vocabulary): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constant(null), weight: 3 },
    { arbitrary: fc.boolean(), weight: 3 },
    { arbitrary: fc.integer(), weight: 3 },
    { arbitrary: fc.double(), weight: 3 },
    { arbitrary: fc.constantFrom(2 ** 53 + 1, -(2 ** 63), 1e308, -1e-308, 0.5, -0, 4_294_967_296, Number.MAX_SAFE_INTEGER), weight: 3 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
    { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 3 },
    // Rare: a body holds many scalars, and a few huge ones make it megabytes (refused whole as oversize).
    { arbitrary: hugeString, weight: 1 },
    { arbitrary: vocabString(vocab), weight: 3 },
  );
}

/** Any JSON-ish value, nested, with prototype-polluting and odd keys. */
export function hostileValue(vocab: Vocabulary): fc.Arbitrary<unknown> {
  const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 }));
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      hostileScalar(vocab),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    ),
  }));
  return value;
}

export function vocabString(vocab: Vocabulary): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...vocab.strings), weight: 4 },
    {
      // Values seen in responses so far (created names, page tokens of any collection or account).
      arbitrary: fc.nat().map((i) => {
        const c = vocab.captured();
        return c.length > 0 ? c[i % c.length]! : vocab.strings[i % vocab.strings.length]!;
      }),
      weight: 1,
    },
  );
}

const typesOf = (s: JsonSchema): string[] => (s.type === undefined ? [] : [s.type].flat());

/**
 * A value that (mostly) satisfies `schema`: enums from the enum, strings within their length from
 * the vocabulary or random, numbers within their range, objects with their required properties and
 * some optional ones. Only a loose fit is needed: the point is to get past validation often.
 */
export function fromSchema(schema: JsonSchema | undefined, vocab: Vocabulary, depth = 0, field = '', lean = false): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return hostileScalar(vocab);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0) return fc.oneof(...alternatives.map((s) => fromSchema(s, vocab, depth + 1, field, lean)));
  if (schema.allOf && schema.allOf.length > 0) return fromSchema(Object.assign({}, ...schema.allOf) as JsonSchema, vocab, depth + 1, field, lean);
  const types = typesOf(schema);
  const type = types[0] ?? (schema.properties ? 'object' : undefined);
  let arb: fc.Arbitrary<unknown>;
  switch (type) {
    case 'string':
      arb = stringFor(schema, vocab, field, lean);
      break;
    case 'integer': {
      const min = schema.minimum ?? -1000;
      const max = schema.maximum ?? 100_000;
      arb = fc.oneof(fc.integer({ min: Math.max(min, -1000), max: Math.min(max, Math.max(min, -1000) + 64) }), fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }));
      break;
    }
    case 'number': {
      const min = schema.minimum ?? -1e6;
      const max = schema.maximum ?? 1e6;
      arb = fc.double({ min, max, noNaN: true, noDefaultInfinity: true, minExcluded: schema.exclusiveMinimum === true });
      break;
    }
    case 'boolean':
      arb = fc.boolean();
      break;
    case 'array':
      arb = fc.array(fromSchema(schema.items, vocab, depth + 1, field, lean), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
      break;
    case 'object':
      arb = objectFor(schema, vocab, depth, lean);
      break;
    default:
      // No type (e.g. "output only; ignored on input"): anything.
      arb = hostileValue(vocab);
  }
  return schema.nullable || types.includes('null') ? fc.option(arb, { nil: null, freq: 8 }) : arb;
}

function stringFor(schema: JsonSchema, vocab: Vocabulary, field: string, lean: boolean): fc.Arbitrary<string> {
  const maxLength = Math.min(schema.maxLength ?? 64, 64);
  const minLength = Math.min(schema.minLength ?? 0, maxLength);
  const shaped: fc.Arbitrary<string>[] = [];
  if (schema.pattern === '^[^@\\s]+@[^@\\s]+$' || schema.format === 'email') shaped.push(fc.emailAddress());
  else if (schema.pattern === '^\\d+$' || schema.pattern === '^\\d{1,19}$') shaped.push(fc.bigInt({ min: 0n, max: 10n ** 19n - 1n }).map(String));
  else if (schema.pattern) shaped.push(fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? Infinity)));
  if (schema.format === 'date-time') shaped.push(fc.date({ noInvalidDate: true, min: new Date('1970-01-01'), max: new Date('2100-01-01') }).map((d) => d.toISOString()));
  const hints = vocab.byField?.[field];
  if (lean && hints && hints.length > 0) return fc.constantFrom(...hints);
  if (lean && shaped.length > 0) return fc.oneof(...shaped);
  // An id-like string where the lengths allow one (never a filter that cannot pass: maxLength may be 0).
  if (lean) return minLength <= 1 && maxLength >= 21 ? fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/) : fc.string({ minLength, maxLength });
  return fc.oneof(
    ...(hints && hints.length > 0 ? [{ arbitrary: fc.constantFrom(...hints), weight: 12 }] : []),
    { arbitrary: vocabString(vocab), weight: 4 },
    { arbitrary: fc.string({ minLength, maxLength }), weight: 2 },
    { arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), weight: 2 },
    ...shaped.map((arbitrary) => ({ arbitrary, weight: 4 })),
  );
}

function objectFor(schema: JsonSchema, vocab: Vocabulary, depth: number, lean: boolean): fc.Arbitrary<unknown> {
  const props = schema.properties ?? {};
  const names = Object.keys(props);
  const required = (schema.required ?? []).filter((k) => names.includes(k));
  const fieldArb = (n: string) => fromSchema(props[n], vocab, depth + 1, n, lean);
  if (lean) {
    // The required fields, the ones with hints, and at most one other: the body that gets through.
    const hinted = names.filter((n) => !required.includes(n) && vocab.byField?.[n]?.length);
    const others = names.filter((n) => !required.includes(n) && !hinted.includes(n) && typesOf(props[n]!).some((t) => t !== 'object' && t !== 'array'));
    return fc
      .tuple(fc.subarray(hinted), fc.subarray(others, { maxLength: Math.min(1, others.length) }))
      .chain(([h, o]) => fc.record(Object.fromEntries([...required, ...h, ...o].map((n) => [n, fieldArb(n)]))));
  }
  const record = fc.record(Object.fromEntries(names.map((n) => [n, fieldArb(n)])), { requiredKeys: required });
  const extra = schema.additionalProperties;
  if (extra && typeof extra === 'object') {
    const key = fc.oneof(vocabString(vocab), fc.stringMatching(/^[a-z][a-z0-9_.-]{0,15}$/));
    const dict = fc.dictionary(key, fromSchema(extra, vocab, depth + 1), { maxKeys: Math.min(schema.maxProperties ?? 3, 3) });
    return names.length === 0 ? dict : fc.tuple(record, dict).map(([r, d]) => ({ ...d, ...(r as object) }));
  }
  return record;
}

/** The paths (keys and indices) of a JSON value, the root included as []. */
function pathsOf(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, k], out);
  return out;
}

type Mutation = { at: number; kind: 'replace' | 'add' | 'delete'; key: string; value: unknown };

function applyMutation(root: unknown, m: Mutation): unknown {
  const paths = pathsOf(root);
  const path = paths[m.at % paths.length]!;
  if (path.length === 0) return m.kind === 'replace' ? m.value : root;
  let parent = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const target = parent[last];
  if (m.kind === 'replace') parent[last] = m.value;
  else if (m.kind === 'delete') delete parent[last];
  else if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  else parent[last] = m.value;
  return root;
}

/** A schema-shaped value with 1–3 mutations: a field replaced by a hostile value, removed, or joined by an unknown one. */
export function mutated(valid: fc.Arbitrary<unknown>, vocab: Vocabulary): fc.Arbitrary<unknown> {
  const mutation = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom<Mutation['kind']>('replace', 'replace', 'add', 'delete'),
    key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })),
    value: hostileValue(vocab),
  });
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([v, ms]) => ms.reduce<unknown>((acc, m) => applyMutation(acc, m), structuredClone(v)));
}

/** A request body as sent: bytes and the Content-Type header (undefined: none). */
export interface WireBody {
  contentType?: string;
  body?: string | Buffer;
  /** How it was made, for the failure message and the statistics. */
  kind: string;
}

const WRONG_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/json; charset=utf-16', 'application/octet-stream', 'application/jsonx', '*/*', 'json', ';;;', 'multipart/form-data'];

/** The body of a request whose JSON value comes from `value`: mostly JSON, sometimes broken on the wire. */
export function wireBody(value: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  const json = (v: unknown) => JSON.stringify(v) ?? 'null';
  return fc.oneof(
    { arbitrary: value.map((v): WireBody => ({ contentType: 'application/json', body: json(v), kind: 'json' })), weight: 70 },
    { arbitrary: fc.tuple(value, fc.nat()).map(([v, n]): WireBody => { const s = json(v); return { contentType: 'application/json', body: s.slice(0, n % Math.max(1, s.length)), kind: 'truncated' }; }), weight: 6 },
    { arbitrary: fc.tuple(value, fc.constantFrom(...WRONG_TYPES)).map(([v, ct]): WireBody => ({ contentType: ct, body: json(v), kind: 'content-type' })), weight: 6 },
    { arbitrary: fc.constant<WireBody>({ kind: 'none' }), weight: 3 },
    { arbitrary: fc.constantFrom('[]', '"x"', '1', 'null', 'true', '', ' ', '{}{}', '{"a":1,}', "{'a':1}", '\ufeff{}', '{"__proto__":{"admin":true}}').map((b): WireBody => ({ contentType: 'application/json', body: b, kind: 'odd-json' })), weight: 4 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b): WireBody => ({ contentType: 'application/json', body: Buffer.concat([Buffer.from('{"a":"'), Buffer.from(b), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), kind: 'bad-utf8' })), weight: 2 },
    { arbitrary: fc.integer({ min: 1_000, max: 60_000 }).map((n): WireBody => ({ contentType: 'application/json', body: `{"a":${'['.repeat(n)}${']'.repeat(n)}}`, kind: 'deep' })), weight: 1 },
    { arbitrary: value.map((v): WireBody => ({ contentType: 'multipart/form-data; boundary=XyZ', body: `--XyZ\r\nContent-Disposition: form-data; name="file"; filename="d.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n${json(v)}\n\r\n--XyZ--\r\n`, kind: 'multipart' })), weight: 2 },
    { arbitrary: fc.constant<WireBody>({ contentType: 'application/json', body: `{"displayName":"${'x'.repeat(1024 * 1024 + 10)}"}`, kind: 'oversize' }), weight: 1 },
  );
}

/** A path parameter: an id that exists (from `known`), a well-formed one, or a hostile one (percent-encoded as sent). */
export function pathId(known: readonly string[]): fc.Arbitrary<string> {
  const hostile = fc.constantFrom('..', '.', '%2F', '%2e%2e', 'a%2Fb', '%00', '%zz', '%', '%20', '-', 'A', 'a_b', '0', '9'.repeat(25), 'x'.repeat(600), '%F0%9F%98%80', '%C3%28', 'a%3Ab', '~', '*', '%ED%A0%80', 'accounts');
  return fc.oneof(
    ...(known.length > 0 ? [{ arbitrary: fc.constantFrom(...known), weight: 6 }] : []),
    { arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/), weight: 3 },
    { arbitrary: fc.integer({ min: -5, max: 2 ** 40 }).map(String), weight: 1 },
    { arbitrary: hostile, weight: 2 },
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))), weight: 1 },
  );
}

/** Values for the query parameters Hearth's collections share, valid and not. */
const QUERY_VALUES: Record<string, readonly string[]> = {
  pageSize: ['0', '1', '2', '5', '200', '-1', '1e3', 'abc', '100000', '', '1.5', '9'.repeat(30)],
  filter: ['state="READY"', 'name="x" OR name="y"', 'displayName:"a"', 'createTime > "2020-01-01T00:00:00Z"', 'NOT state="X"', '(((', 'a==b', 'name="x" OR', '"', '\u0000', 'state=READY AND (displayName="a" OR -x)', 'x.y.z:*'],
  orderBy: ['createTime desc', 'name', 'name asc, createTime desc', 'foo', ' desc', 'a asc desc', ',', 'displayName desc'],
  readMask: ['name,state', '*', 'nope', '..', 'name', 'name,,state', 'a.b.c', ''],
  updateMask: ['displayName', 'displayName,description', 'nope', '..', '*', '', 'autoscalingPolicy.scaleToZeroWindow', 'name'],
  window: ['1h', '5m', '24h', '-1h', '0s', '1000000h', 'x'],
  startTime: ['2026-01-01T00:00:00Z', 'yesterday', '0', ''],
};

/** The query string of a request: the operation's parameters (valid-ish or hostile), unknown ones, repeats, bad escapes. */
export function queryString(params: readonly { name: string; schema?: JsonSchema }[], vocab: Vocabulary): fc.Arbitrary<string> {
  const one = (p: { name: string; schema?: JsonSchema }): fc.Arbitrary<string> => {
    const shaped = QUERY_VALUES[p.name]
      ? fc.constantFrom(...QUERY_VALUES[p.name]!)
      : typesOf(p.schema ?? {}).includes('boolean')
        ? fc.constantFrom('true', 'false', '1', '0', 'maybe', '')
        : fromSchema(p.schema, vocab).map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''));
    const value = fc.oneof({ arbitrary: shaped, weight: 5 }, { arbitrary: vocabString(vocab), weight: 1 }, { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 }, { arbitrary: hugeString.map((s) => s.slice(0, 20_000)), weight: 1 });
    return fc.oneof(
      { arbitrary: value.map((v) => `${p.name}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '?'))}`), weight: 10 },
      { arbitrary: fc.constantFrom(`${p.name}=%zz`, `${p.name}=%`, `${p.name}`, `${p.name}[]=1`, `${p.name}[a]=b`, `${p.name}=a&${p.name}=b`), weight: 1 },
    );
  };
  const extra = fc.constantFrom('unknown=1', 'x=%00', '__proto__=1', 'constructor[prototype][a]=1', 'a=b=c', '&&', '=', '%ff=1', 'validateOnly=true');
  const parts = fc.tuple(
    fc.subarray([...params], { maxLength: Math.min(4, params.length) }).chain((ps) => (ps.length === 0 ? fc.constant<string[]>([]) : fc.tuple(...ps.map(one)))),
    fc.array(extra, { maxLength: 2 }),
  );
  return parts.map(([a, b]) => [...a, ...b].join('&'));
}
