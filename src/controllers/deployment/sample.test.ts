// The published sample, end to end through the pure parts: CRD schema → model server → region →
// children. What the reconciler will do on its first pass, minus the API calls.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Deployment } from '../../crds/deployment.js';
import { chooseRegion } from './placement.js';
import { isControlledBy, makeService, makeWorkload } from './children/index.js';
import { buildModelServer } from './model-server.js';
import { DEFAULT_MODEL_SERVER_CONFIG as CONFIG } from './model-server-config.js';
import { UID } from './testing.js';

const SAMPLE = new URL('../../../manifests/samples/deployment.yaml', import.meta.url);

describe('manifests/samples/deployment.yaml', () => {
  const dep = Deployment.parse(parse(readFileSync(SAMPLE, 'utf8')));
  dep.metadata = { ...dep.metadata, namespace: 'acct-acme', uid: UID };

  it('becomes FP8 vLLM pods on H100s in US_VIRGINIA_2 behind a Service', () => {
    const server = buildModelServer(dep.spec, CONFIG);
    if (!server.ok) throw new Error(server.message);
    if (server.value.acceleratorType === 'CPU') throw new Error('the sample is a GPU deployment');
    const placement = chooseRegion({
      acceleratorType: server.value.acceleratorType,
      gpusNeeded: server.value.acceleratorCount,
      requestedRegion: dep.spec.placement?.region,
      quotaLeft: () => 8,
      freeGpus: () => 16,
    });
    if (!('region' in placement)) throw new Error(placement.reason);
    expect(placement.region).toBe('US_VIRGINIA_2');

    const workload = makeWorkload(dep, server.value, { replicas: 2, region: placement.region, workload: CONFIG.workload });
    const pod = workload.spec?.template.spec;
    const c = pod?.containers[0];
    expect(c?.image).toBe(CONFIG.servers.nvidia.image);
    expect(c?.args).toEqual(expect.arrayContaining(['--quantization', 'fp8', '--enable-lora', '--tensor-parallel-size', '1']));
    expect(c?.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchExpressions).toEqual([
      { key: 'topology.kubernetes.io/region', operator: 'In', values: ['US_VIRGINIA_2'] },
      { key: 'hearth.dev/accelerator-type', operator: 'In', values: ['NVIDIA_H100_80GB'] },
    ]);
    const service = makeService(dep);
    expect(service.metadata?.name).toBe('llama-8b-chat-server');
    expect(isControlledBy(workload, dep)).toBe(true);
    expect(isControlledBy(service, dep)).toBe(true);
  });
});
