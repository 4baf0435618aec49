// Installs Hearth's CRDs (manifests/crds, generated from src/crds) by server-side apply and waits
// until every one is Established. Read with client-node's loadYaml: a plain YAML parse loses
// `default` and `x-kubernetes-validations` on the way to the API server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { ROOT } from './cluster.js';

export const CRD_DIR = join(ROOT, 'manifests', 'crds');

export async function installCrds(kc: KubeConfig, fieldManager = 'hearth-crds', timeoutMs = 60_000): Promise<string[]> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const crds = readdirSync(CRD_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => loadYaml<V1CustomResourceDefinition>(readFileSync(join(CRD_DIR, f), 'utf8')));
  for (const crd of crds) await objects.patch(crd, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  const names = crds.map((c) => c.metadata!.name!);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return names;
}
