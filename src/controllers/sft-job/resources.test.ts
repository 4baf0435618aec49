// The trainer Job builder and the command template (pure).
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../crds/group.js';
import type { SFTJobSpec } from '../../crds/sft-job.js';
import { trainingShape } from '../../fleet/training.js';
import { jobName, makeService, makeTrainerJob, placementOfJob, trainerToken } from './resources.js';
import { DEFAULT_TRAINER, TRL_SFT_COMMAND, placeholderValues, renderCommand, unknownPlaceholders } from './trainer.js';

const owner = { apiVersion: API_VERSION, kind: 'SFTJob', metadata: { name: 'tune', namespace: 'acct-acme', uid: 'u1' } };
const spec = { dataset: 'accounts/acme/datasets/d', baseModel: 'accounts/fireworks/models/llama-v3p1-70b-instruct', epochs: 2, loraRank: 16, maxContextLength: 8192, learningRate: 0.0001 } as SFTJobSpec;
const inputs = { spec, baseModelPath: 'meta-llama/Llama-3.1-70B-Instruct', baseModelName: spec.baseModel!, hasEval: true, nodes: 2, gpusPerNode: 8 };

function build(nodes: number) {
  return makeTrainerJob({ owner, account: 'acme', attempt: 0, placement: { acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8, nodes, region: 'US_VIRGINIA_2' }, trainer: { ...DEFAULT_TRAINER, apiUrl: 'http://api:8080/' }, inputs });
}

describe('makeTrainerJob', () => {
  it('an Indexed Job, one pod per node, no retries, owned by the SFTJob, GPUs of the placement', () => {
    const j = build(2);
    expect(j.metadata).toMatchObject({ name: 'sft-tune-0', namespace: 'acct-acme', labels: { 'hearth.dev/sft-job': 'tune', 'app.kubernetes.io/managed-by': 'hearth', 'hearth.dev/region': 'US_VIRGINIA_2' } });
    expect(j.metadata?.ownerReferences).toEqual([{ apiVersion: API_VERSION, kind: 'SFTJob', name: 'tune', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
    expect(j.spec).toMatchObject({ completionMode: 'Indexed', completions: 2, parallelism: 2, backoffLimit: 0 });
    const pod = j.spec!.template.spec!;
    expect(pod.subdomain).toBe('sft-tune');
    expect(pod.containers[0]!.resources).toEqual({ limits: { 'nvidia.com/gpu': '8' }, requests: { 'nvidia.com/gpu': '8' } });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }]);
  });

  it('the placement reads back from the Job (a retried pass keeps it); a Job that does not say gives none', () => {
    expect(placementOfJob(build(2))).toEqual({ acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8, nodes: 2, region: 'US_VIRGINIA_2' });
    const unlabelled = build(1);
    delete unlabelled.metadata!.labels!['hearth.dev/accelerator-type'];
    expect(placementOfJob(unlabelled)).toBeUndefined();
  });

  it('the rendezvous variables: master = index 0 through the headless Service, world size, rank from the completion index', () => {
    const env = build(2).spec!.template.spec!.containers[0]!.env!;
    const byName = Object.fromEntries(env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(byName).toMatchObject({
      MASTER_ADDR: 'sft-tune-0-0.sft-tune.acct-acme.svc',
      MASTER_PORT: '29500',
      WORLD_SIZE: '16',
      NNODES: '2',
      RANK: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
      HEARTH_TRAINER_API: 'http://api:8080/v1-trainer/sft/acme/tune',
      HEARTH_TRAINER_TOKEN: { secretKeyRef: { name: 'sft-tune-trainer-0-u1', key: 'token' } },
    });
    expect(makeService(owner).spec).toMatchObject({ clusterIP: 'None', selector: { 'hearth.dev/sft-job': 'tune' } });
  });

  it('the restricted pod security standard', () => {
    const pod = build(1).spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0]!.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
    for (const v of pod.volumes ?? []) expect(Object.keys(v).sort()).toEqual(['emptyDir', 'name']);
  });

  it('names stay within the DNS limits', () => {
    expect(jobName('a'.repeat(63), 12).length).toBeLessThanOrEqual(52);
  });
});

describe('the trainer command template', () => {
  it('TRL reference: every set field mapped, unset ones dropped', () => {
    const args = renderCommand(TRL_SFT_COMMAND, placeholderValues({ ...inputs, nodes: 1 }));
    expect(args).toContain('--lora_r=16');
    expect(args).toContain('--learning_rate=0.0001');
    expect(args).toContain('--num_train_epochs=2');
    expect(args).toContain('--dataset_name=/work/data');
    expect(args).toContain('--eval_strategy=steps');
    expect(renderCommand(TRL_SFT_COMMAND, placeholderValues({ ...inputs, hasEval: false, nodes: 1 }))).toContain('--eval_strategy=no');
    // batchSize (tokens) → packed blocks of maxContextLength per batch; batchSizeSamples wins when set.
    const packed = renderCommand(TRL_SFT_COMMAND, placeholderValues({ ...inputs, spec: { ...inputs.spec, batchSize: 65536, maxContextLength: 8192, batchSizeSamples: undefined }, nodes: 1 }));
    expect(packed).toEqual(expect.arrayContaining(['--packing=true', '--per_device_train_batch_size=8', '--max_length=8192']));
    expect(args.some((a) => a.startsWith('--gradient_accumulation_steps'))).toBe(false);
    expect(args.some((a) => a.startsWith('--resume_from_checkpoint'))).toBe(false);
    expect(unknownPlaceholders(TRL_SFT_COMMAND)).toEqual([]);
    expect(unknownPlaceholders(['x={{nope}}'])).toEqual(['nope']);
  });

  it('GPUs from the base model size: 8B on one A100, 70B on 4, 405B over nodes', () => {
    expect(trainingShape({ parametersB: 8 }, 'NVIDIA_A100_80GB')).toEqual({ acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 1, nodes: 1 });
    expect(trainingShape({ parametersB: 70 }, 'NVIDIA_A100_80GB')).toEqual({ acceleratorType: 'NVIDIA_A100_80GB', acceleratorCount: 4, nodes: 1 });
    expect(trainingShape({ parametersB: 405 }, 'NVIDIA_H100_80GB')).toEqual({ acceleratorType: 'NVIDIA_H100_80GB', acceleratorCount: 8, nodes: 4 });
  });
});

describe('trainerToken', () => {
  it('the same for every pass of an attempt; another for another attempt, job (uid) or key; the attempt, then a 32-byte mac', () => {
    const t = trainerToken('key-a', 'u1', 0);
    expect(trainerToken('key-a', 'u1', 0)).toBe(t);
    expect(new Set([t, trainerToken('key-a', 'u1', 1), trainerToken('key-a', 'u2', 0), trainerToken('key-b', 'u1', 0)]).size).toBe(4);
    const [attempt, mac] = t.split('.');
    expect(attempt).toBe('0');
    expect(Buffer.from(mac!, 'base64url')).toHaveLength(32);
    expect(trainerToken('key-a', 'u1', 3)).toMatch(/^3\./);
    expect(() => trainerToken('key-a', '', 0)).toThrow(/no metadata.uid/);
  });
});
