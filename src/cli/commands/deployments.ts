// Deployments: create (--wait until READY), update, delete (--hard), scale, undelete (--wait).
import type { Command } from 'commander';
import { action, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { addFieldFlags, bodyFromFlags, type FieldFlag } from '../flags.js';
import { idOf, parseInt32 } from '../format.js';
import { kindNamed } from '../kinds.js';
import { finishWait, waitUntil } from '../progress.js';
import { observeDeployment } from '../waits.js';
import { kindCommand, printDeleted } from './generic.js';

const DEPLOYMENT = kindNamed('deployment')!;

/** Flags both create and update take (firectl's names). */
export const DEPLOYMENT_FLAGS: readonly FieldFlag[] = [
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'Human-readable name, fewer than 64 characters.' },
  { flag: 'description', field: 'description', type: 'string', description: 'Description of the deployment.' },
  { flag: 'min-replica-count', field: 'minReplicaCount', type: 'int', description: 'Minimum number of replicas (0: scale to zero when idle).' },
  { flag: 'max-replica-count', field: 'maxReplicaCount', type: 'int', description: 'Maximum number of replicas.' },
  { flag: 'scale-up-window', field: 'autoscalingPolicy.scaleUpWindow', type: 'duration', description: 'Wait after load rises before scaling up (default 30s).' },
  { flag: 'scale-down-window', field: 'autoscalingPolicy.scaleDownWindow', type: 'duration', description: 'Wait after load falls before scaling down (default 10m).' },
  { flag: 'scale-to-zero-window', field: 'autoscalingPolicy.scaleToZeroWindow', type: 'duration', description: 'Idle time before scaling to zero when min-replica-count is 0 (default 1h, at least 5m).' },
  { flag: 'unused-auto-delete-duration', field: 'unusedAutoDeleteDuration', type: 'duration', description: 'Soft-delete the deployment after this long without requests (default 168h; 0 disables).' },
  { flag: 'load-targets', field: 'autoscalingPolicy.loadTargets', type: 'map', description: 'Load targets, e.g. default=0.8.' },
  { flag: 'accelerator-count', field: 'acceleratorCount', type: 'int', min: 1, description: 'Accelerators (GPUs) per replica.' },
  { flag: 'world-size', field: 'acceleratorCount', type: 'int', min: 1, description: 'The number of GPUs the base model is served with (= --accelerator-count).' },
  { flag: 'accelerator-type', field: 'acceleratorType', type: 'string', description: 'e.g. NVIDIA_H100_80GB, NVIDIA_A100_80GB, AMD_MI300X_192GB; CPU: no accelerator, the operator\'s CPU runtime.' },
  { flag: 'precision', field: 'precision', type: 'string', description: 'Serving precision, e.g. FP16, FP8.' },
  { flag: 'enable-addons', field: 'enableAddons', type: 'bool', description: 'Allow LoRA addons (load-lora) on this deployment.' },
  { flag: 'draft-model', field: 'draftModel', type: 'string', description: 'Draft model for speculative decoding.' },
  { flag: 'draft-token-count', field: 'draftTokenCount', type: 'int', description: 'Tokens per speculative step.' },
  { flag: 'ngram-speculation-length', field: 'ngramSpeculationLength', type: 'int', description: 'N-gram speculation lookback.' },
  { flag: 'enable-session-affinity', field: 'enableSessionAffinity', type: 'bool', description: 'Sticky routing on the user field.' },
  { flag: 'direct-route-type', field: 'directRouteType', type: 'string', description: 'INTERNET, GCP_PRIVATE_SERVICE_CONNECT or AWS_PRIVATELINK.' },
  { flag: 'direct-route-api-keys', field: 'directRouteApiKeys', type: 'list', description: 'Keys allowed on the direct route.' },
  { flag: 'long-prompt', field: 'autoTune.longPrompt', type: 'bool', description: 'Optimise for long prompts.' },
  { flag: 'max-context-length', field: 'maxContextLength', type: 'int', description: 'Maximum context length (0: the model default).' },
  { flag: 'deployment-shape', field: 'deploymentShape', type: 'string', description: 'A deployment shape to create from.' },
];

const CREATE_ONLY: readonly FieldFlag[] = [{ flag: 'region', field: 'placement.region', type: 'string', description: 'The region to run in, e.g. US_IOWA_1.' }];

/** `--wait`: polls the deployment until READY; the exit code (0, 1 FAILED/timeout, 130 Ctrl-C). */
export async function waitDeployment(ctx: Ctx, id: string): Promise<{ exitCode: number; last?: Record<string, unknown> }> {
  const o = { display: ctx.display(), intervalMs: ctx.pollMs, what: `deployment ${id}`, lookAgain: `hearth get deployment ${id}`, timeoutMs: ctx.waitTimeoutMs };
  const r = await waitUntil(() => ctx.client.account('GET', `/deployments/${encodeURIComponent(id)}`), observeDeployment, o);
  const { exitCode, message } = finishWait(r, o);
  if (message) ctx.err(message);
  return { exitCode, last: 'last' in r ? r.last : undefined };
}


/** Prints the final resource after a wait (or the failure's last view) and returns the code. */
async function printAfterWait(ctx: Ctx, w: { exitCode: number; last?: Record<string, unknown> }): Promise<number> {
  if (w.last && w.exitCode !== 130) ctx.printResource(w.last);
  return w.exitCode;
}

function registerCreate(create: Command): void {
  const cmd = kindCommand(create, DEPLOYMENT)
    .description('Creates a deployment of a model: `hearth create deployment accounts/fireworks/models/llama-v3p1-8b-instruct --wait`.')
    .argument('<model>', 'the base model (a model id of your account or a full name accounts/…/models/…)')
    .option('--deployment-id <id>', 'The deployment id (random if absent).')
    .option('--validate-only', 'Validate and print the deployment that would be created; create nothing.')
    .option('--disable-speculative-decoding', 'Disable speculative decoding.')
    .option('--wait', 'Wait until the deployment is READY.');
  addFieldFlags(cmd, [...DEPLOYMENT_FLAGS, ...CREATE_ONLY]).action(
    action(async (ctx, [model], opts) => {
      const body = { baseModel: model, ...bodyFromFlags([...DEPLOYMENT_FLAGS, ...CREATE_ONLY], opts) };
      const query = { deploymentId: opts.deploymentId as string | undefined, validateOnly: opts.validateOnly ? true : undefined, disableSpeculativeDecoding: opts.disableSpeculativeDecoding ? true : undefined };
      const created = await ctx.client.account('POST', '/deployments', { query, body });
      if (!opts.wait || opts.validateOnly) return ctx.printResource(created);
      const id = idOf(String(created.name));
      if (!ctx.quiet && ctx.output === 'table') ctx.err(`Created deployment ${id}; waiting until it is READY (Ctrl-C stops waiting, not the deployment).`);
      return printAfterWait(ctx, await waitDeployment(ctx, id));
    }),
  );
}

function registerUpdate(update: Command): void {
  const cmd = kindCommand(update, DEPLOYMENT).argument('<id>', 'the deployment id').option('--wait', 'Wait until the deployment is READY again.');
  addFieldFlags(cmd, DEPLOYMENT_FLAGS).action(
    action(async (ctx, [id], opts) => {
      const body = bodyFromFlags(DEPLOYMENT_FLAGS, opts);
      if (Object.keys(body).length === 0) throw new UsageError('update deployment: give at least one field flag (see --help)');
      const updated = await ctx.client.account('PATCH', `/deployments/${encodeURIComponent(idOf(id!))}`, { body });
      if (!opts.wait) return ctx.printResource(updated);
      return printAfterWait(ctx, await waitDeployment(ctx, idOf(id!)));
    }),
  );
}

function registerDelete(del: Command): void {
  kindCommand(del, DEPLOYMENT)
    .argument('<id>', 'the deployment id')
    .option('--hard', 'Delete now instead of a soft delete (no undelete).')
    .option('--ignore-checks', 'Delete even if the deployment is in use.')
    .action(
      action(async (ctx, [id], opts) => {
        const query = { hard: opts.hard ? true : undefined, ignoreChecks: opts.ignoreChecks ? true : undefined };
        printDeleted(ctx, DEPLOYMENT, id!, await ctx.client.account('DELETE', `/deployments/${encodeURIComponent(idOf(id!))}`, { query }));
      }),
    );
}

function registerScale(scale: Command): void {
  kindCommand(scale, DEPLOYMENT)
    .description('Runs exactly --replica-count replicas (the autoscaler is off while it is set).')
    .argument('<id>', 'the deployment id')
    .requiredOption('--replica-count <int>', 'The replica count to run (0 scales to zero).')
    .option('--wait', 'Wait until the deployment is READY.')
    .action(
      action(async (ctx, [id], opts) => {
        const replicaCount = parseInt32('replica-count', String(opts.replicaCount));
        const answer = await ctx.client.account('PATCH', `/deployments/${encodeURIComponent(idOf(id!))}:scale`, { body: { replicaCount } });
        if (opts.wait) return printAfterWait(ctx, await waitDeployment(ctx, idOf(id!)));
        if (ctx.output === 'table') ctx.out(`Scaling deployment ${idOf(id!)} to ${replicaCount} replicas.`);
        else ctx.printResource(answer);
      }),
    );
}

function registerUndelete(undelete: Command): void {
  kindCommand(undelete, DEPLOYMENT)
    .description('Undeletes a DELETED (or FAILED) deployment.')
    .argument('<id>', 'the deployment id')
    .option('--wait', 'Wait until the deployment is READY.')
    .action(
      action(async (ctx, [id], opts) => {
        const answer = await ctx.client.account('POST', `/deployments/${encodeURIComponent(idOf(id!))}:undelete`, { body: {} });
        if (!opts.wait) return ctx.printResource(answer);
        return printAfterWait(ctx, await waitDeployment(ctx, idOf(id!)));
      }),
    );
}

export function registerDeployments(v: { create: Command; update: Command; delete: Command; scale: Command; undelete: Command }): void {
  registerCreate(v.create);
  registerUpdate(v.update);
  registerDelete(v.delete);
  registerScale(v.scale);
  registerUndelete(v.undelete);
}
