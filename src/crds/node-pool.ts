// NodePool: GPU capacity for environments and batch jobs (Fireworks `gatewayNodePool`), backed by
// an EKS node group in production or by fake (simulated) nodes.
import { z } from 'zod';
import { AcceleratorType, Region, Status, annotations, displayName, int32, required, resource, text, timestamp } from './common.js';
import { kubeStatusFields } from './conditions.js';
import { withRules } from './rules.js';

export const NodePoolState = z.enum(['STATE_UNSPECIFIED', 'CREATING', 'READY', 'DELETING', 'FAILED']);
export type NodePoolState = z.infer<typeof NodePoolState>;

export const EksNodePool = z
  .object({
    instanceType: required(64).describe('EC2 instance type of the nodes, e.g. p5.48xlarge.'),
    nodeRole: text(2048).optional().describe("IAM role ARN of the nodes. Default: the cluster's system node role."),
    spot: z.boolean().optional().describe('Use spot instances.'),
    nodeGroupName: text(63).optional().describe('EKS node group name. Default: the node pool id.'),
    subnetIds: z.array(text(256)).max(16).optional().describe("Subnets (one zone). Default: the cluster's subnets in the zone."),
    zone: text(64).optional().describe('Availability zone. Default: a random zone in the region.'),
    placementGroup: text(256).optional().describe('EC2 placement group.'),
    launchTemplate: text(256).optional().describe('EC2 launch template.'),
    nodeSelector: z
      .record(text(317), text(63))
      .meta({ maxProperties: 16 })
      .optional()
      .describe(
        'Hearth: use the existing nodes carrying these labels instead of provisioning (e.g. {"eks.amazonaws.com/nodegroup": "train"}); Hearth labels and taints them for the pool and releases them when the pool is deleted.',
      ),
  })
  .describe('An AWS EKS node group.');

export const FakeNodePool = z
  .object({
    machineType: text(64).optional().describe('Machine type of the simulated nodes.'),
    numNodes: int32().optional().describe('Number of simulated nodes.'),
    serviceAccount: text(256).optional().describe('Service account of the simulated nodes.'),
    acceleratorType: AcceleratorType.optional().describe('Hearth: accelerator type of the simulated nodes.'),
    acceleratorCount: int32().optional().describe('Hearth: accelerators per simulated node.'),
    region: Region.optional().describe('Hearth: region label of the simulated nodes.'),
  })
  .describe('Simulated nodes (a test double), e.g. KWOK nodes.');

/** The spec's fields without its object-level rules, for .pick/.omit/.partial (zod refuses those on
 * refined objects). Validate the final object with the full spec schema. */
export const NodePoolSpecFields = z.object({
  displayName: displayName(),
  annotations: withRules(annotations('node pool'), [
    {
      rule: "self.all(k, !k.startsWith('fireworks.ai/'))",
      message: "annotations must not use the reserved prefix 'fireworks.ai/'",
      holds: (a) => a === undefined || Object.keys(a).every((k) => !k.startsWith('fireworks.ai/')),
    },
  ]),
  minNodeCount: int32().default(0).describe('Minimum number of nodes. Default 0; at most maxNodeCount.'),
  maxNodeCount: int32(1).default(1).describe('Maximum number of nodes. Default 1; greater than 0 and at least minNodeCount.'),
  overprovisionNodeCount: int32()
    .default(0)
    .describe('Idle nodes kept ready. Default 0; at most minNodeCount and at most maxNodeCount − minNodeCount.'),
  eksNodePool: EksNodePool.optional(),
  fakeNodePool: FakeNodePool.optional(),
});

export const NodePoolSpec = withRules(
  NodePoolSpecFields,
  [
    {
      rule: 'self.minNodeCount <= self.maxNodeCount',
      message: 'maxNodeCount must be greater than or equal to minNodeCount',
      fieldPath: '.maxNodeCount',
      holds: (s) => s.minNodeCount <= s.maxNodeCount,
    },
    {
      rule: 'self.overprovisionNodeCount <= self.minNodeCount',
      message: 'overprovisionNodeCount must be at most minNodeCount',
      fieldPath: '.overprovisionNodeCount',
      holds: (s) => s.overprovisionNodeCount <= s.minNodeCount,
    },
    {
      rule: 'self.overprovisionNodeCount <= self.maxNodeCount - self.minNodeCount',
      message: 'overprovisionNodeCount must be at most maxNodeCount - minNodeCount',
      fieldPath: '.overprovisionNodeCount',
      holds: (s) => s.overprovisionNodeCount <= s.maxNodeCount - s.minNodeCount,
    },
    {
      rule: 'has(self.eksNodePool) != has(self.fakeNodePool)',
      message: 'exactly one of eksNodePool or fakeNodePool must be set',
      holds: (s) => (s.eksNodePool !== undefined) !== (s.fakeNodePool !== undefined),
    },
  ],
).describe('Desired state of the node pool: its size bounds and what backs it.');
export type NodePoolSpec = z.output<typeof NodePoolSpec>;
export type NodePoolSpecInput = z.input<typeof NodePoolSpec>;

const countMap = (what: string) =>
  z.record(z.string().max(64), int32()).meta({ maxProperties: 16 }).optional().describe(what);

export const NodePoolStats = z
  .object({
    nodeCount: int32().optional().describe('Nodes in the pool.'),
    ranksPerNode: int32().optional().describe('Ranks each node provides (GPUs, or 1 for CPU nodes).'),
    environmentCount: int32().optional().describe('Environments connected to the pool.'),
    environmentRanks: int32().optional().describe('Ranks used by environments.'),
    batchJobCount: countMap('Batch jobs on the pool by BatchJob state.'),
    batchJobRanks: countMap('Ranks used by batch jobs, by BatchJob state.'),
  })
  .describe('Live statistics of the node pool.');

export const NodePoolStatus = z
  .object({
    state: NodePoolState.default('STATE_UNSPECIFIED').describe('Fireworks state of the node pool.'),
    status: Status.optional(),
    nodePoolStats: NodePoolStats.optional(),
    updateTime: timestamp('Last time the controller changed the state.'),
    ...kubeStatusFields,
  })
  .describe('Observed state of the node pool (written by the controller).');
export type NodePoolStatus = z.output<typeof NodePoolStatus>;

export const NodePool = resource('NodePool', NodePoolSpec, NodePoolStatus);
export type NodePool = z.output<typeof NodePool>;
export type NodePoolInput = z.input<typeof NodePool>;
