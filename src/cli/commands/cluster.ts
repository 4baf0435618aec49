// Node pools and environments: create, update, and connect/disconnect an environment.
import type { Command } from 'commander';
import { action } from '../context.js';
import { UsageError } from '../errors.js';
import { addFieldFlags, bodyFromFlags, type FieldFlag } from '../flags.js';
import { idOf, parseInt32 } from '../format.js';
import { kindNamed, type Kind } from '../kinds.js';
import { kindCommand } from './generic.js';

const NODE_POOL = kindNamed('node-pool')!;
const ENVIRONMENT = kindNamed('environment')!;

const NODE_POOL_FLAGS: readonly FieldFlag[] = [
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'The display name of the node pool.' },
  { flag: 'min-node-count', field: 'minNodeCount', type: 'int', description: 'Minimum number of nodes.' },
  { flag: 'max-node-count', field: 'maxNodeCount', type: 'int', description: 'Maximum number of nodes.' },
  { flag: 'overprovision-node-count', field: 'overprovisionNodeCount', type: 'int', description: 'Idle nodes kept ready.' },
  { flag: 'annotations', field: 'annotations', type: 'map', description: 'Annotations, key=value.' },
  { flag: 'eks-instance-type', field: 'eksNodePool.instanceType', type: 'string', description: 'EKS: the EC2 instance type.' },
  { flag: 'fake-machine-type', field: 'fakeNodePool.machineType', type: 'string', description: 'Simulated pool: machine type.' },
  { flag: 'fake-num-nodes', field: 'fakeNodePool.numNodes', type: 'int', description: 'Simulated pool: number of nodes.' },
  { flag: 'fake-accelerator-type', field: 'fakeNodePool.acceleratorType', type: 'string', description: 'Simulated pool: accelerator type.' },
  { flag: 'fake-accelerator-count', field: 'fakeNodePool.acceleratorCount', type: 'int', description: 'Simulated pool: accelerators per node.' },
  { flag: 'fake-region', field: 'fakeNodePool.region', type: 'string', description: 'Simulated pool: region.' },
];

const ENVIRONMENT_FLAGS: readonly FieldFlag[] = [
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'The display name of the environment.' },
  { flag: 'base-image-ref', field: 'baseImageRef', type: 'string', description: 'Base container image URI.' },
  { flag: 'shared', field: 'shared', type: 'bool', description: 'Share with every user of the account.' },
  { flag: 'annotations', field: 'annotations', type: 'map', description: 'Annotations, key=value.' },
];

/** create (wrapper body `{<field>Id, <field>}`) and update for a kind. */
function registerCrud(v: { create: Command; update: Command }, kind: Kind, field: string, flags: readonly FieldFlag[]): void {
  const create = kindCommand(v.create, kind).argument('<id>', `the ${kind.title} id`);
  addFieldFlags(create, flags).action(
    action(async (ctx, [id], opts) => {
      ctx.printResource(await ctx.client.account('POST', kind.path, { body: { [`${field}Id`]: id, [field]: bodyFromFlags(flags, opts) } }));
    }),
  );
  const update = kindCommand(v.update, kind).argument('<id>', `the ${kind.title} id`);
  addFieldFlags(update, flags).action(
    action(async (ctx, [id], opts) => {
      const body = bodyFromFlags(flags, opts);
      if (!Object.keys(body).length) throw new UsageError(`update ${kind.name}: give at least one field flag (see --help)`);
      ctx.printResource(await ctx.client.account('PATCH', `${kind.path}/${encodeURIComponent(idOf(id!))}`, { body }));
    }),
  );
}

function registerConnect(connect: Command, disconnect: Command): void {
  kindCommand(connect, ENVIRONMENT)
    .description('Connects an environment to a node pool.')
    .argument('<id>', 'the environment id')
    .requiredOption('--node-pool <id>', 'The node pool to connect to.')
    .option('--num-ranks <int>', 'Ranks: GPUs on a GPU pool, hosts on a CPU pool (default 1).')
    .option('--use-local-storage', "Mount the node's local disk at /tmp.")
    .action(
      action(async (ctx, [id], opts) => {
        const connection: Record<string, unknown> = { nodePoolId: opts.nodePool };
        if (opts.numRanks !== undefined) connection.numRanks = parseInt32('num-ranks', String(opts.numRanks), 1);
        if (opts.useLocalStorage) connection.useLocalStorage = true;
        const answer = await ctx.client.account('POST', `/environments/${encodeURIComponent(idOf(id!))}:connect`, { body: { connection } });
        if (ctx.output === 'table') ctx.out(`Connecting environment ${idOf(id!)} to node pool ${String(opts.nodePool)}.`);
        else ctx.printResource(answer);
      }),
    );
  kindCommand(disconnect, ENVIRONMENT)
    .description('Disconnects an environment from its node pool.')
    .argument('<id>', 'the environment id')
    .option('--force', 'Disconnect even if snapshotting fails.')
    .option('--reset-snapshots', 'Rebuild the snapshot layers.')
    .action(
      action(async (ctx, [id], opts) => {
        const body = { force: opts.force ? true : undefined, resetSnapshots: opts.resetSnapshots ? true : undefined };
        const answer = await ctx.client.account('POST', `/environments/${encodeURIComponent(idOf(id!))}:disconnect`, { body });
        if (ctx.output === 'table') ctx.out(`Disconnecting environment ${idOf(id!)}.`);
        else ctx.printResource(answer);
      }),
    );
}

export function registerCluster(v: { create: Command; update: Command; connect: Command; disconnect: Command }): void {
  registerCrud(v, NODE_POOL, 'nodePool', NODE_POOL_FLAGS);
  registerCrud(v, ENVIRONMENT, 'environment', ENVIRONMENT_FLAGS);
  registerConnect(v.connect, v.disconnect);
}
