// The chart's SFTJob outputModel policy (charts/hearth/templates/sftjob-policy.yaml) on the real
// kube-apiserver: an SFTJob's outputModel may be a full name only of the namespace's account. The
// policy is rendered from the chart (helm template) and applied under this run's names, its binding
// limited to this run's namespaces (the cluster is shared: other suites' SFTJobs stay unchecked);
// objects are created with dryRun=All, as kubectl apply --dry-run=server would.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type V1ValidatingAdmissionPolicy, type V1ValidatingAdmissionPolicyBinding } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinaries } from '../../hack/lib/cluster.js';
import { installCrds } from '../../hack/lib/crds.js';
import { GROUP, LABELS, VERSION } from '../../src/crds/group.js';
import { REPO_ROOT } from '../fixtures/corpus.js';
import { testKubeConfig } from '../support/env.js';
import { createTestNamespace } from '../support/namespace.js';
import { waitFor } from '../support/wait.js';

const kc = testKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const id = randomBytes(3).toString('hex');
const account = `pol-${id}`;
const NS = `acct-pol-${id}`;
const UNLABELLED = `pol-none-${id}`;
const RUN_LABEL = 'hearth.dev/sftjob-policy-test';
let names: { policy: string; binding: string } | undefined;

const sft = (name: string, outputModel?: string) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'SFTJob',
  metadata: { name },
  spec: { dataset: `accounts/${account}/datasets/chats`, baseModel: 'accounts/fireworks/models/llama-v3p1-8b-instruct', ...(outputModel ? { outputModel } : {}) },
});
/** The API server's answer to a dry-run create: 'ok' or the refusal's code and message. */
const create = (namespace: string, body: object): Promise<string> =>
  custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'sftjobs', body, dryRun: 'All' }).then(
    () => 'ok',
    (e: { code?: number; body?: string; message?: string }) => `${e.code}: ${e.body ?? e.message}`,
  );

beforeAll(async () => {
  await installCrds(kc, 'hearth-sftjob-policy-test');
  await createTestNamespace(kc, NS, { [LABELS.account]: account, [RUN_LABEL]: id });
  await createTestNamespace(kc, UNLABELLED, { [RUN_LABEL]: id });
  const bin = await ensureBinaries(() => undefined);
  const { stdout } = await promisify(execFile)(join(bin, 'helm'), ['template', `pol-${id}`, join(REPO_ROOT, 'charts/hearth'), '-n', `pol-${id}`, '--show-only', 'templates/sftjob-policy.yaml'], { maxBuffer: 16 << 20 });
  const docs = loadAll(stdout).filter(Boolean) as (V1ValidatingAdmissionPolicy | V1ValidatingAdmissionPolicyBinding)[];
  const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy') as V1ValidatingAdmissionPolicy;
  const binding = docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding') as V1ValidatingAdmissionPolicyBinding;
  expect(binding.spec?.policyName).toBe(policy.metadata?.name);
  // Only this run's namespaces (the chart's binding takes every namespace).
  binding.spec!.matchResources = { namespaceSelector: { matchLabels: { [RUN_LABEL]: id } } };
  names = { policy: policy.metadata!.name!, binding: binding.metadata!.name! };
  await admission.createValidatingAdmissionPolicy({ body: policy });
  await admission.createValidatingAdmissionPolicyBinding({ body: binding });
}, 300_000);

afterAll(async () => {
  if (names) {
    await admission.deleteValidatingAdmissionPolicyBinding({ name: names.binding }).catch(() => undefined);
    await admission.deleteValidatingAdmissionPolicy({ name: names.policy }).catch(() => undefined);
  }
  for (const name of [NS, UNLABELLED]) await core.deleteNamespace({ name }).catch(() => undefined);
});

describe('the SFTJob outputModel policy (chart)', () => {
  it("refuses a full name of another account than the namespace's, naming the field; takes the id and the account's own full name", async () => {
    // The policy takes effect a moment after it is created: wait for the first refusal.
    const refused = await waitFor('the policy to refuse another account\'s output model', async () => {
      const r = await create(NS, sft('foreign', 'accounts/someone-else/models/stolen'));
      return r === 'ok' ? undefined : r;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(refused).toMatch(/^422: /);
    expect(refused).toContain(`spec.outputModel: accounts/someone-else/models/stolen is not a model of this namespace's account ${account}`);
    expect(await create(NS, sft('own-full', `accounts/${account}/models/tuned`))).toBe('ok');
    expect(await create(NS, sft('own-id', 'tuned'))).toBe('ok');
    expect(await create(NS, sft('no-output'))).toBe('ok');
    // A prefix of the account is not the account.
    expect(await create(NS, sft('prefix', `accounts/${account}x/models/tuned`))).toMatch(/^422: .*is not a model of this namespace's account/);
    // A namespace without an account takes no full name at all.
    expect(await create(UNLABELLED, sft('none', `accounts/${account}/models/tuned`))).toContain("is not a model of this namespace's account (the namespace has none)");
    expect(await create(UNLABELLED, sft('none-id', 'tuned'))).toBe('ok');
  });
});
