// zod → apiextensions.k8s.io/v1 CustomResourceDefinition. z.toJSONSchema (io: 'input', so defaults
// stay optional and are emitted as `default`) gives OpenAPI 3.0; this file turns it into a
// structural schema the API server accepts: no $ref/anyOf/oneOf, CEL rules reduced to their CEL
// keys, int bounds as formats, a description on every field (so `kubectl explain` has one).
import { z } from 'zod';
import { API_VERSION } from './group.js';
import { crdName, type KindInfo } from './registry.js';
import { VALIDATIONS_KEY, toCelValidation } from './rules.js';

type Json = Record<string, unknown>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const SAFE_MAX = Number.MAX_SAFE_INTEGER;
const FORBIDDEN = ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', 'const', '$defs', 'definitions'];
/** Order of keys in the output, for a readable YAML; unlisted keys keep their order after these. */
const KEY_ORDER = ['description', 'type', 'format', 'enum', 'default', 'minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'maxProperties', 'nullable'];
const KEY_ORDER_LAST = ['properties', 'additionalProperties', 'items', 'required'];

export class CrdSchemaError extends Error {}

function fail(path: string, what: string): never {
  throw new CrdSchemaError(`${path || '<root>'}: ${what}`);
}

/** Post-processes one JSON-schema node (and its children) in place; returns it. */
function structural(node: Json, path: string): Json {
  for (const key of FORBIDDEN) if (key in node) fail(path, `"${key}" is not allowed in a structural CRD schema`);
  delete node.$schema;
  if (node.additionalProperties === false) delete node.additionalProperties;
  if (node.type === 'integer') {
    // z.int() carries ±MAX_SAFE_INTEGER bounds (→ int64); z.int32() its int32 range (→ int32).
    if (node.maximum === SAFE_MAX) delete node.maximum;
    if (node.minimum === -SAFE_MAX) delete node.minimum;
    if (node.minimum === INT32_MIN) delete node.minimum;
    const max = node.maximum as number | undefined;
    node.format = max !== undefined && max <= INT32_MAX ? 'int32' : 'int64';
  }
  if (node.type === 'string' && node.format === 'date-time') delete node.pattern;
  const rules = node[VALIDATIONS_KEY] as Parameters<typeof toCelValidation>[0][] | undefined;
  if (rules) {
    if (rules.length === 0) delete node[VALIDATIONS_KEY];
    else node[VALIDATIONS_KEY] = rules.map(toCelValidation);
  }
  const props = node.properties as Record<string, Json> | undefined;
  if (props) {
    for (const [name, child] of Object.entries(props)) {
      const p = `${path}.${name}`;
      if (typeof child.description !== 'string' || child.description === '') fail(p, 'every field needs a description (zod .describe())');
      props[name] = structural(child, p);
    }
  }
  if (node.items && typeof node.items === 'object') node.items = structural(node.items as Json, `${path}[]`);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    node.additionalProperties = structural(node.additionalProperties as Json, `${path}{}`);
  }
  return ordered(node);
}

function ordered(node: Json): Json {
  const keys = Object.keys(node);
  const first = KEY_ORDER.filter((k) => k in node);
  const last = KEY_ORDER_LAST.filter((k) => k in node);
  const ext = keys.filter((k) => k.startsWith('x-kubernetes-') && !first.includes(k));
  const middle = keys.filter((k) => !first.includes(k) && !last.includes(k) && !ext.includes(k));
  const out: Json = {};
  for (const k of [...first, ...middle, ...last, ...ext]) out[k] = node[k];
  return out;
}

/** metadata.name: a Fireworks resource id (length here, pattern in the root CEL rule). */
const METADATA: Json = { type: 'object', properties: { name: { type: 'string', maxLength: 63 } } };

/** The openAPIV3Schema of a kind. */
export function openApiSchema(k: KindInfo): Json {
  const raw = z.toJSONSchema(k.schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' }) as Json;
  const props = raw.properties as Record<string, Json>;
  // apiVersion, kind and metadata are Kubernetes' own: plain types, as in every CRD.
  props.apiVersion = { description: `APIVersion of the object: ${API_VERSION}.`, type: 'string' };
  props.kind = { description: `Kind of the object: ${k.kind}.`, type: 'string' };
  delete props.metadata;
  delete raw.required;
  raw.description = k.summary;
  raw.required = ['spec'];
  const out = structural(raw, '');
  // Only metadata.name and metadata.generateName may be constrained, and metadata takes no description.
  const outProps = out.properties as Record<string, Json>;
  out.properties = { apiVersion: outProps.apiVersion, kind: outProps.kind, metadata: METADATA, ...outProps };
  return out;
}

/** The CRD of a kind. */
export function toCrd(k: KindInfo, extraAnnotations: Record<string, string> = {}): Json {
  const subresources: Json = { status: {} };
  if (k.scale) subresources.scale = { ...k.scale };
  const version: Json = {
    name: k.version,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: openApiSchema(k) },
    subresources,
    additionalPrinterColumns: k.printerColumns.map((c) => ({ ...c })),
  };
  if (k.selectableFields?.length) version.selectableFields = k.selectableFields.map((jsonPath) => ({ jsonPath }));
  const metadata: Json = {
    name: crdName(k),
    labels: { 'app.kubernetes.io/name': 'hearth', 'app.kubernetes.io/part-of': 'hearth' },
  };
  if (Object.keys(extraAnnotations).length > 0) metadata.annotations = extraAnnotations;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata,
    spec: {
      group: k.group,
      names: {
        kind: k.kind,
        listKind: k.listKind,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: k.categories,
      },
      scope: 'Namespaced',
      versions: [version],
    },
  };
}
