// The collections the CLI knows: the names firectl uses for them (and aliases), the REST path, the
// list answer's key, the table columns, and which standard verbs REST serves for each.
import { at, col, idCol, type Column } from './format.js';

export type Verb = 'create' | 'get' | 'list' | 'update' | 'delete';

export interface Kind {
  /** firectl's singular, e.g. `deployment`, `sftj`. */
  name: string;
  aliases: string[];
  /** Human name for messages, e.g. `supervised fine-tuning job`. */
  title: string;
  /** REST path under the account, e.g. `/deployments`. */
  path: string;
  /** The list answer's key. */
  listKey: string;
  columns: Column[];
  verbs: readonly Verb[];
  /** Where a verb REST lacks has another command, e.g. create deployed-model → load-lora. */
  instead?: Partial<Record<Verb, string>>;
}

const created = col('CREATED', 'createTime');
const last = (header: string, path: string): Column => ({ header, value: (r) => String(at(r, path) ?? '').split('/').pop() });
const ALL: readonly Verb[] = ['create', 'get', 'list', 'update', 'delete'];

export const KINDS: readonly Kind[] = [
  {
    name: 'deployment',
    aliases: ['deployments'],
    title: 'deployment',
    path: '/deployments',
    listKey: 'deployments',
    columns: [
      idCol(),
      col('BASE MODEL', 'baseModel'),
      col('STATE', 'state'),
      col('REGION', 'region'),
      { header: 'ACCELERATOR', value: (r) => (r.acceleratorType ? `${String(r.acceleratorCount ?? 1)}x ${String(r.acceleratorType)}` : '') },
      { header: 'READY/DESIRED', value: (r) => `${String(at(r, 'replicaStats.readyReplicaCount') ?? 0)}/${String(r.desiredReplicaCount ?? 0)}` },
      created,
    ],
    verbs: ALL,
  },
  {
    name: 'deployed-model',
    aliases: ['deployed-models', 'deployedmodel', 'lora'],
    title: 'deployed model',
    path: '/deployedModels',
    listKey: 'deployedModels',
    columns: [idCol(), col('MODEL', 'model'), last('DEPLOYMENT', 'deployment'), col('STATE', 'state'), col('DEFAULT', 'default'), col('PUBLIC', 'public')],
    verbs: ['get', 'list', 'update', 'delete'],
    instead: { create: 'hearth load-lora MODEL --deployment ID' },
  },
  {
    name: 'model',
    aliases: ['models'],
    title: 'model',
    path: '/models',
    listKey: 'models',
    columns: [idCol(), col('KIND', 'kind'), col('STATE', 'state'), col('BASE MODEL', 'peftDetails.baseModel'), created],
    verbs: ALL,
  },
  {
    name: 'dataset',
    aliases: ['datasets'],
    title: 'dataset',
    path: '/datasets',
    listKey: 'datasets',
    columns: [idCol(), col('STATE', 'state'), col('EXAMPLES', 'exampleCount'), col('DISPLAY NAME', 'displayName'), created],
    verbs: ALL,
  },
  {
    name: 'sftj',
    aliases: ['sftjs', 'fine-tuning-job', 'fine-tuning-jobs', 'supervised-fine-tuning-job', 'supervised-fine-tuning-jobs', 'sft-job', 'sft-jobs'],
    title: 'supervised fine-tuning job',
    path: '/supervisedFineTuningJobs',
    listKey: 'supervisedFineTuningJobs',
    columns: [
      idCol(),
      col('STATE', 'state'),
      col('BASE MODEL', 'baseModel'),
      last('DATASET', 'dataset'),
      col('OUTPUT MODEL', 'outputModel'),
      { header: 'PROGRESS', value: (r) => (at(r, 'jobProgress.percent') === undefined ? '' : `${String(at(r, 'jobProgress.percent'))}%`) },
      created,
    ],
    verbs: ['create', 'get', 'list', 'delete'],
  },
  {
    name: 'node-pool',
    aliases: ['node-pools', 'nodepool', 'nodepools'],
    title: 'node pool',
    path: '/nodePools',
    listKey: 'nodePools',
    columns: [idCol(), col('STATE', 'state'), col('MIN', 'minNodeCount'), col('MAX', 'maxNodeCount'), col('DISPLAY NAME', 'displayName'), created],
    verbs: ALL,
  },
  {
    name: 'environment',
    aliases: ['environments', 'env'],
    title: 'environment',
    path: '/environments',
    listKey: 'environments',
    columns: [idCol(), col('STATE', 'state'), col('NODE POOL', 'connection.nodePoolId'), col('IMAGE', 'baseImageRef'), created],
    verbs: ALL,
  },
  {
    name: 'batch-job',
    aliases: ['batch-jobs', 'batchjob', 'batchjobs'],
    title: 'batch job',
    path: '/batchJobs',
    listKey: 'batchJobs',
    columns: [idCol(), col('STATE', 'state'), col('NODE POOL', 'nodePoolId'), col('ENVIRONMENT', 'environmentId'), col('DISPLAY NAME', 'displayName'), created],
    verbs: ALL,
  },
  {
    name: 'user',
    aliases: ['users'],
    title: 'user',
    path: '/users',
    listKey: 'users',
    columns: [idCol(), col('EMAIL', 'email'), col('ROLE', 'role'), col('STATE', 'state'), col('DISPLAY NAME', 'displayName')],
    verbs: ['create', 'get', 'list', 'update'],
  },
  {
    name: 'api-key',
    aliases: ['api-keys', 'apikey', 'apikeys'],
    title: 'API key',
    path: '/apiKeys',
    listKey: 'apiKeys',
    columns: [col('KEY ID', 'keyId'), col('DISPLAY NAME', 'displayName'), col('PREFIX', 'prefix'), col('EMAIL', 'email'), created, col('EXPIRES', 'expireTime')],
    verbs: ['create', 'list', 'delete'],
  },
  {
    name: 'quota',
    aliases: ['quotas'],
    title: 'quota',
    path: '/quotas',
    listKey: 'quotas',
    columns: [idCol(), col('VALUE', 'value'), col('MAX', 'maxValue'), col('USAGE', 'usage')],
    verbs: ['get', 'list', 'update'],
  },
  {
    name: 'reservation',
    aliases: ['reservations'],
    title: 'reservation',
    path: '/reservations',
    listKey: 'reservations',
    columns: [idCol(), col('ACCELERATOR', 'acceleratorType'), col('COUNT', 'acceleratorCount'), col('REGION', 'region'), col('END', 'endTime')],
    verbs: ['get', 'list'],
  },
];

export function kindNamed(name: string): Kind | undefined {
  return KINDS.find((k) => k.name === name || k.aliases.includes(name));
}

/** What REST serves for a kind, for the message when a verb is not among them. */
export function unsupported(kind: Kind, verb: Verb): string {
  const served = kind.verbs.length ? kind.verbs.join(', ') : 'nothing';
  const instead = kind.instead?.[verb];
  return `the REST API cannot ${verb} ${kind.title}s (it serves: ${served})${instead ? `; use \`${instead}\`` : ''}`;
}
