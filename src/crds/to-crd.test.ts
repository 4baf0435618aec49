// The generated CRDs: structural, described, defaulted, and identical to the committed files.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { GENERATED_DIRS, renderAll, repoRoot } from './generate.js';
import { DEPLOYMENT, KINDS, NODE_POOL, SFT_JOB } from './registry.js';
import { openApiSchema, toCrd } from './to-crd.js';

type Json = Record<string, unknown>;

/** Every schema node with its path. */
function* nodes(n: Json, path = ''): Generator<[string, Json]> {
  yield [path, n];
  for (const [name, child] of Object.entries((n.properties as Record<string, Json>) ?? {})) yield* nodes(child, `${path}.${name}`);
  if (n.items) yield* nodes(n.items as Json, `${path}[]`);
  if (n.additionalProperties && typeof n.additionalProperties === 'object') yield* nodes(n.additionalProperties as Json, `${path}{}`);
}

function at(schema: Json, path: string): Json {
  return path.split('.').reduce<Json>((n, p) => (n.properties as Record<string, Json>)[p]!, schema);
}

describe('generated CRDs', () => {
  it('are identical to the committed files (run `npm run gen:crds` after changing src/crds)', () => {
    const root = repoRoot();
    const files = renderAll();
    for (const [path, content] of files) {
      expect(existsSync(join(root, path)), `${path} is missing: run npm run gen:crds`).toBe(true);
      expect(readFileSync(join(root, path), 'utf8'), `${path} is stale: run npm run gen:crds`).toBe(content);
    }
    for (const dir of GENERATED_DIRS) {
      for (const f of readdirSync(join(root, dir)).filter((x) => x.endsWith('.yaml'))) {
        expect(files.has(`${dir}/${f}`), `${dir}/${f} is not generated any more: run npm run gen:crds`).toBe(true);
      }
    }
  });

  it.each(KINDS.map((k) => [k.kind, k] as const))('%s: structural, with a description on every field', (_n, k) => {
    const schema = openApiSchema(k);
    const forbidden = ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', 'const', '$schema'];
    for (const [path, n] of nodes(schema)) {
      for (const key of forbidden) expect(n[key], `${path}: ${key}`).toBeUndefined();
      expect(n.type, `${path}: type`).toBeDefined();
      if (n.properties) expect(n.additionalProperties, `${path}: properties and additionalProperties`).toBeUndefined();
      if (path !== '.metadata' && path !== '.metadata.name' && !path.endsWith('{}') && !path.endsWith('[]')) {
        expect(typeof n.description === 'string' && n.description.length > 0, `${path}: description`).toBe(true);
      }
      for (const rule of (n['x-kubernetes-validations'] as Json[] | undefined) ?? []) {
        expect(Object.keys(rule).every((key) => ['rule', 'message', 'fieldPath', 'reason'].includes(key)), `${path}: ${JSON.stringify(rule)}`).toBe(true);
        expect(rule.message, `${path}: rule without message`).toBeTruthy();
      }
      if (n.type === 'integer') expect(['int32', 'int64'], `${path}: integer format`).toContain(n.format);
    }
    // metadata: only name may be constrained.
    expect(schema.properties).toMatchObject({ metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 63 } } } });
  });

  it('puts the resource-id rule on metadata.name at the root of every kind', () => {
    for (const k of KINDS) {
      const rules = openApiSchema(k)['x-kubernetes-validations'] as Json[];
      expect(rules.some((r) => r.fieldPath === '.metadata.name'), k.kind).toBe(true);
    }
  });

  it('declares the documented defaults so the API server applies them', () => {
    const dep = openApiSchema(DEPLOYMENT);
    expect(at(dep, 'spec.minReplicaCount').default).toBe(0);
    expect(at(dep, 'spec.acceleratorType').default).toBe('NVIDIA_A100_80GB');
    expect(at(dep, 'spec.autoscalingPolicy').default).toEqual({});
    expect(at(dep, 'spec.autoscalingPolicy.scaleUpWindow').default).toBe('30s');
    expect(at(dep, 'spec.autoscalingPolicy.scaleDownWindow').default).toBe('10m');
    expect(at(dep, 'spec.autoscalingPolicy.scaleToZeroWindow').default).toBe('1h');
    expect(at(dep, 'spec.autoscalingPolicy.loadTargets').default).toEqual({ default: 0.8 });
    expect(at(openApiSchema(NODE_POOL), 'spec.maxNodeCount').default).toBe(1);
    expect(at(openApiSchema(SFT_JOB), 'spec.loraRank').default).toBe(8);
  });

  it('gives the API server and zod the same defaults', () => {
    const parsed = DEPLOYMENT.spec.parse({ baseModel: 'm' }) as Json;
    expect(parsed).toEqual({
      baseModel: 'm',
      minReplicaCount: 0,
      acceleratorType: 'NVIDIA_A100_80GB',
      precision: 'FP16',
      autoscalingPolicy: { scaleUpWindow: '30s', scaleDownWindow: '10m', scaleToZeroWindow: '1h', loadTargets: { default: 0.8 } },
    });
  });

  it('serves status on every kind, scale on Deployment, in the hearth category with short names', () => {
    for (const k of KINDS) {
      const crd = toCrd(k) as { spec: { names: Json; versions: Json[] } };
      const v = crd.spec.versions[0]!;
      expect(v.subresources).toMatchObject({ status: {} });
      expect(crd.spec.names.categories).toEqual(['hearth']);
      expect((crd.spec.names.shortNames as string[]).length).toBeGreaterThan(0);
      expect(crd.spec.names.shortNames).not.toContain('deploy');
      expect((v.additionalPrinterColumns as Json[]).map((c) => c.name)).toEqual(expect.arrayContaining(['State', 'Age']));
    }
    const dep = toCrd(DEPLOYMENT) as { spec: { versions: Json[] } };
    expect(dep.spec.versions[0]!.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.replicaCount', statusReplicasPath: '.status.replicaCount', labelSelectorPath: '.status.labelSelector' },
    });
    expect((toCrd(SFT_JOB) as { spec: { names: Json } }).spec.names.shortNames).toContain('sftj');
  });

  it('keeps the JSON-schema input and the zod schema in step: every spec field is in the CRD', () => {
    for (const k of KINDS) {
      const shape = (k.spec as unknown as z.ZodObject).shape as Record<string, unknown>;
      const props = at(openApiSchema(k), 'spec').properties as Json;
      expect(Object.keys(props).sort(), k.kind).toEqual(Object.keys(shape).sort());
    }
  });
});
