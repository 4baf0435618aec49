import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_FLAGS } from './commands/deployments.js';
import { SFT_FLAGS } from './commands/jobs.js';
import { addFieldFlags, attr, bodyFromFlags, setPath } from './flags.js';

/** Parses `args` with the flags and returns the body they make. */
function bodyOf(flags: typeof DEPLOYMENT_FLAGS, args: string[]): Record<string, unknown> {
  const cmd = addFieldFlags(new Command('x').exitOverride(), flags);
  cmd.parse(args, { from: 'user' });
  return bodyFromFlags(flags, cmd.opts());
}

describe('field flags → request body', () => {
  it('only the flags given, nested where the wire nests them', () => {
    expect(bodyOf(DEPLOYMENT_FLAGS, ['--min-replica-count', '0', '--max-replica-count', '3', '--scale-to-zero-window', '10m', '--scale-up-window=30s', '--accelerator-type', 'NVIDIA_H100_80GB', '--long-prompt'])).toEqual({
      minReplicaCount: 0,
      maxReplicaCount: 3,
      autoscalingPolicy: { scaleToZeroWindow: '600s', scaleUpWindow: '30s' },
      acceleratorType: 'NVIDIA_H100_80GB',
      autoTune: { longPrompt: true },
    });
    expect(bodyOf(DEPLOYMENT_FLAGS, [])).toEqual({});
  });

  it('pflag booleans, repeated lists and key=value maps', () => {
    expect(bodyOf(DEPLOYMENT_FLAGS, ['--enable-addons=false', '--direct-route-api-keys', 'k1', '--direct-route-api-keys=k2,k3', '--load-targets', 'default=0.8'])).toEqual({
      enableAddons: false,
      directRouteApiKeys: ['k1', 'k2', 'k3'],
      autoscalingPolicy: { loadTargets: { default: 0.8 } },
    });
  });

  it('the SFT flags of the docs example', () => {
    const args = ['--base-model', 'llama-v3p1-8b-instruct', '--dataset', 'cancerset', '--output-model', 'my-tuned-model', '--learning-rate', '0.0001', '--epochs', '2', '--early-stop', '--evaluation-dataset', 'my-eval-set', '--lora-rank', '16', '--wandb-project', 'p'];
    expect(bodyOf(SFT_FLAGS, args)).toEqual({
      baseModel: 'llama-v3p1-8b-instruct',
      dataset: 'cancerset',
      outputModel: 'my-tuned-model',
      learningRate: 0.0001,
      epochs: 2,
      earlyStop: true,
      evaluationDataset: 'my-eval-set',
      loraRank: 16,
      wandbConfig: { project: 'p' },
    });
  });

  it('bad values name the flag', () => {
    expect(() => bodyOf(SFT_FLAGS, ['--epochs', '0'])).toThrow(/--epochs: must be between 1/);
    expect(() => bodyOf(SFT_FLAGS, ['--learning-rate', 'fast'])).toThrow('--learning-rate: "fast" is not a number');
    expect(() => bodyOf(DEPLOYMENT_FLAGS, ['--load-targets', 'nope'])).toThrow('--load-targets: "nope" is not key=value');
  });

  it('helpers', () => {
    expect(attr('scale-to-zero-window')).toBe('scaleToZeroWindow');
    const o: Record<string, unknown> = { a: { x: 1 } };
    setPath(o, 'a.b.c', 2);
    expect(o).toEqual({ a: { x: 1, b: { c: 2 } } });
  });
});
