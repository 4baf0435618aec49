// The `helm install` path, secure by default: both charts lint and render; hearth-crds then hearth
// install with --wait into a fresh namespace that enforces the `restricted` Pod Security Standard
// (KWOK marks the pods Running; no container runs) and uninstall cleanly; every rendered pod spec
// passes restricted admission; manifests/rbac/ is the current render; and the RBAC is sufficient
// and minimal: each process's ServiceAccount (impersonated with client-node's `as` user) has
// exactly the rules in the table below, the calls its code makes succeed, and anything else —
// Secrets above all — is forbidden.
//
// Shares the cluster with other suites: own namespaces and release names, everything removed in
// afterAll. The CRDs already exist in the shared cluster (other suites apply them), so hearth-crds
// is installed with --take-ownership; its CRDs are kept on uninstall (helm.sh/resource-policy:
// keep) and the ownership annotations helm added are removed again.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  loadAllYaml,
  loadYaml,
  setHeaderOptions,
  type KubernetesObject,
  type V1Deployment,
  type V1PodSpec,
  type V1SecurityContext,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeDeploymentClient } from '../../src/api/kube/kind-client.js';
import { accountNamespace, ensureAccountNamespace } from '../../src/api/kube/namespaces.js';
import { MODEL_SERVER_POLICY_NAME } from '../../src/api/kube/network-policy.js';
import { KubeLeaseClient } from '../../src/controllers/runtime/leader-election.js';
import { KubeClients } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { KubeListWatch, type ResourceRef } from '../../src/kube/kube-source.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import { ACCELERATOR_LABEL } from '../../src/fleet/catalog.js';
import { Catalog } from '../../src/gateway/catalog.js';
import { startSources } from '../../src/gateway/sources.js';
import { Upstreams } from '../../src/gateway/upstreams.js';
import { realClock } from '../../src/util/clock.js';
import { REPO_ROOT } from '../fixtures/corpus.js';
import { kubeconfigPath, testKubeConfig } from '../support/env.js';
import { kubeAccess } from '../support/kube.js';
import { createTestNamespace } from '../support/namespace.js';
import { waitFor } from '../support/wait.js';
import { TEST_SEAL } from '../support/tenancy.js';

const run = promisify(execFile);
const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const authz = kc.makeApiClient(AuthorizationV1Api);
const ext = kc.makeApiClient(ApiextensionsV1Api);
const log = pino({ level: 'silent' });

const id = randomBytes(3).toString('hex');
/** The split install (controller, api, gateway). */
const ns = `helm-${id}`;
const release = `hearth-${id}`; // contains "hearth": resource names are `${release}-<component>`
const crdsRelease = `hearth-crds-${id}`;
/** The mode=all install (one pod, embedded PGlite). */
const nsAll = `helm-all-${id}`;
const releaseAll = `hearth-all-${id}`;
/** A namespace the processes may not write Leases in; workloads in it are ordinary objects. */
const nsOther = `helm-other-${id}`;
/** The account whose namespace the API creates (as the API's ServiceAccount would). */
const account = `helm-${id}`;

const CHARTS = join(REPO_ROOT, 'charts');
const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
};
// Every cluster node is a (simulated) GPU node with the vendor taint; the operator's pods tolerate it here.
const SCHEDULING = ['--set', 'tolerations[0].key=nvidia.com/gpu', '--set', 'tolerations[0].operator=Exists', '--set', 'tolerations[0].effect=NoSchedule'];
const DB_SECRET = 'hearth-database';

let bin = '';
const env = (): NodeJS.ProcessEnv => ({ ...process.env, KUBECONFIG: kubeconfigPath() });

async function helm(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(join(bin, 'helm'), args, { env: env(), maxBuffer: 64 << 20, timeout: 300_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  }
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(join(bin, 'kubectl'), args, { env: env(), maxBuffer: 64 << 20, timeout: 60_000 });
  return stdout;
}

async function helmFails(...args: string[]): Promise<string> {
  try {
    await helm(...args);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`helm ${args.join(' ')} succeeded; expected a failure`);
}

/** State of a namespace for failure messages: workloads, pods, events. */
async function dump(namespace: string): Promise<string> {
  const parts = await Promise.allSettled([
    kubectl('-n', namespace, 'get', 'deploy,rs,pods,svc,sa,role,rolebinding,pdb,cm', '-o', 'wide'),
    kubectl('-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp'),
    kubectl('-n', namespace, 'describe', 'pods'),
  ]);
  return parts.map((p) => (p.status === 'fulfilled' ? p.value : String(p.reason))).join('\n');
}

async function withDump<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- state of ${namespace} ---\n${await dump(namespace)}`, { cause: e });
  }
}

function docs(yaml: string): KubernetesObject[] {
  return (loadAllYaml(yaml) as (KubernetesObject | null)[]).filter((d): d is KubernetesObject => !!d && typeof d === 'object');
}

// ---- RBAC expectations: derived from the API calls in src/ (see charts/hearth/templates/rbac) ----

type Process = 'controller' | 'api' | 'gateway';
const PROCESSES: Process[] = ['controller', 'api', 'gateway'];
/** The Lease of the controller manager: deploymentManager's default name (controllers/deployment/controller.ts). */
const LEASE = 'hearth-deployment-controller';

/** `group/resource[/name]: verbs`, cluster-wide rules (visible in every namespace). */
const CLUSTER_RULES: Record<Process, Record<string, string[]>> = {
  controller: {
    // get: a Deployment that left the cache is confirmed gone before its quota holds go (no finalizer).
    'hearth.dev/deployments': ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    'hearth.dev/deployments/status': ['update'],
    // The DeployedModel controller: its objects (finalizers by merge patch), their status, and the
    // Ready replicas from Hearth's EndpointSlices.
    'hearth.dev/deployedmodels': ['list', 'watch', 'patch'],
    'hearth.dev/deployedmodels/status': ['update'],
    'discovery.k8s.io/endpointslices': ['list', 'watch'],
    'hearth.dev/batchinferencejobs': ['list', 'watch', 'patch'],
    'hearth.dev/batchinferencejobs/status': ['update'],
    // The NodePool controller: its objects and status, who uses them, the simulated nodes it makes,
    // the overprovisioning PriorityClass and Karpenter NodePools.
    'hearth.dev/nodepools': ['list', 'watch', 'patch'],
    'hearth.dev/nodepools/status': ['update'],
    'hearth.dev/environments': ['list', 'watch'],
    'hearth.dev/batchjobs': ['list', 'watch'],
    // The Environment and BatchJob controllers: status, an environment's rank pods, a finished rank's output.
    'hearth.dev/environments/status': ['update'],
    'hearth.dev/batchjobs/status': ['update'],
    '/pods/log': ['get'],
    // The SFTJob controller: its objects' status, the trainer's Job and its token Secrets (create only).
    'hearth.dev/sftjobs': ['list', 'watch'],
    'hearth.dev/sftjobs/status': ['update'],
    'batch/jobs': ['list', 'watch', 'create', 'delete'],
    '/secrets': ['create'],
    'scheduling.k8s.io/priorityclasses': ['list', 'watch', 'create'],
    'karpenter.sh/nodepools': ['get', 'create', 'update', 'delete'],
    'apps/deployments': ['list', 'watch', 'create', 'update', 'delete'],
    '/services': ['list', 'watch', 'create', 'update', 'delete'],
    '/pods': ['list', 'watch', 'create', 'delete'],
    '/nodes': ['list', 'watch', 'create', 'delete'],
    '/namespaces': ['list', 'watch'],
    '/events': ['create', 'patch'], // a repeated event patches its count (writer.ts)
  },
  api: {
    ...Object.fromEntries(
      ['deployments', 'deployedmodels', 'nodepools', 'environments', 'batchjobs', 'sftjobs', 'batchinferencejobs'].map((r) => [`hearth.dev/${r}`, ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']]),
    ),
    '/namespaces': ['create', 'get', 'patch'], // create sealed; on 409 read to check the seal; seal one made before seals (namespaces.ts)
    'networking.k8s.io/networkpolicies': ['create'], // the model-server policy of each account namespace
    '/pods': ['list'], // a running batch job's rank pods, for :getLogs
    '/pods/log': ['get'],
  },
  gateway: {
    '/namespaces': ['list', 'watch'],
    '/services': ['list', 'watch'], // only Hearth's (label selector): the owners of the slices it dials

    'hearth.dev/deployments': ['list', 'watch'],
    'hearth.dev/deployedmodels': ['list', 'watch'],
    'discovery.k8s.io/endpointslices': ['list', 'watch'],
  },
};

/** Rules in the release namespace only (Roles): leader election on its one Lease; finding the gateways to scrape. */
function namespacedRules(p: Process): Record<string, string[]> {
  return p === 'controller'
    ? { 'coordination.k8s.io/leases': ['create'], [`coordination.k8s.io/leases#${LEASE}`]: ['get', 'update', 'list', 'watch'], 'discovery.k8s.io/endpointslices': ['list'] } // + the gateway admin Service's slices (autoscaler load scrape)
    : {};
}

function expand(rules: Record<string, string[]>): Set<string> {
  const out = new Set<string>();
  for (const [res, verbs] of Object.entries(rules)) for (const v of verbs) out.add(`${res}:${v}`);
  return out;
}

/** A KubeConfig that acts as `user` (client-node sends Impersonate-User; the API server adds a
 * ServiceAccount's groups itself). */
function kubeConfigAs(user: string): KubeConfig {
  const as = new KubeConfig();
  as.loadFromOptions({
    clusters: kc.clusters,
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext(),
    users: kc.users.map((u) => ({ ...u, impersonateUser: user })),
  });
  return as;
}

const saUser = (namespace: string, name: string): string => `system:serviceaccount:${namespace}:${name}`;

/** What `user` may do in `namespace`, as `group/resource[#name]:verb`, from a SelfSubjectRulesReview. */
async function rulesOf(user: string, namespace: string): Promise<Set<string>> {
  const r = await kubeConfigAs(user).makeApiClient(AuthorizationV1Api).createSelfSubjectRulesReview({ body: { spec: { namespace } } });
  expect(r.status?.incomplete, r.status?.evaluationError).toBe(false);
  const out = new Set<string>();
  for (const rule of r.status?.resourceRules ?? []) {
    const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
    for (const g of rule.apiGroups ?? [''])
      for (const res of rule.resources ?? [])
        for (const n of names) for (const v of rule.verbs) out.add(`${g}/${res}${n ? `#${n}` : ''}:${v}`);
  }
  return out;
}

/** Rules of `user` beyond what every ServiceAccount of a namespace gets (discovery, self-reviews, …). */
async function ownRules(user: string, namespace: string, baselineUser: string): Promise<string[]> {
  const [mine, base] = await Promise.all([rulesOf(user, namespace), rulesOf(baselineUser, namespace)]);
  return [...mine].filter((r) => !base.has(r)).sort();
}

interface Check {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

async function allowed(user: string, c: Check): Promise<boolean> {
  const [, saNs] = user.split(':');
  const r = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${saNs}`, 'system:authenticated'],
        resourceAttributes: { verb: c.verb, group: c.group ?? '', resource: c.resource, subresource: c.subresource, namespace: c.namespace, name: c.name },
      },
    },
  });
  return r.status?.allowed === true;
}

const show = (c: Check): string =>
  `${c.verb} ${c.group ? `${c.group}/` : ''}${c.resource}${c.subresource ? `/${c.subresource}` : ''}${c.name ? ` ${c.name}` : ''} in ${c.namespace ?? '(cluster)'}`;

/** Calls outside every role: nobody reads Secrets, escalates, execs into pods or deletes namespaces. */
const FORBIDDEN_FOR_ALL: Check[] = [
  { verb: 'list', resource: 'secrets' },
  { verb: 'watch', resource: 'secrets' },
  { verb: 'get', resource: 'secrets', namespace: ns, name: DB_SECRET },
  { verb: 'get', resource: 'secrets', namespace: 'kube-system' },
  { verb: 'list', resource: 'configmaps' },
  { verb: 'create', resource: 'pods', subresource: 'exec', namespace: nsOther },
  { verb: 'delete', resource: 'namespaces', name: nsOther },
  { verb: 'patch', resource: 'nodes' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'impersonate', resource: 'serviceaccounts' },
  { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: ns },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' },
  { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
];

const FORBIDDEN: Record<Process, Check[]> = {
  controller: [
    { verb: 'create', resource: 'namespaces' },
    { verb: 'create', group: 'hearth.dev', resource: 'nodepools' },
    // No create here: the batch inference controller creates (and deletes) the deployment of a job
    // that names a base model (CLUSTER_RULES above). Replacing a user's deployment stays forbidden.
    { verb: 'update', group: 'hearth.dev', resource: 'deployments', namespace: nsOther },
    { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: nsOther },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: nsOther },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: 'someone-else' },
    { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: LEASE },
    { verb: 'patch', resource: 'pods', namespace: nsOther },
    { verb: 'patch', group: 'apps', resource: 'deployments', namespace: nsOther },
    { verb: 'patch', resource: 'services', namespace: nsOther },
  ],
  api: [
    { verb: 'create', resource: 'pods', namespace: nsOther },
    { verb: 'watch', resource: 'pods' },
    { verb: 'list', resource: 'nodes' },
    { verb: 'list', resource: 'namespaces' },
    { verb: 'delete', resource: 'namespaces', name: nsOther },
    { verb: 'update', group: 'hearth.dev', resource: 'deployments', subresource: 'status', namespace: nsOther },
    { verb: 'create', group: 'apps', resource: 'deployments', namespace: nsOther },
    { verb: 'create', resource: 'services', namespace: nsOther },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns },
    { verb: 'create', resource: 'events', namespace: nsOther },
    // The API creates NodePools (REST nodePools); only the controller writes their status.
    { verb: 'update', group: 'hearth.dev', resource: 'nodepools', subresource: 'status', namespace: nsOther },
  ],
  gateway: [
    { verb: 'create', resource: 'pods', namespace: nsOther },
    { verb: 'get', resource: 'pods', subresource: 'log', namespace: nsOther },
    { verb: 'create', group: 'hearth.dev', resource: 'nodepools' },
    { verb: 'create', group: 'apps', resource: 'deployments', namespace: nsOther },
    { verb: 'patch', group: 'apps', resource: 'deployments', namespace: nsOther },
    { verb: 'delete', group: 'apps', resource: 'deployments', namespace: nsOther },
    { verb: 'create', group: 'hearth.dev', resource: 'deployments', namespace: nsOther },
    { verb: 'patch', group: 'hearth.dev', resource: 'deployments', namespace: nsOther },
    { verb: 'update', group: 'hearth.dev', resource: 'deployments', subresource: 'status', namespace: nsOther },
    { verb: 'get', group: 'hearth.dev', resource: 'deployments', namespace: nsOther, name: 'x' },
    { verb: 'list', resource: 'pods' },
    // Services: list/watch only (Hearth's, by label selector, to check who owns a slice); no writes.
    { verb: 'create', resource: 'services', namespace: nsOther },
    { verb: 'patch', resource: 'services', namespace: nsOther },
    { verb: 'create', resource: 'namespaces' },
    { verb: 'create', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: nsOther },
    { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns },
  ],
};

/** Status code of a client-node error (ApiException.code), or undefined. */
function codeOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown; statusCode?: unknown })?.code ?? (e as { statusCode?: unknown })?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

async function expectCode(p: Promise<unknown>, code: number, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(codeOf(e), `${what}: ${String((e as Error).message).slice(0, 300)}`).toBe(code);
    return;
  }
  throw new Error(`${what}: succeeded; expected HTTP ${code}`);
}

// ---- restricted Pod Security, checked on the rendered spec (the API server checks it again) ----

function restrictedViolations(name: string, spec: V1PodSpec): string[] {
  const v: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push(`${name}: host namespaces`);
  for (const vol of spec.volumes ?? []) {
    const kinds = Object.keys(vol).filter((k) => k !== 'name');
    if (!kinds.every((k) => ['emptyDir', 'configMap', 'secret', 'projected', 'downwardAPI', 'persistentVolumeClaim', 'ephemeral', 'csi'].includes(k)))
      v.push(`${name}: volume ${vol.name} of type ${kinds.join(',')}`);
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc: V1SecurityContext = c.securityContext ?? {};
    const where = `${name}/${c.name}`;
    if (sc.privileged) v.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${where}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${where}: capabilities.drop must include ALL`);
    if ((sc.capabilities?.add ?? []).some((a) => a !== 'NET_BIND_SERVICE')) v.push(`${where}: capabilities.add`);
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) v.push(`${where}: runAsNonRoot`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) v.push(`${where}: runAsUser 0`);
    if ((sc.seccompProfile?.type ?? pod.seccompProfile?.type) !== 'RuntimeDefault') v.push(`${where}: seccompProfile RuntimeDefault`);
    // Beyond `restricted`: Hearth's own bar.
    if (sc.readOnlyRootFilesystem !== true) v.push(`${where}: readOnlyRootFilesystem`);
    if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory) v.push(`${where}: resources`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${where}: hostPort`);
  }
  return v;
}

function deploymentsIn(yaml: string): V1Deployment[] {
  return docs(yaml).filter((d) => d.kind === 'Deployment') as V1Deployment[];
}

// ---- lifecycle ----

const cleanups: Array<() => Promise<unknown>> = [];
let crdOwnershipBefore: Map<string, { managedBy?: string }> = new Map();

beforeAll(async () => {
  bin = (await run('bash', [join(REPO_ROOT, 'hack/build-bins.sh')], { maxBuffer: 16 << 20 })).stdout.trim().split('\n').pop() ?? '';
  await createTestNamespace(kc, ns, RESTRICTED);
  await createTestNamespace(kc, nsAll, RESTRICTED);
  await createTestNamespace(kc, nsOther);
  // The chart only references this Secret; nothing runs, so the URL needs to reach nothing.
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: DB_SECRET }, stringData: { DATABASE_URL: 'postgres://hearth@postgres.invalid:5432/hearth' } },
  });
  const crds = await ext.listCustomResourceDefinition();
  crdOwnershipBefore = new Map(
    crds.items.filter((c) => c.spec.group === GROUP).map((c) => [c.metadata?.name ?? '', { managedBy: c.metadata?.labels?.['app.kubernetes.io/managed-by'] }]),
  );
}, 600_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const n of [ns, nsAll, nsOther, accountNamespace(account)]) await core.deleteNamespace({ name: n }).catch(() => undefined);
  // Cluster-scoped leftovers of a failed run (uninstall normally removes them).
  for (const r of [release, releaseAll]) {
    const sel = `app.kubernetes.io/instance=${r}`;
    await rbac.deleteCollectionClusterRoleBinding({ labelSelector: sel }).catch(() => undefined);
    await rbac.deleteCollectionClusterRole({ labelSelector: sel }).catch(() => undefined);
  }
  await releaseCrdOwnership();
}, 180_000);

/** Removes what `helm install --take-ownership` added to the shared CRDs (they stay installed). */
async function releaseCrdOwnership(): Promise<void> {
  const crds = await ext.listCustomResourceDefinition();
  for (const c of crds.items) {
    const ann = c.metadata?.annotations ?? {};
    if (ann['meta.helm.sh/release-name'] !== crdsRelease) continue;
    const name = c.metadata?.name ?? '';
    const labels = crdOwnershipBefore.get(name)?.managedBy === undefined ? { 'app.kubernetes.io/managed-by': null } : {};
    await ext.patchCustomResourceDefinition(
      { name, body: { metadata: { annotations: { 'meta.helm.sh/release-name': null, 'meta.helm.sh/release-namespace': null }, labels } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

describe('charts/hearth and charts/hearth-crds', () => {
  it('pass helm lint --strict in both modes', async () => {
    await helm('lint', '--strict', join(CHARTS, 'hearth-crds'));
    await helm('lint', '--strict', join(CHARTS, 'hearth'));
    await helm('lint', '--strict', join(CHARTS, 'hearth'), '--set', 'mode=all', '--set', 'database.existingSecret=');
  });

  it('render, and refuse value combinations that cannot work, saying why', async () => {
    const crds = docs(await helm('template', 'c', join(CHARTS, 'hearth-crds')));
    expect(crds.filter((d) => d.kind === 'CustomResourceDefinition').map((d) => d.metadata?.name).sort()).toEqual(
      ['batchinferencejobs', 'batchjobs', 'deployedmodels', 'deployments', 'environments', 'nodepools', 'sftjobs'].map((p) => `${p}.hearth.dev`),
    );
    const split = docs(await helm('template', 'hearth', join(CHARTS, 'hearth'), '-n', 'hearth-system'));
    expect(split.filter((d) => d.kind === 'Deployment').map((d) => d.metadata?.name)).toEqual(['hearth-controller', 'hearth-api', 'hearth-gateway']);
    expect(split.filter((d) => d.kind === 'ServiceAccount').map((d) => d.metadata?.name)).toEqual(['hearth-controller', 'hearth-api', 'hearth-gateway']);
    // No literal credentials anywhere: the database URL comes from a Secret reference only.
    for (const d of deploymentsIn(await helm('template', 'hearth', join(CHARTS, 'hearth'))))
      for (const c of d.spec?.template.spec?.containers ?? []) {
        const db = c.env?.find((e) => e.name === 'DATABASE_URL');
        expect(db?.value).toBeUndefined();
        expect(db?.valueFrom?.secretKeyRef).toEqual({ name: DB_SECRET, key: 'DATABASE_URL' });
      }
    const all = deploymentsIn(await helm('template', 'hearth', join(CHARTS, 'hearth'), '--set', 'mode=all', '--set', 'database.existingSecret='));
    expect(all.map((d) => d.metadata?.name)).toEqual(['hearth']);
    const ports = all[0]?.spec?.template.spec?.containers[0]?.ports?.map((p) => `${p.name}:${p.containerPort}`);
    expect(ports).toEqual(['http:8080', 'inference:8081', 'admin:9091']);
    // The Grafana dashboard (issue 17 item 8): a ConfigMap the Grafana sidecar picks up, holding the JSON verbatim.
    const dashboards = split.filter((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'hearth-grafana-dashboard') as (KubernetesObject & { data?: Record<string, string> })[];
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.metadata?.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboards[0]!.data?.['hearth-deployments.json'] ?? '')).toEqual(JSON.parse(readFileSync(join(CHARTS, 'hearth', 'dashboards', 'hearth-deployments.json'), 'utf8')));
    expect(docs(await helm('template', 'hearth', join(CHARTS, 'hearth'), '--set', 'grafanaDashboard.enabled=false')).filter((d) => d.metadata?.name === 'hearth-grafana-dashboard')).toEqual([]);

    expect(await helmFails('template', 'h', join(CHARTS, 'hearth'), '--set', 'database.existingSecret=')).toMatch(/database.existingSecret is required in mode=split/);
    expect(await helmFails('template', 'h', join(CHARTS, 'hearth'), '--set', 'mode=all', '--set', 'database.existingSecret=', '--set', 'all.replicas=2')).toMatch(
      /embedded PGlite is per process/,
    );
    expect(await helmFails('template', 'h', join(CHARTS, 'hearth'), '--set', 'mode=both')).toMatch(/mode must be "split" or "all"/);

    // kubeApiServer + hostAliases: where pods cannot reach the `kubernetes` Service (no kube-proxy).
    for (const d of deploymentsIn(await helm('template', 'hearth', join(CHARTS, 'hearth')))) {
      expect(d.spec?.template.spec?.hostAliases).toBeUndefined();
      expect(d.spec?.template.spec?.containers[0]?.env?.map((e) => e.name)).not.toContain('KUBERNETES_SERVICE_HOST');
    }
    const direct = deploymentsIn(
      await helm('template', 'hearth', join(CHARTS, 'hearth'), '--set', 'kubeApiServer.host=kubernetes.default.svc', '--set', 'kubeApiServer.port=6443',
        '--set', 'hostAliases[0].ip=10.0.0.1', '--set', 'hostAliases[0].hostnames[0]=kubernetes.default.svc'),
    );
    for (const d of direct) {
      const env = d.spec?.template.spec?.containers[0]?.env ?? [];
      expect(env.filter((e) => e.name.startsWith('KUBERNETES_SERVICE_')).map((e) => `${e.name}=${e.value}`)).toEqual(['KUBERNETES_SERVICE_HOST=kubernetes.default.svc', 'KUBERNETES_SERVICE_PORT=6443']);
      expect(d.spec?.template.spec?.hostAliases).toEqual([{ ip: '10.0.0.1', hostnames: ['kubernetes.default.svc'] }]);
    }
    expect(await helmFails('template', 'h', join(CHARTS, 'hearth'), '--set', 'kubeApiServer.host=api.example')).toMatch(/kubeApiServer.port is required/);

    // modelServerConfig: the operator's settings file, mounted into the controller pods only.
    const settings = { servers: { cpu: { image: 'example.com/cpu-server:1', cpu: '100m', memory: '256Mi' } } };
    const withSettings = docs(await helm('template', 'hearth', join(CHARTS, 'hearth'), '--set-json', `modelServerConfig=${JSON.stringify(settings)}`));
    const cm = withSettings.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'hearth-model-servers') as { data?: Record<string, string> } | undefined;
    expect(loadYaml(cm?.data?.['model-servers.yaml'] ?? '')).toEqual(settings);
    for (const d of withSettings.filter((x): x is V1Deployment => x.kind === 'Deployment')) {
      const c = d.spec!.template.spec!.containers[0]!;
      const file = c.env?.find((e) => e.name === 'HEARTH_MODEL_SERVER_CONFIG_FILE')?.value;
      if (d.metadata?.name === 'hearth-controller') {
        expect(file).toBe('/etc/hearth/model-servers/model-servers.yaml');
        expect(c.volumeMounts?.find((m) => m.name === 'model-servers')).toEqual({ name: 'model-servers', mountPath: '/etc/hearth/model-servers', readOnly: true });
      } else expect(file, d.metadata?.name).toBeUndefined();
    }
    expect(docs(await helm('template', 'hearth', join(CHARTS, 'hearth'))).some((d) => d.metadata?.name === 'hearth-model-servers')).toBe(false);
    expect(await helmFails('template', 'h', join(CHARTS, 'hearth'), '--kube-version', '1.29.9')).toMatch(/kubeVersion/i);
  });

  it('serves /metrics only on the gateway admin port: never published by the public Service, admitted only to the controller and metrics.from', async () => {
    for (const mode of [[], ['--set', 'mode=all', '--set', 'database.existingSecret=']]) {
      const objs = docs(
        await helm('template', 'hearth', join(CHARTS, 'hearth'), ...mode, '--set', 'metrics.tokenSecret.existingSecret=prom-token', '--set', 'metrics.serviceMonitor.enabled=true'),
      ) as Array<KubernetesObject & { spec?: Record<string, unknown> }>;
      const svc = (name: string) => objs.find((d) => d.kind === 'Service' && d.metadata?.name === name) as { spec: { ports: Array<{ name: string; port: number }> } };
      expect(svc('hearth-gateway').spec.ports.map((p) => p.name)).toEqual(['inference']);
      expect(svc('hearth-api').spec.ports.map((p) => p.name)).toEqual(['http']);
      expect(svc('hearth-gateway-admin').spec.ports).toMatchObject([{ name: 'admin', port: 9091 }]);
      const gwDeploy = objs.find((d) => d.kind === 'Deployment' && (d.metadata?.name === 'hearth-gateway' || d.metadata?.name === 'hearth')) as V1Deployment;
      const env = gwDeploy.spec?.template.spec?.containers[0]?.env ?? [];
      expect(env.find((e) => e.name === 'HEARTH_GATEWAY_ADMIN_PORT')?.value).toBe('9091');
      expect(env.find((e) => e.name === 'HEARTH_METRICS_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'prom-token', key: 'HEARTH_METRICS_TOKEN' });
      const sm = objs.find((d) => d.kind === 'ServiceMonitor') as { spec: { endpoints: Array<Record<string, unknown>> } } | undefined;
      expect(sm?.spec.endpoints).toEqual([{ port: 'admin', path: '/metrics', interval: '30s', bearerTokenSecret: { name: 'prom-token', key: 'HEARTH_METRICS_TOKEN' } }]);
      // The admin port's ingress rule always names its peers: never "anyone".
      // (loadAllYaml gives client-node's models: `from` is `_from`.)
      for (const np of objs.filter((d) => d.kind === 'NetworkPolicy') as Array<{ spec: { ingress?: Array<{ ports?: Array<{ port: number }>; _from?: unknown[] }> } }>)
        for (const rule of np.spec.ingress ?? []) if (rule.ports?.some((p) => p.port === 9091)) expect(rule._from?.length ?? 0).toBeGreaterThan(0);
    }
    // No ServiceMonitor unless asked (the CRD may not exist).
    expect(docs(await helm('template', 'hearth', join(CHARTS, 'hearth'))).some((d) => d.kind === 'ServiceMonitor')).toBe(false);
  });

  it('restricts egress too, admits no one by default from outside the cluster, and tells the API who may reach model servers', async () => {
    // loadAllYaml gives client-node's models: `from` is `_from`.
    type Rule = { ports?: Array<{ port: number }>; _from?: unknown[]; to?: unknown[] };
    for (const mode of [[], ['--set', 'mode=all', '--set', 'database.existingSecret=']]) {
      const objs = docs(await helm('template', 'hearth', join(CHARTS, 'hearth'), '-n', 'hearth-system', ...mode)) as Array<KubernetesObject & { spec?: { policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] } }>;
      const policies = objs.filter((d) => d.kind === 'NetworkPolicy');
      expect(policies.length).toBeGreaterThan(0);
      for (const np of policies) {
        expect(np.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
        for (const rule of np.spec?.ingress ?? []) expect(rule._from?.length ?? 0, `${np.metadata?.name}: an ingress rule without peers admits anyone`).toBeGreaterThan(0);
        expect(np.spec?.egress?.length).toBeGreaterThan(0);
      }
      const api = objs.find((d) => d.kind === 'Deployment' && (d.metadata?.name === 'hearth-api' || d.metadata?.name === 'hearth')) as V1Deployment;
      const peers = JSON.parse(api.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'HEARTH_MODEL_SERVER_INGRESS_FROM')?.value ?? '[]') as Array<{ podSelector: { matchLabels: Record<string, string> } }>;
      expect(peers.map((p) => p.podSelector.matchLabels['app.kubernetes.io/component']).sort()).toEqual(mode.length ? ['all'] : ['controller', 'gateway']);
      for (const p of peers) expect(p).toMatchObject({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'hearth-system' } } });
    }
    const open = docs(await helm('template', 'hearth', join(CHARTS, 'hearth'), '--set', 'networkPolicy.allowFromAnywhere=true')) as Array<KubernetesObject & { spec?: { ingress?: Rule[] } }>;
    const gw = open.find((d) => d.kind === 'NetworkPolicy' && d.metadata?.name === 'hearth-gateway');
    expect(gw?.spec?.ingress?.[0]?._from).toBeUndefined(); // asked for: the public port open to anyone
    expect(gw?.spec?.ingress?.[1]?._from?.length).toBeGreaterThan(0); // never the admin port
  });

  it('renders only pod specs that meet the restricted Pod Security Standard (and a read-only root)', async () => {
    const variants = [[], ['--set', 'mode=all', '--set', 'database.existingSecret='], ['--set', 'podDisruptionBudget.enabled=true', ...SCHEDULING]];
    for (const extra of variants) {
      const rendered = deploymentsIn(await helm('template', 'hearth', join(CHARTS, 'hearth'), ...extra));
      expect(rendered.length).toBeGreaterThan(0);
      for (const d of rendered) expect(restrictedViolations(d.metadata?.name ?? '', d.spec!.template.spec!)).toEqual([]);
    }
  });

  it('rbac.managedNamespaces: the controller\'s namespaced writes move into a Role in each listed namespace, and nothing else changes (issue 15 item 6)', async () => {
    type Rule = { apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[] };
    type RbacDoc = KubernetesObject & { rules?: Rule[]; subjects?: { name: string; namespace?: string }[]; roleRef?: { kind: string; name: string } };
    const flat = (rules: Rule[] = []): string[] =>
      rules.flatMap((r) => (r.apiGroups ?? ['']).flatMap((g) => (r.resources ?? []).flatMap((res) => (r.verbs ?? []).map((v) => `${g}/${res}:${v}`)))).sort();
    const controllerRbac = async (...extra: string[]) => {
      const objs = docs(await helm('template', 'hearth', join(CHARTS, 'hearth'), '-n', 'hearth-system', ...extra)) as RbacDoc[];
      const clusterRole = objs.find((d) => d.kind === 'ClusterRole' && d.metadata?.name?.endsWith('-controller'))!;
      const roles = objs.filter((d) => d.kind === 'Role' && d.metadata?.name === clusterRole.metadata?.name);
      const bindings = objs.filter((d) => d.kind === 'RoleBinding' && d.metadata?.name === clusterRole.metadata?.name);
      return { cluster: flat(clusterRole.rules), roles, bindings };
    };
    for (const mode of [[], ['--set', 'mode=all', '--set', 'database.existingSecret=']]) {
      const wide = await controllerRbac(...mode);
      expect(wide.roles).toEqual([]);
      const scoped = await controllerRbac(...mode, '--set', 'rbac.managedNamespaces={acct-a,acct-b}');
      expect(scoped.roles.map((r) => r.metadata?.namespace).sort()).toEqual(['acct-a', 'acct-b']);
      expect(scoped.bindings.map((b) => b.metadata?.namespace).sort()).toEqual(['acct-a', 'acct-b']);
      const inNamespace = flat(scoped.roles[0]!.rules);
      expect(flat(scoped.roles[1]!.rules)).toEqual(inNamespace);
      // The same permissions in the listed namespaces, split: none lost, none granted twice.
      expect([...scoped.cluster, ...inNamespace].sort()).toEqual(wide.cluster);
      expect(scoped.cluster.filter((r) => inNamespace.includes(r))).toEqual([]);
      // Cluster-wide, only reads (get: a deployment that left the cache) and the cluster-scoped writes remain.
      const namespacedWrites = scoped.cluster.filter((r) => !/:(get|list|watch)$/.test(r) && !/^(\/nodes|scheduling\.k8s\.io\/priorityclasses|karpenter\.sh\/nodepools):/.test(r));
      expect(namespacedWrites).toEqual([]);
      for (const w of ['apps/deployments:create', '/secrets:create', '/events:create', 'hearth.dev/deployments/status:update', '/pods:create']) expect(inNamespace).toContain(w);
      // Bound to the controller's ServiceAccount (mode=all: the one pod's), in the release namespace.
      const wideBinding = (docs(await helm('template', 'hearth', join(CHARTS, 'hearth'), '-n', 'hearth-system', ...mode)) as RbacDoc[]).find((d) => d.kind === 'ClusterRoleBinding' && d.roleRef?.name?.endsWith('-controller'))!;
      for (const b of scoped.bindings) expect(b.subjects).toEqual(wideBinding.subjects);
    }
  });

  it('manifests/rbac/ is the current render of the chart (npm run gen:manifests)', async () => {
    const { stdout } = await run('bash', [join(REPO_ROOT, 'hack/gen-manifests.sh'), '--check'], { env: { ...env(), HELM: join(bin, 'helm') } }).catch((e: { stderr?: string }) => {
      throw new Error(`manifests/rbac/ is stale:\n${e.stderr ?? String(e)}`);
    });
    expect(stdout).toMatch(/up to date/);
  });
});

describe('helm install into the simulated cluster', () => {
  let installed = false;
  let installedAll = false;

  it('installs hearth-crds, then hearth (split) with --wait into a namespace enforcing restricted', async () => {
    cleanups.push(() => helm('uninstall', crdsRelease, '-n', ns, '--wait', '--timeout', '60s'));
    await withDump(ns, () => helm('install', crdsRelease, join(CHARTS, 'hearth-crds'), '-n', ns, '--take-ownership', '--wait', '--timeout', '120s'));
    cleanups.push(() => helm('uninstall', release, '-n', ns, '--wait', '--timeout', '60s'));
    await withDump(ns, () =>
      helm('install', release, join(CHARTS, 'hearth'), '-n', ns, '--wait', '--timeout', '180s', '--set', 'podDisruptionBudget.enabled=true', ...SCHEDULING),
    );
    installed = true;

    await withDump(ns, async () => {
      for (const p of PROCESSES) {
        const d = await apps.readNamespacedDeployment({ namespace: ns, name: `${release}-${p}` });
        expect(d.status?.readyReplicas, `${p} ready replicas`).toBe(2);
        expect(d.spec?.template.spec?.serviceAccountName).toBe(`${release}-${p}`);
      }
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${release}` });
      expect(pods.items).toHaveLength(6);
      for (const pod of pods.items) expect(pod.status?.phase, pod.metadata?.name).toBe('Running');
      const pdbs = await kubectl('-n', ns, 'get', 'pdb', '-o', 'name');
      expect(pdbs.trim().split('\n').sort()).toEqual(PROCESSES.map((p) => `poddisruptionbudget.policy/${release}-${p}`).sort());
      const policies = await kubectl('-n', ns, 'get', 'networkpolicy', '-o', 'name');
      expect(policies.trim().split('\n').sort()).toEqual(PROCESSES.map((p) => `networkpolicy.networking.k8s.io/${release}-${p}`).sort());
      const svcs = await core.listNamespacedService({ namespace: ns });
      // + the gateway admin Service (headless; the controller's autoscaler scrapes load there).
      expect(svcs.items.map((s) => s.metadata?.name).sort()).toEqual([`${release}-api`, `${release}-gateway`, `${release}-gateway-admin`]);
    });
    const notes = await helm('get', 'notes', release, '-n', ns);
    expect(notes).toContain(`port-forward service/${release}-api`);
    expect(notes).toContain('bootstrap --account');
  }, 420_000);

  it('the API server admits every rendered pod spec under restricted, and rejects a pod that is not', async () => {
    expect(installed).toBe(true);
    const manifest = await helm('get', 'manifest', release, '-n', ns);
    const deployments = deploymentsIn(manifest);
    expect(deployments).toHaveLength(3);
    for (const d of deployments) {
      const spec = d.spec!.template.spec!;
      await withDump(ns, () =>
        core.createNamespacedPod({ namespace: ns, dryRun: 'All', body: { metadata: { name: `psa-${d.metadata?.name}`, labels: {} }, spec } }),
      );
    }
    // Control: the namespace really enforces restricted.
    await expectCode(
      core.createNamespacedPod({ namespace: ns, dryRun: 'All', body: { metadata: { name: 'psa-control' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } }),
      403,
      'a pod without a security context',
    );
  });

  it('gives each ServiceAccount exactly the rules its process needs', async () => {
    expect(installed).toBe(true);
    const baseline = saUser(ns, 'default');
    for (const p of PROCESSES) {
      const user = saUser(ns, `${release}-${p}`);
      const inRelease = [...new Set([...expand(CLUSTER_RULES[p]), ...expand(namespacedRules(p))])].sort();
      expect(await ownRules(user, ns, baseline), `${p} in ${ns}`).toEqual(inRelease);
      expect(await ownRules(user, nsOther, baseline), `${p} in ${nsOther}`).toEqual([...expand(CLUSTER_RULES[p])].sort());
    }
  });

  it('forbids everything outside those rules: no Secrets, no escalation, no writes for the gateway', async () => {
    expect(installed).toBe(true);
    const wrong: string[] = [];
    for (const p of PROCESSES) {
      const user = saUser(ns, `${release}-${p}`);
      for (const c of [...FORBIDDEN_FOR_ALL, ...FORBIDDEN[p]]) if (await allowed(user, c)) wrong.push(`${p} may ${show(c)}`);
      // ...and each allowed rule really is usable at the scope the code uses (all namespaces).
      for (const [res, verbs] of Object.entries(CLUSTER_RULES[p])) {
        const [group = '', resource = '', subresource] = res.split('/');
        for (const verb of verbs) if (!(await allowed(user, { verb, group, resource, subresource }))) wrong.push(`${p} may not ${verb} ${res} cluster-wide`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('lets the controller do what its code does: informers, child writes, status, one Lease', async () => {
    expect(installed).toBe(true);
    const as = kubeConfigAs(saUser(ns, `${release}-controller`));
    const clients = new KubeClients(as);
    // The informers of the Deployment controller (controllers/deployment/controller.ts), all namespaces.
    const refs: ResourceRef[] = [
      { group: GROUP, version: VERSION, plural: 'deployments' },
      { group: 'apps', version: 'v1', plural: 'deployments' },
      { group: '', version: 'v1', plural: 'services' },
      { group: '', version: 'v1', plural: 'pods' },
      { group: '', version: 'v1', plural: 'nodes', labelSelector: ACCELERATOR_LABEL },
      { group: '', version: 'v1', plural: 'namespaces' },
      // …and of the DeployedModel controller (controllers/deployed-model/cache.ts).
      { group: GROUP, version: VERSION, plural: 'deployedmodels' },
      { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', labelSelector: LABELS.deployment },
      // …and of the NodePool controller (controllers/node-pool/cache.ts).
      { group: GROUP, version: VERSION, plural: 'nodepools' },
      { group: GROUP, version: VERSION, plural: 'environments' },
      { group: GROUP, version: VERSION, plural: 'batchjobs' },
      { group: '', version: 'v1', plural: 'nodes', labelSelector: 'hearth.dev/node-pool' },
      { group: '', version: 'v1', plural: 'pods', labelSelector: 'hearth.dev/node-pool' },
      { group: 'scheduling.k8s.io', version: 'v1', plural: 'priorityclasses', fieldSelector: 'metadata.name=hearth-overprovisioning' },
    ];
    const informers = refs.map((r) => new Informer(new KubeListWatch(clients, r), { clock: realClock, log, backoff: { initialMs: 100, maxMs: 500 } }));
    try {
      for (const i of informers) i.start();
      await waitFor('the controller informers to sync as the controller', async () => informers.every((i) => i.hasSynced()), { timeoutMs: 30_000 });
    } finally {
      await Promise.all(informers.map((i) => i.stop()));
    }
    // Children (writer.ts): create, guarded replace, delete (dry run: nothing is left behind).
    const objects = clients.objects();
    const child = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'rbac-probe', namespace: nsOther },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    };
    await objects.create(child, undefined, 'All', 'hearth-controller');
    await expectCode(objects.replace(child, undefined, 'All', 'hearth-controller'), 404, 'replace of an absent child (authorised, then not found)');
    await expectCode(objects.patch(child, undefined, 'All', 'hearth-controller', true, PatchStrategy.ServerSideApply), 403, 'server-side apply (not used)');
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'rbac-probe', namespace: nsOther }, spec: { ports: [{ port: 80 }] } };
    await objects.create(svc, undefined, 'All', 'hearth-controller');
    await expectCode(objects.delete(child), 404, 'delete of an absent child (authorised, then not found)');
    // Events (writer.ts event()): created, and a repeat patches the first one's count.
    const events = clients.api(CoreV1Api);
    const ev = await events.createNamespacedEvent({
      namespace: nsOther,
      body: { metadata: { generateName: 'rbac-probe.' }, involvedObject: { kind: 'Deployment', namespace: nsOther, name: 'rbac-probe' }, reason: 'Probe', message: 'rbac', count: 1 },
    });
    const repeated = await events.patchNamespacedEvent({ namespace: nsOther, name: ev.metadata!.name!, body: { count: 2 } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(repeated.count).toBe(2);
    // Status of a hearth.dev Deployment: authorised (404: there is none), and never a spec write.
    const custom = clients.api(CustomObjectsApi);
    const ref = { group: GROUP, version: VERSION, namespace: nsOther, plural: 'deployments', name: 'absent' };
    await expectCode(custom.replaceNamespacedCustomObjectStatus({ ...ref, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: 'absent' } } }), 404, 'status write');
    await expectCode(custom.replaceNamespacedCustomObject({ ...ref, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Deployment', metadata: { name: 'absent' } } }), 403, 'spec replace');
    // The NodePool controller: a simulated node (dry run), a NodePool's status, never a node patch.
    const probeNode = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'hearth-rbac-probe' } };
    await objects.create(probeNode, undefined, 'All', 'hearth-controller');
    await expectCode(objects.delete(probeNode, undefined, 'All'), 404, 'delete of an absent node (authorised, then not found)');
    await expectCode(objects.patch(probeNode, undefined, 'All', 'hearth-controller', undefined, PatchStrategy.MergePatch), 403, 'node patch without nodePools.adoptExistingNodes');
    const npRef = { group: GROUP, version: VERSION, namespace: nsOther, plural: 'nodepools', name: 'absent' };
    await expectCode(custom.replaceNamespacedCustomObjectStatus({ ...npRef, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: 'absent' } } }), 404, 'NodePool status write');
    await expectCode(custom.replaceNamespacedCustomObject({ ...npRef, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'NodePool', metadata: { name: 'absent' } } }), 403, 'NodePool spec replace');
    const dmRef = { group: GROUP, version: VERSION, namespace: nsOther, plural: 'deployedmodels', name: 'absent' };
    await expectCode(custom.replaceNamespacedCustomObjectStatus({ ...dmRef, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: 'absent' } } }), 404, 'DeployedModel status write');
    await expectCode(custom.replaceNamespacedCustomObject({ ...dmRef, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DeployedModel', metadata: { name: 'absent' } } }), 403, 'DeployedModel spec replace');
    // Leader election through the real LeaseClient: its own Lease in the release namespace only.
    const coord = clients.api(CoordinationV1Api);
    const lease = new KubeLeaseClient(coord, ns, LEASE);
    expect(await lease.get()).toBeUndefined();
    const created = await lease.create({ holderIdentity: 'probe', leaseDurationSeconds: 15, acquireTime: Date.now(), renewTime: Date.now(), leaseTransitions: 0 });
    const renewed = await lease.update({ holderIdentity: 'probe', leaseDurationSeconds: 15, renewTime: Date.now() }, created.resourceVersion);
    expect(renewed.record.holderIdentity).toBe('probe');
    // …and its watch (list/watch by metadata.name), which sees the next renewal.
    const seen: Array<string | undefined> = [];
    const unwatch = new KubeLeaseClient(coord, ns, LEASE, { clients, clock: realClock, log }).watch!((l) => seen.push(l?.record.holderIdentity));
    try {
      await waitFor('the Lease watch to list it', async () => seen.length > 0, { timeoutMs: 20_000 });
      await lease.update({ holderIdentity: 'probe-2', leaseDurationSeconds: 15, renewTime: Date.now() }, renewed.resourceVersion);
      await waitFor('the Lease watch to see the renewal', async () => seen.includes('probe-2'), { timeoutMs: 20_000 });
    } finally {
      unwatch();
    }
    await expectCode(new KubeLeaseClient(coord, nsOther, LEASE).create({ holderIdentity: 'probe' }), 403, 'a Lease in another namespace');
    await expectCode(new KubeLeaseClient(coord, ns, 'someone-else').get(), 403, 'another Lease');
    // Secrets: never.
    const secrets = clients.api(CoreV1Api);
    await expectCode(secrets.listSecretForAllNamespaces(), 403, 'list secrets');
    await expectCode(secrets.readNamespacedSecret({ namespace: ns, name: DB_SECRET }), 403, 'read the database secret');
  });

  it('lets the API do what its code does: account namespaces, hearth.dev Deployments through its watch-fed store', async () => {
    expect(installed).toBe(true);
    const as = kubeConfigAs(saUser(ns, `${release}-api`));
    // api/kube/namespaces.ts, twice (the second create answers 409 and is fine).
    cleanups.push(() => core.deleteNamespace({ name: accountNamespace(account) }));
    const name = await ensureAccountNamespace(as, account, { seal: TEST_SEAL });
    await ensureAccountNamespace(as, account, { seal: TEST_SEAL });
    const nsObj = await core.readNamespace({ name });
    expect(nsObj.metadata?.labels?.[LABELS.account]).toBe(account);
    expect(TEST_SEAL.tenancyOf(nsObj)).toEqual({ kind: 'account', account }); // sealed by Hearth (src/crds/account.ts)
    // …with its one model-server NetworkPolicy, admitting only the peers it was given (issue 15 item 6).
    const policy = await kc.makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ namespace: name, name: MODEL_SERVER_POLICY_NAME });
    expect(policy.spec?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/managed-by': 'hearth', 'app.kubernetes.io/name': 'model-server' });
    expect(policy.spec?.ingress).toHaveLength(1);
    expect(policy.spec?.ingress?.[0]?._from?.length).toBeGreaterThan(0);
    // api/kube/kind-client.ts: list + watch, then a create (dry run), get, merge patch of an absent one.
    const client = new KubeDeploymentClient(kubeAccess(as, { log }), { log, syncTimeoutMs: 20_000 });
    await client.start();
    try {
      const custom = as.makeApiClient(CustomObjectsApi);
      const sample = loadYaml<KubernetesObject>(readFileSync(join(REPO_ROOT, 'manifests/samples/deployment.yaml'), 'utf8'));
      const body = { ...sample, metadata: { name: 'rbac-probe', namespace: name } };
      await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: name, plural: 'deployments', body, dryRun: 'All' });
      expect(await client.read(name, 'rbac-probe')).toBeUndefined();
      await expectCode(client.mergePatch(name, 'rbac-probe', { spec: { replicaCount: 1 } }), 404, 'merge patch of an absent Deployment');
      expect(await client.delete(name, 'rbac-probe')).toBe(false);
    } finally {
      await client.stop();
    }
    const asCore = as.makeApiClient(CoreV1Api);
    // It lists a running batch job's pods and reads their log (:getLogs), and nothing more of pods.
    await expectCode(asCore.deleteCollectionNamespacedPod({ namespace: name }), 403, 'delete pods');
    await expectCode(asCore.createNamespacedPod({ namespace: name, body: { metadata: { name: 'rbac-probe' }, spec: { containers: [{ name: 'c', image: 'x' }] } }, dryRun: 'All' }), 403, 'create a pod');
    await expectCode(asCore.deleteNamespace({ name }), 403, 'delete a namespace');
    await expectCode(asCore.listSecretForAllNamespaces(), 403, 'list secrets');
  });

  it('lets only Hearth set, change or remove a namespace\'s account label, seal and Hearth mark (ValidatingAdmissionPolicy, issue 15 item 5)', async () => {
    expect(installed).toBe(true);
    // Someone who may create and edit namespaces, but is not Hearth and not a cluster administrator.
    const editor = `ns-editor-${id}`;
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: editor } } });
    await rbac.createClusterRole({ body: { metadata: { name: `${ns}-${editor}` }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'get', 'update', 'patch', 'delete'] }] } });
    cleanups.push(() => rbac.deleteClusterRole({ name: `${ns}-${editor}` }));
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: `${ns}-${editor}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ns}-${editor}` }, subjects: [{ kind: 'ServiceAccount', name: editor, namespace: ns }] },
    });
    cleanups.push(() => rbac.deleteClusterRoleBinding({ name: `${ns}-${editor}` }));
    const asEditor = kubeConfigAs(saUser(ns, editor)).makeApiClient(CoreV1Api);
    const claimed = `acct-claim-${id}`;
    cleanups.push(() => core.deleteNamespace({ name: claimed }).catch(() => undefined));
    // The policy takes effect a moment after it is created: wait for the first refusal.
    const refusal = await waitFor(
      'the namespace ownership policy to refuse a labelled namespace',
      async () =>
        asEditor.createNamespace({ body: { metadata: { name: claimed, labels: { [LABELS.account]: account } } } }).then(
          async () => {
            await core.deleteNamespace({ name: claimed });
            await waitFor('the claimed namespace to go', async () => core.readNamespace({ name: claimed }).then(() => false, () => true), { timeoutMs: 30_000 });
            return undefined;
          },
          (e: unknown) => e,
        ),
      { timeoutMs: 30_000 },
    );
    expect(codeOf(refusal)).toBe(403);
    expect(String((refusal as Error).message)).toContain('only Hearth may set, change or remove the hearth.dev/account label');
    // A plain namespace is fine; labelling it afterwards, or marking it Hearth's, is not.
    const plain = `plain-${id}`;
    cleanups.push(() => core.deleteNamespace({ name: plain }).catch(() => undefined));
    await asEditor.createNamespace({ body: { metadata: { name: plain, labels: { team: 'a' } } } });
    const patch = (labels: Record<string, string | null>) => asEditor.patchNamespace({ name: plain, body: { metadata: { labels } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await expectCode(patch({ [LABELS.account]: account }), 403, 'label a namespace with an account');
    await expectCode(patch({ 'app.kubernetes.io/managed-by': 'hearth' }), 403, "mark a namespace as Hearth's");
    await patch({ team: 'b', 'app.kubernetes.io/managed-by': 'argocd' }); // other labels, other tools' marks: allowed
    // The account namespace Hearth made: its label can be neither changed nor removed by the editor.
    const made = accountNamespace(account);
    await expectCode(asEditor.patchNamespace({ name: made, body: { metadata: { labels: { [LABELS.account]: 'someone-else' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)), 403, 'move an account namespace to another account');
    await expectCode(asEditor.patchNamespace({ name: made, body: { metadata: { labels: { [LABELS.account]: null } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)), 403, 'remove the account label');
    // Nor the seal: copied onto another namespace, changed or removed (it would not verify anyway: it names its namespace).
    const seal = (await core.readNamespace({ name: made })).metadata?.annotations?.['hearth.dev/account-seal'];
    expect(seal).toBeTruthy();
    const annotate = (name: string, v: string | null) => asEditor.patchNamespace({ name, body: { metadata: { annotations: { 'hearth.dev/account-seal': v } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await expectCode(annotate(plain, seal!), 403, 'copy a seal onto another namespace');
    await expectCode(annotate(made, 'v1.x'), 403, 'change the seal');
    await expectCode(annotate(made, null), 403, 'remove the seal');
  });

  it('lets the gateway watch what it routes by, and write nothing', async () => {
    expect(installed).toBe(true);
    const as = kubeConfigAs(saUser(ns, `${release}-gateway`));
    // The gateway's own watches (gateway/sources.ts): namespaces, Deployments, DeployedModels, EndpointSlices.
    const sources = startSources(kubeAccess(as, { log }).informers, new Catalog(), new Upstreams(), log);
    try {
      await waitFor('the gateway sources to sync as the gateway', async () => sources.isSynced(), { timeoutMs: 30_000 });
    } finally {
      await sources.stop();
    }
    await as.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces({ limit: 1 });
    const objects = KubernetesObjectApi.makeApiClient(as);
    const child = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'rbac-probe', namespace: nsOther },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    };
    await expectCode(objects.create(child, undefined, 'All'), 403, 'gateway creates a Deployment');
    await expectCode(objects.patch(child, undefined, 'All', 'hearth-gateway', true, PatchStrategy.ServerSideApply), 403, 'gateway applies a Deployment');
    const custom = as.makeApiClient(CustomObjectsApi);
    await expectCode(
      custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: nsOther, plural: 'deployments', name: 'x', body: { spec: { replicaCount: 1 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      403,
      'gateway patches a hearth.dev Deployment',
    );
    await expectCode(as.makeApiClient(CoreV1Api).listSecretForAllNamespaces(), 403, 'list secrets');
  });

  it('installs mode=all as one pod whose ServiceAccount has the union of the three roles', async () => {
    expect(installed).toBe(true);
    cleanups.push(() => helm('uninstall', releaseAll, '-n', nsAll, '--wait', '--timeout', '60s'));
    await withDump(nsAll, () =>
      helm(
        'install', releaseAll, join(CHARTS, 'hearth'), '-n', nsAll, '--wait', '--timeout', '180s',
        '--set', 'mode=all', '--set', 'database.existingSecret=', '--set', 'bootstrap.account=demo', '--set', 'bootstrap.email=demo@example.com',
        ...SCHEDULING,
      ),
    );
    installedAll = true;
    const d = await apps.readNamespacedDeployment({ namespace: nsAll, name: releaseAll });
    expect(d.status?.readyReplicas).toBe(1);
    expect(d.spec?.template.spec?.containers[0]?.args).toEqual(['all']);
    const union: Record<string, string[]> = {};
    for (const p of PROCESSES)
      for (const [res, verbs] of Object.entries({ ...CLUSTER_RULES[p], ...namespacedRules(p) })) union[res] = [...new Set([...(union[res] ?? []), ...verbs])];
    expect(await ownRules(saUser(nsAll, releaseAll), nsAll, saUser(nsAll, 'default'))).toEqual([...expand(union)].sort());
    expect(await helm('get', 'notes', releaseAll, '-n', nsAll)).toContain('was bootstrapped at start');
  }, 300_000);

  it('helm uninstall removes every object of the releases; the CRDs stay (resource-policy keep)', async () => {
    expect(installed).toBe(true);
    const releases: Array<readonly [string, string]> = [[ns, release]];
    if (installedAll) releases.push([nsAll, releaseAll]);
    for (const [n, r] of releases) await helm('uninstall', r, '-n', n, '--wait', '--timeout', '120s');
    await helm('uninstall', crdsRelease, '-n', ns, '--wait', '--timeout', '60s');
    for (const [n, r] of releases) {
      const sel = `app.kubernetes.io/instance=${r}`;
      await withDump(n, () =>
        waitFor(
          `no objects of ${r} left`,
          async () => {
            const left = (await kubectl('-n', n, 'get', 'deploy,rs,svc,sa,cm,secret,role,rolebinding,pdb,networkpolicy', '-l', sel, '-o', 'name')).trim();
            const pods = (await core.listNamespacedPod({ namespace: n, labelSelector: sel })).items.filter((p) => !p.metadata?.deletionTimestamp);
            return left === '' && pods.length === 0;
          },
          { timeoutMs: 60_000 },
        ),
      );
      const cr = await rbac.listClusterRole({ labelSelector: sel });
      const crb = await rbac.listClusterRoleBinding({ labelSelector: sel });
      expect([...cr.items, ...crb.items].map((o) => o.metadata?.name)).toEqual([]);
    }
    for (const plural of ['deployments', 'deployedmodels', 'batchjobs', 'environments', 'nodepools', 'sftjobs', 'batchinferencejobs'])
      await ext.readCustomResourceDefinition({ name: `${plural}.${GROUP}` });
    await releaseCrdOwnership();
    const crd = await ext.readCustomResourceDefinition({ name: `deployments.${GROUP}` });
    expect(crd.metadata?.annotations?.['meta.helm.sh/release-name']).toBeUndefined();
  }, 300_000);
});
