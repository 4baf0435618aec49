// Jobs: supervised fine-tuning (create sftj --wait until it ends, cancel, resume) and batch jobs
// (create, update, cancel, get-logs --follow).
import type { Command } from 'commander';
import type { Query } from '../client.js';
import { action, type Ctx } from '../context.js';
import { EXIT, UsageError } from '../errors.js';
import { addFieldFlags, bodyFromFlags, type FieldFlag } from '../flags.js';
import { idOf, parseInt32 } from '../format.js';
import { kindNamed, type Kind } from '../kinds.js';
import { finishWait, waitUntil } from '../progress.js';
import { sftObserver } from '../waits.js';
import { kindCommand } from './generic.js';

const SFTJ = kindNamed('sftj')!;
const BATCH_JOB = kindNamed('batch-job')!;

export const SFT_FLAGS: readonly FieldFlag[] = [
  { flag: 'base-model', field: 'baseModel', type: 'string', description: 'The base model to fine-tune (exclusive with --warm-start-from).' },
  { flag: 'warm-start-from', field: 'warmStartFrom', type: 'string', description: 'A LoRA addon to continue training from.' },
  { flag: 'dataset', field: 'dataset', type: 'string', description: '(required) The dataset to train on.' },
  { flag: 'output-model', field: 'outputModel', type: 'string', description: 'The id of the resulting model (default: the job id).' },
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'The display name of the fine-tuning job.' },
  { flag: 'epochs', field: 'epochs', type: 'int', min: 1, description: 'The number of epochs to train for.' },
  { flag: 'learning-rate', field: 'learningRate', type: 'number', description: 'The learning rate used for training.' },
  { flag: 'lora-rank', field: 'loraRank', type: 'int', min: 1, description: 'The LoRA rank used for training.' },
  { flag: 'max-context-length', field: 'maxContextLength', type: 'int', min: 1, description: 'Maximum context length.' },
  { flag: 'batch-size', field: 'batchSize', type: 'int', min: 1, description: 'Batch size (tokens).' },
  { flag: 'early-stop', field: 'earlyStop', type: 'bool', description: 'Enable early stopping.' },
  { flag: 'evaluation-dataset', field: 'evaluationDataset', type: 'string', description: 'A separate evaluation dataset.' },
  { flag: 'eval-auto-carveout', field: 'evalAutoCarveout', type: 'bool', description: 'Carve the evaluation set out of the training set.' },
  { flag: 'jinja-template', field: 'jinjaTemplate', type: 'string', description: 'Jinja template for conversations.' },
  { flag: 'wandb', field: 'wandbConfig.enabled', type: 'bool', description: 'Enable Weights & Biases.' },
  { flag: 'wandb-api-key', field: 'wandbConfig.apiKey', type: 'string', description: 'A Weights & Biases API key.' },
  { flag: 'wandb-project', field: 'wandbConfig.project', type: 'string', description: 'The Weights & Biases project.' },
  { flag: 'wandb-entity', field: 'wandbConfig.entity', type: 'string', description: 'The Weights & Biases entity.' },
  { flag: 'wandb-run-id', field: 'wandbConfig.runId', type: 'string', description: 'The Weights & Biases run id.' },
];

const datasetName = (ctx: Ctx, v: string): string => (v.includes('/') ? v : `accounts/${ctx.client.accountId}/datasets/${v}`);

/** --wait: until the job ends (exit 0 completed, 1 failed/cancelled, 130 Ctrl-C). */
async function waitSft(ctx: Ctx, id: string): Promise<number> {
  const o = { display: ctx.display(), intervalMs: ctx.pollMs, what: `fine-tuning job ${id}`, lookAgain: `hearth get sftj ${id}`, timeoutMs: ctx.waitTimeoutMs };
  const r = await waitUntil(() => ctx.client.account('GET', `/supervisedFineTuningJobs/${encodeURIComponent(id)}`), sftObserver(), o);
  const { exitCode, message } = finishWait(r, o);
  if (message) ctx.err(message);
  if ('last' in r && r.last) ctx.printResource(r.last);
  return exitCode;
}

function registerCreateSft(create: Command): void {
  const cmd = kindCommand(create, SFTJ)
    .description('Creates a supervised fine-tuning job: `hearth create sftj --base-model llama-v3p1-8b-instruct --dataset my-data --output-model my-model --wait`.')
    .option('--job-id <id>', 'The ID of the fine-tuning job (random if absent).')
    .option('--wait', 'Wait until the job ends, showing epoch, step, loss and ETA.');
  addFieldFlags(cmd, SFT_FLAGS).action(
    action(async (ctx, _args, opts) => {
      const body = bodyFromFlags(SFT_FLAGS, opts);
      if (!body.dataset) throw new UsageError('--dataset: required (the dataset to train on)');
      if (!body.baseModel && !body.warmStartFrom) throw new UsageError('--base-model: required (or --warm-start-from)');
      body.dataset = datasetName(ctx, String(body.dataset));
      if (body.evaluationDataset) body.evaluationDataset = datasetName(ctx, String(body.evaluationDataset));
      const created = await ctx.client.account('POST', '/supervisedFineTuningJobs', { body, query: { supervisedFineTuningJobId: opts.jobId as string | undefined } });
      if (!opts.wait) return ctx.printResource(created);
      return waitSft(ctx, idOf(String(created.name)));
    }),
  );
}

const BATCH_FLAGS: readonly FieldFlag[] = [
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'The display name of the batch job.' },
  { flag: 'node-pool', field: 'nodePoolId', type: 'string', description: '(required on create) The node pool to run on.' },
  { flag: 'environment', field: 'environmentId', type: 'string', description: 'The environment to run in.' },
  { flag: 'image-ref', field: 'imageRef', type: 'string', description: 'The container image to run (exclusive with --environment).' },
  { flag: 'num-ranks', field: 'numRanks', type: 'int', min: 1, description: 'Ranks: GPUs on a GPU pool, hosts on a CPU pool.' },
  { flag: 'shell-command', field: 'shellExecutor.command', type: 'string', description: 'Run a shell command.' },
  { flag: 'python-module', field: 'pythonExecutor.target', type: 'string', description: 'Run a Python module (python -m).' },
  { flag: 'env', field: 'envVars', type: 'map', description: 'Environment variables, NAME=value.' },
  { flag: 'shared', field: 'shared', type: 'bool', description: 'Share with every user of the account.' },
];

function registerBatchJob(create: Command, update: Command): void {
  const cmd = kindCommand(create, BATCH_JOB).description('Creates a batch job (the server assigns its numeric id).');
  addFieldFlags(cmd, BATCH_FLAGS).action(
    action(async (ctx, _args, opts) => {
      const body = bodyFromFlags(BATCH_FLAGS, opts);
      if (body.pythonExecutor) (body.pythonExecutor as Record<string, unknown>).targetType = 'MODULE';
      if (body.envVars) body.envVars = Object.fromEntries(Object.entries(body.envVars as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      ctx.printResource(await ctx.client.account('POST', '/batchJobs', { body }));
    }),
  );
  const up = kindCommand(update, BATCH_JOB).argument('<id>', 'the batch job id');
  addFieldFlags(up, BATCH_FLAGS).action(
    action(async (ctx, [id], opts) => {
      const body = bodyFromFlags(BATCH_FLAGS, opts);
      if (!Object.keys(body).length) throw new UsageError('update batch-job: give at least one field flag (see --help)');
      ctx.printResource(await ctx.client.account('PATCH', `/batchJobs/${encodeURIComponent(idOf(id!))}`, { body }));
    }),
  );
}

function registerVerb(parent: Command, kind: Kind, verb: 'cancel' | 'resume', done: string): void {
  kindCommand(parent, kind)
    .argument('<id>', `the ${kind.title} id`)
    .action(
      action(async (ctx, [id]) => {
        const answer = await ctx.client.account('POST', `${kind.path}/${encodeURIComponent(idOf(id!))}:${verb}`, { body: {} });
        if (ctx.output === 'table' && Object.keys(answer).length === 0) ctx.out(`${done} ${kind.title} ${idOf(id!)}.`);
        else ctx.printResource(answer);
      }),
    );
}

const JOB_ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'DELETING']);

interface LogEntry {
  logTime?: string;
  message?: string;
  rank?: number;
}

export function formatLogEntry(e: LogEntry): string {
  return `${e.logTime ?? ''} [${e.rank ?? 0}] ${e.message ?? ''}`.trimStart();
}

/** get-logs: oldest first; --follow polls with the page token until the job has ended and no lines remain. */
function registerGetLogs(program: Command): void {
  program
    .command('get-logs')
    .summary('Print the logs of a batch job.')
    .argument('<batch-job-id>', 'the batch job id')
    .option('--follow', 'Keep printing new lines until the job ends (Ctrl-C stops following, not the job).')
    .option('--ranks <ranks>', 'Only these ranks (comma-separated).')
    .option('--filter <text>', 'Only lines containing this text.')
    .option('--page-size <int>', 'Lines per request (default 100, at most 10000).')
    .option('--start-time <rfc3339>', 'Lines from this time on.')
    .action(
      action(async (ctx, [id], opts) => {
        const path = `/batchJobs/${encodeURIComponent(idOf(id!))}`;
        const query = {
          ranks: opts.ranks ? String(opts.ranks).split(',') : undefined,
          filter: opts.filter as string | undefined,
          pageSize: opts.pageSize === undefined ? undefined : parseInt32('page-size', String(opts.pageSize), 1),
          startTime: opts.startTime as string | undefined,
          startFromHead: true,
        };
        return followLogs(ctx, path, query, opts.follow === true);
      }),
    );
}

type LogsPage = { entries?: LogEntry[]; nextPageToken?: string };
type Cursor = { pageToken?: string; pages: LogsPage[]; follow: boolean };

/** Pages of lines from `pageToken` on until a page comes back empty; prints them as they come. */
async function drain(ctx: Ctx, path: string, query: Query, from: Cursor): Promise<void> {
  for (;;) {
    const page = await ctx.client.account<LogsPage>('GET', `${path}:getLogs`, { query: { ...query, pageToken: from.pageToken } });
    from.pages.push(page);
    if (ctx.output === 'table') for (const e of page.entries ?? []) ctx.out(formatLogEntry(e));
    else if (from.follow) ctx.out(JSON.stringify(page));
    from.pageToken = page.nextPageToken || from.pageToken;
    if (!page.entries?.length || !page.nextPageToken) return;
  }
}

/** Lines until now; with follow, again every poll until the job has ended (or Ctrl-C). */
async function followLogs(ctx: Ctx, path: string, query: Query, follow: boolean): Promise<number> {
  let stop = false;
  const onInt = (): void => void (stop = true);
  process.once('SIGINT', onInt);
  try {
    const from: Cursor = { pages: [], follow };
    await drain(ctx, path, query, from);
    while (follow && !stop && !JOB_ENDED.has(String((await ctx.client.account('GET', path)).state))) {
      await new Promise((r) => setTimeout(r, ctx.pollMs));
      if (!stop) await drain(ctx, path, query, from);
    }
    if (!follow && ctx.output !== 'table') ctx.printResource(from.pages.length === 1 ? from.pages[0] : { entries: from.pages.flatMap((p) => p.entries ?? []) });
    return stop ? EXIT.interrupted : EXIT.ok;
  } finally {
    process.removeListener('SIGINT', onInt);
  }
}

export function registerJobs(program: Command, v: { create: Command; update: Command; cancel: Command; resume: Command }): void {
  registerCreateSft(v.create);
  registerBatchJob(v.create, v.update);
  registerVerb(v.cancel, SFTJ, 'cancel', 'Cancelling');
  registerVerb(v.cancel, BATCH_JOB, 'cancel', 'Cancelling');
  registerVerb(v.resume, SFTJ, 'resume', 'Resuming');
  registerGetLogs(program);
}
