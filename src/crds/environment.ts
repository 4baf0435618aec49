// Environment: a development environment (container image) that connects to a node pool
// (Fireworks `gatewayEnvironment`). Setting `spec.connection` connects it; removing it disconnects.
import { z } from 'zod';
import { Status, annotations, displayName, int32, resource, resourceId, text, timestamp } from './common.js';
import { kubeStatusFields } from './conditions.js';

export const EnvironmentState = z.enum([
  'STATE_UNSPECIFIED',
  'CREATING',
  'DISCONNECTED',
  'CONNECTING',
  'CONNECTED',
  'DISCONNECTING',
  'RECONNECTING',
  'DELETING',
]);
export type EnvironmentState = z.infer<typeof EnvironmentState>;

export const EnvironmentConnection = z
  .object({
    nodePoolId: resourceId('nodePoolId').describe('The node pool to connect to (its id, in this namespace).'),
    numRanks: int32(1).default(1).describe('Ranks: GPUs on a GPU pool, hosts on a CPU pool. Default 1.'),
    role: text(2048).optional().describe("IAM role ARN. Default: the node pool's node role."),
    useLocalStorage: z.boolean().optional().describe("Mount the node's local disk at /tmp."),
  })
  .describe('Desired connection to a node pool (what :connect sets). Remove it to disconnect.');

/** Environment has no object-level rules: EnvironmentSpec can be picked from directly. */
export const EnvironmentSpecFields = z.object({
  displayName: displayName(),
  baseImageRef: text(1024).optional().describe('Base container image URI.'),
  shared: z
    .boolean()
    .optional()
    .describe('If true, every user of the account may connect, update, delete, clone and run jobs.'),
  annotations: annotations('environment'),
  connection: EnvironmentConnection.optional(),
});

export const EnvironmentSpec = EnvironmentSpecFields.describe('Desired state of the environment.');
export type EnvironmentSpec = z.output<typeof EnvironmentSpec>;
export type EnvironmentSpecInput = z.input<typeof EnvironmentSpec>;

export const EnvironmentStatus = z
  .object({
    state: EnvironmentState.default('STATE_UNSPECIFIED').describe('Fireworks state of the environment.'),
    status: Status.optional(),
    connection: z
      .object({
        nodePoolId: text(63).optional().describe('Connected node pool.'),
        numRanks: int32().optional().describe('Connected ranks.'),
        zone: text(64).optional().describe('Zone of the last connection.'),
        pods: z.array(text(253)).max(1024).optional().describe("Hearth: the connection's pods, one per rank (rank i is pods[i])."),
        shellCommand: text(1024).optional().describe('Hearth: how to get a shell in rank 0 (a kubectl exec command).'),
      })
      .optional()
      .describe('The current connection.'),
    imageRef: text(1024).optional().describe('Immutable snapshot of the base image taken at creation.'),
    snapshotImageRef: text(1024).optional().describe('Latest snapshot image.'),
    updateTime: timestamp('Last time the controller changed the state.'),
    ...kubeStatusFields,
  })
  .describe('Observed state of the environment (written by the controller).');
export type EnvironmentStatus = z.output<typeof EnvironmentStatus>;

export const Environment = resource('Environment', EnvironmentSpec, EnvironmentStatus);
export type Environment = z.output<typeof Environment>;
export type EnvironmentInput = z.input<typeof Environment>;
