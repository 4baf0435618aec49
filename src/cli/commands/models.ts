// Models (create with their files, update) and LoRAs: load-lora (--wait until DEPLOYED),
// unload-lora, update deployed-model.
import type { Command } from 'commander';
import { action, type Ctx } from '../context.js';
import { ApiCallError, UsageError } from '../errors.js';
import { addFieldFlags, bodyFromFlags, type FieldFlag } from '../flags.js';
import { at, idOf, modelName } from '../format.js';
import { kindNamed } from '../kinds.js';
import { finishWait, waitUntil } from '../progress.js';
import { filesOf, uploadFiles } from '../upload.js';
import { observeLora, observeUnload } from '../waits.js';
import { kindCommand, listAll } from './generic.js';

const MODEL = kindNamed('model')!;
const DEPLOYED_MODEL = kindNamed('deployed-model')!;

const MODEL_FLAGS: readonly FieldFlag[] = [
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'The display name of the model.' },
  { flag: 'description', field: 'description', type: 'string', description: 'The description of the model.' },
  { flag: 'context-length', field: 'contextLength', type: 'int', description: 'The maximum context length of the model.' },
  { flag: 'default-draft-model', field: 'defaultDraftModel', type: 'string', description: 'The default speculative draft model.' },
  { flag: 'default-draft-token-count', field: 'defaultDraftTokenCount', type: 'int', description: 'The default speculative draft token count.' },
  { flag: 'github-url', field: 'githubUrl', type: 'string', description: 'The GitHub URL of the model.' },
  { flag: 'hugging-face-url', field: 'huggingFaceUrl', type: 'string', description: 'The Hugging Face URL of the model.' },
  { flag: 'public', field: 'public', type: 'bool', description: 'Whether the model is publicly accessible.' },
  { flag: 'supports-image-input', field: 'supportsImageInput', type: 'bool', description: 'Whether the model supports image inputs.' },
  { flag: 'supports-tools', field: 'supportsTools', type: 'bool', description: 'Whether the model supports function calling.' },
];
const MODEL_CREATE_FLAGS: readonly FieldFlag[] = [
  { flag: 'kind', field: 'kind', type: 'string', description: 'The kind of model (default HF_PEFT_ADDON).', choices: ['HF_BASE_MODEL', 'HF_PEFT_ADDON', 'HF_TEFT_ADDON', 'FLUMINA_BASE_MODEL', 'FLUMINA_ADDON'] },
  { flag: 'base-model', field: 'peftDetails.baseModel', type: 'string', description: 'The base model of a LoRA addon.' },
  { flag: 'lora-rank', field: 'peftDetails.r', type: 'int', min: 1, description: 'The LoRA rank of the addon.' },
  { flag: 'target-modules', field: 'peftDetails.targetModules', type: 'list', description: 'The modules the addon adapts, e.g. q_proj,v_proj.' },
];

function registerCreateModel(create: Command): void {
  const cmd = kindCommand(create, MODEL)
    .description('Creates a model and uploads its files: `hearth create model my-lora ./checkpoint/ --base-model accounts/fireworks/models/llama-v3p1-8b-instruct`.')
    .argument('<model-id>', 'the model id')
    .argument('[path]', 'a folder (or one file) with the model files to upload');
  addFieldFlags(cmd, [...MODEL_FLAGS, ...MODEL_CREATE_FLAGS]).action(
    action(async (ctx, [id, path], opts) => {
      const files = path ? filesOf(path) : [];
      const model = bodyFromFlags([...MODEL_FLAGS, ...MODEL_CREATE_FLAGS], opts);
      const created = await ctx.client.account('POST', '/models', { body: { modelId: id, model } });
      if (!files.length) return ctx.printResource(created);
      const modelPath = `/models/${encodeURIComponent(id!)}`;
      await uploadFiles(ctx, modelPath, files);
      await ctx.client.account('GET', `${modelPath}:validateUpload`);
      ctx.printResource(await ctx.client.account('GET', modelPath));
    }),
  );
}

function registerUpdateModel(update: Command): void {
  const cmd = kindCommand(update, MODEL).argument('<model-id>', 'the model id');
  addFieldFlags(cmd, MODEL_FLAGS).action(
    action(async (ctx, [id], opts) => {
      const body = bodyFromFlags(MODEL_FLAGS, opts);
      if (!Object.keys(body).length) throw new UsageError('update model: give at least one field flag (see --help)');
      ctx.printResource(await ctx.client.account('PATCH', `/models/${encodeURIComponent(idOf(id!))}`, { body }));
    }),
  );
}

const deploymentName = (ctx: Ctx, d: string): string => (d.includes('/') ? d : `accounts/${ctx.client.accountId}/deployments/${d}`);

async function waitLora(ctx: Ctx, id: string): Promise<number> {
  const o = { display: ctx.display(), intervalMs: ctx.pollMs, what: `LoRA ${id}`, lookAgain: `hearth get deployed-model ${id}`, timeoutMs: ctx.waitTimeoutMs };
  const r = await waitUntil(() => ctx.client.account('GET', `/deployedModels/${encodeURIComponent(id)}`), observeLora, o);
  const { exitCode, message } = finishWait(r, o);
  if (message) ctx.err(message);
  if ('last' in r && r.last) ctx.printResource(r.last);
  return exitCode;
}

/** unload-lora --wait: polls the deployed model until GET answers 404 (exit 0, 1 timeout, 130 Ctrl-C). */
async function waitUnload(ctx: Ctx, id: string, model: string, deployment: string): Promise<number> {
  const o = { display: ctx.display(), intervalMs: ctx.pollMs, what: `unloading ${model}`, lookAgain: `hearth get deployed-model ${id}`, timeoutMs: ctx.waitTimeoutMs };
  const poll = (): Promise<Record<string, unknown>> =>
    ctx.client.account('GET', `/deployedModels/${encodeURIComponent(id)}`).catch((e: unknown) => {
      if (e instanceof ApiCallError && e.httpStatus === 404) return { gone: true };
      throw e;
    });
  const { exitCode, message } = finishWait(await waitUntil(poll, observeUnload(model, deployment), o), o);
  if (message) ctx.err(message);
  return exitCode;
}

const NOT_RUNNING = new Set(['DELETING', 'DELETED', 'FAILED']);

/**
 * `load-lora MODEL` without --deployment (firectl's first example): the account's one deployment of
 * the model's base model with addons enabled; none or several is a usage error naming them.
 */
async function addonDeploymentFor(ctx: Ctx, model: string): Promise<string> {
  const found = await ctx.client.call('GET', `/v1/${model.split('/').map(encodeURIComponent).join('/')}`);
  const base = at(found, 'peftDetails.baseModel');
  if (typeof base !== 'string' || !base) throw new UsageError(`--deployment: required (${model} names no base model, so no deployment can be chosen for it)`);
  const { items } = await listAll(ctx, '/deployments', 'deployments', { paginate: false });
  const fits = items.filter((d) => d.enableAddons === true && !NOT_RUNNING.has(String(d.state)) && modelName(String(d.baseModel ?? ''), ctx.client.accountId) === base);
  if (fits.length === 1) return String(fits[0]!.name);
  if (fits.length === 0) throw new UsageError(`--deployment: required: no deployment of ${base} has addons enabled (create one with \`hearth create deployment ${base} --enable-addons\`)`);
  throw new UsageError(`--deployment: required: ${fits.length} deployments of ${base} have addons enabled (${fits.map((d) => idOf(String(d.name))).join(', ')}); name one`);
}

function registerLoadLora(program: Command): void {
  program
    .command('load-lora')
    .summary('Load a LoRA model to a deployment.')
    .argument('<model-id>', 'the LoRA model (an id of your account or a full name)')
    .option('--deployment <id>', 'The deployment to load the LoRA onto (it must have --enable-addons); default: the one deployment of its base model that has.')
    .option('--public [bool]', 'If true, the LoRA model will be publicly available for inference.')
    .option('--default [bool]', 'Serve the model by default when called without #deployment.')
    .option('--replace-merged-addon', 'Unload every other addon of the deployment (hot-reload deployments).')
    .option('--wait', 'Wait until the model is deployed.')
    .action(
      action(async (ctx, [model], opts) => {
        const name = modelName(model!, ctx.client.accountId);
        const deployment = opts.deployment ? deploymentName(ctx, String(opts.deployment)) : await addonDeploymentFor(ctx, name);
        const body = { model: name, deployment, ...bodyFromFlags(LORA_FLAGS.slice(0, 2), opts) };
        const created = await ctx.client.account('POST', '/deployedModels', { body, query: { replaceMergedAddon: opts.replaceMergedAddon ? true : undefined } });
        if (!opts.wait) return ctx.printResource(created);
        return waitLora(ctx, idOf(String(created.name)));
      }),
    );
}

const LORA_FLAGS: readonly FieldFlag[] = [
  { flag: 'public', field: 'public', type: 'bool', description: 'Publicly available for inference.' },
  { flag: 'default', field: 'default', type: 'bool', description: 'The default target when the model is called without #deployment.' },
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'Display name.' },
  { flag: 'description', field: 'description', type: 'string', description: 'Description.' },
];

/** The deployed models of `model` (on `deployment` if given). */
async function loadedCopies(ctx: Ctx, model: string, deployment?: string): Promise<Record<string, unknown>[]> {
  const { items } = await listAll(ctx, '/deployedModels', 'deployedModels', { paginate: false });
  return items.filter((d) => d.model === model && (deployment === undefined || d.deployment === deployment));
}

function registerUnloadLora(program: Command): void {
  program
    .command('unload-lora')
    .summary('Unload a LoRA model from a deployment.')
    .argument('<model-id>', 'the LoRA model (an id of your account or a full name)')
    .option('--deployment <id>', 'The deployment to unload it from (required when it is loaded on several).')
    .option('--wait', 'Wait until the model is unloaded (its deployed model is gone).')
    .action(
      action(async (ctx, [model], opts) => {
        const name = modelName(model!, ctx.client.accountId);
        const dep = opts.deployment ? deploymentName(ctx, String(opts.deployment)) : undefined;
        const copies = await loadedCopies(ctx, name, dep);
        if (copies.length === 0) throw new ApiCallError(404, 'NOT_FOUND', `${name} is not loaded${dep ? ` on ${dep}` : ''}`);
        if (copies.length > 1) throw new UsageError(`--deployment: ${name} is loaded on ${copies.length} deployments (${copies.map((c) => idOf(String(c.deployment))).join(', ')}); name one`);
        const id = idOf(String(copies[0]!.name));
        const answer = await ctx.client.account('DELETE', `/deployedModels/${encodeURIComponent(id)}`);
        const code = opts.wait ? await waitUnload(ctx, id, name, String(copies[0]!.deployment)) : 0;
        if (code !== 0) return code;
        if (ctx.output === 'table') ctx.out(`Unloaded ${name} from ${idOf(String(copies[0]!.deployment))} (deployed model ${id}).`);
        else ctx.printResource(answer);
      }),
    );
}

function registerUpdateDeployedModel(update: Command): void {
  const cmd = kindCommand(update, DEPLOYED_MODEL).argument('<id>', 'the deployed model id');
  addFieldFlags(cmd, LORA_FLAGS).action(
    action(async (ctx, [id], opts) => {
      const body = bodyFromFlags(LORA_FLAGS, opts);
      if (!Object.keys(body).length) throw new UsageError('update deployed-model: give at least one field flag (see --help)');
      ctx.printResource(await ctx.client.account('PATCH', `/deployedModels/${encodeURIComponent(idOf(id!))}`, { body }));
    }),
  );
}

export function registerModels(program: Command, v: { create: Command; update: Command }): void {
  registerCreateModel(v.create);
  registerUpdateModel(v.update);
  registerUpdateDeployedModel(v.update);
  registerLoadLora(program);
  registerUnloadLora(program);
}
