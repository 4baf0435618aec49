// The simulated GPU fleet: reads hack/fleet/sim-fleet.yaml and turns it into KWOK Node objects
// that carry the labels, taint and extended resources of real GPU nodes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { V1Node } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { z } from 'zod';

import { ACCELERATOR_LABEL, REGION_LABEL } from '../../src/fleet/catalog.js';

export { ACCELERATOR_LABEL, REGION_LABEL };
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const SIMULATED_LABEL = 'hearth.dev/simulated';
export const FLEET_FILE = fileURLToPath(new URL('../fleet/sim-fleet.yaml', import.meta.url));

const FleetFile = z
  .object({
    gpusPerNode: z.number().int().positive(),
    acceleratorTypes: z.record(
      z.string(),
      z.object({
        resource: z.enum(['nvidia.com/gpu', 'amd.com/gpu']),
        product: z.string(),
        instanceType: z.string(),
      }),
    ),
    pools: z.array(
      z.object({
        region: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'a Fireworks region name such as US_VIRGINIA_2'),
        acceleratorType: z.string(),
        nodes: z.number().int().min(0),
      }),
    ),
  })
  .superRefine((f, ctx) => {
    f.pools.forEach((p, i) => {
      if (!(p.acceleratorType in f.acceleratorTypes)) {
        ctx.addIssue({
          code: 'custom',
          path: ['pools', i, 'acceleratorType'],
          message: `unknown accelerator type ${p.acceleratorType}; declare it under acceleratorTypes`,
        });
      }
    });
  });
export type Fleet = z.infer<typeof FleetFile>;

export function loadFleet(path = FLEET_FILE): Fleet {
  const parsed = FleetFile.safeParse(parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid fleet file ${path}:\n${issues}`);
  }
  return parsed.data;
}

/** Node name: gpu-<region>-<accelerator>-<n>, lower-cased and DNS-safe. */
export function nodeName(region: string, acceleratorType: string, index: number): string {
  const short = acceleratorType.toLowerCase().split('_')[1] ?? acceleratorType.toLowerCase();
  return `gpu-${region.toLowerCase().replaceAll('_', '-')}-${short}-${index}`;
}

/** Every Node of the fleet, fully described (metadata, taints and status capacity). */
export function fleetNodes(fleet: Fleet): V1Node[] {
  const nodes: V1Node[] = [];
  for (const pool of fleet.pools) {
    const acc = fleet.acceleratorTypes[pool.acceleratorType];
    if (!acc) throw new Error(`unknown accelerator type ${pool.acceleratorType}`);
    const vendor = acc.resource.split('.')[0] ?? 'gpu';
    for (let i = 0; i < pool.nodes; i++) {
      const name = nodeName(pool.region, pool.acceleratorType, i);
      const resources = {
        cpu: '192',
        memory: '2Ti',
        pods: '110',
        'ephemeral-storage': '8Ti',
        [acc.resource]: String(fleet.gpusPerNode),
      };
      nodes.push({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
            [SIMULATED_LABEL]: 'true',
            [REGION_LABEL]: pool.region,
            [ZONE_LABEL]: `${pool.region}-a`,
            [ACCELERATOR_LABEL]: pool.acceleratorType,
            'node.kubernetes.io/instance-type': acc.instanceType,
            [`${vendor}.com/gpu.present`]: 'true',
            [`${vendor}.com/gpu.product`]: acc.product,
            [`${vendor}.com/gpu.count`]: String(fleet.gpusPerNode),
          },
        },
        // Real GPU nodes are tainted so that only pods that ask for GPUs (and tolerate it) land there.
        spec: { taints: [{ key: acc.resource, value: 'present', effect: 'NoSchedule' }] },
        status: { capacity: resources, allocatable: resources },
      });
    }
  }
  return nodes;
}
