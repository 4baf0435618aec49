// What the REST facade checks of a supervised fine-tuning job beyond the CRD schema, before any
// object exists (so a bad job holds no Job and no quota): the base model exists and can be tuned
// (or the warm start is a READY adapter of the account), the documented ranges, an output model id
// that is free. The controller checks the same again (src/controllers/sft-job/validate.ts) for
// jobs applied with kubectl. And `:estimateCost`.
import { MAX_EPOCHS, MAX_LEARNING_RATE } from '../../crds/sft-trainer.js';
import type { Db } from '../../db/client.js';
import { getDataset } from '../../db/repositories/datasets.js';
import { getModel } from '../../db/repositories/models.js';
import { estimateTrainingCost, sharedBaseModel, trainingCandidates, untunableReason } from '../../fleet/training.js';
import { ApiError, failedPrecondition, invalidArgument } from '../wire/errors.js';

const MODEL = /^accounts\/([^/]+)\/models\/([^/]+)$/;

function notFoundField(field: string, what: string): ApiError {
  return new ApiError('NOT_FOUND', `${field}: ${what} not found`, [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: `${what} not found`, reason: 'NOT_FOUND' }] }]);
}

/** The shared base model the job tunes (from baseModel, or warmStartFrom's adapter); throws naming the field. */
async function baseOf(db: Db, accountId: string, spec: Record<string, unknown>): Promise<NonNullable<ReturnType<typeof sharedBaseModel>>> {
  let field = 'baseModel';
  let ref = typeof spec.baseModel === 'string' ? spec.baseModel : undefined;
  if (!ref && typeof spec.warmStartFrom === 'string') {
    field = 'warmStartFrom';
    const m = MODEL.exec(spec.warmStartFrom);
    const row = m && m[1] === accountId ? await getModel(db, accountId, m[2]!) : undefined;
    if (!row) throw notFoundField(field, `model "${spec.warmStartFrom}"`);
    const base = (row.spec.peftDetails as { baseModel?: unknown } | undefined)?.baseModel;
    if (row.state !== 'READY' || typeof base !== 'string') throw invalidArgument(field, `model "${spec.warmStartFrom}" must be a READY LoRA adapter to continue training from`, 'NOT_ADAPTER');
    ref = base;
  }
  if (!ref) throw invalidArgument('baseModel', 'exactly one of baseModel or warmStartFrom must be set', 'REQUIRED');
  const shared = sharedBaseModel(ref);
  if (!shared) {
    const m = MODEL.exec(ref);
    if (m && m[1] === accountId && (await getModel(db, accountId, m[2]!))) throw invalidArgument(field, `model "${ref}" cannot be fine-tuned: only the shared base models (accounts/fireworks/models/…) are tunable; to continue training an adapter use warmStartFrom`, 'NOT_TUNABLE');
    throw notFoundField(field, `model "${ref}"`);
  }
  const why = untunableReason(shared.model);
  if (why) throw invalidArgument(field, `model "${ref}": ${why}`, 'NOT_TUNABLE');
  return shared;
}

export async function checkTrainable(db: Db, accountId: string, spec: Record<string, unknown>): Promise<void> {
  const epochs = typeof spec.epochs === 'number' ? spec.epochs : 1;
  if (epochs > MAX_EPOCHS) throw invalidArgument('epochs', `must be at most ${MAX_EPOCHS}`, 'MAX');
  if (typeof spec.learningRate === 'number' && spec.learningRate > MAX_LEARNING_RATE) throw invalidArgument('learningRate', `must be at most ${MAX_LEARNING_RATE}`, 'MAX');
  await baseOf(db, accountId, spec);
}

/** The model the job will write (outputModel, else the job id) must not exist yet. */
export async function checkOutputModelFree(db: Db, accountId: string, jobId: string, spec: Record<string, unknown>): Promise<void> {
  const id = typeof spec.outputModel === 'string' && spec.outputModel !== '' ? spec.outputModel : jobId;
  if (id && (await getModel(db, accountId, id))) {
    throw new ApiError('INVALID_ARGUMENT', `outputModel: model "accounts/${accountId}/models/${id}" already exists; name a new model`, [
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'outputModel', description: 'already exists', reason: 'ALREADY_EXISTS' }] },
    ]);
  }
}

/** `:estimateCost`: tokens (the dataset's estimate) × epochs on the first placement the controller tries, at its catalog price. */
export async function estimateCost(db: Db, accountId: string, spec: Record<string, unknown>): Promise<{ estimatedCost: { currencyCode: string; units: string; nanos: number } }> {
  await checkTrainable(db, accountId, spec);
  const base = await baseOf(db, accountId, spec);
  const m = /^accounts\/([^/]+)\/datasets\/([^/]+)$/.exec(String(spec.dataset));
  const row = m ? await getDataset(db, m[1]!, m[2]!) : undefined;
  if (!row) throw failedPrecondition('dataset: the dataset is not available', 'ERR_DATASET_GONE');
  const tokens = Number(row.estimatedTokenCount ?? BigInt(Number(row.exampleCount ?? 0n) * 256));
  const epochs = typeof spec.epochs === 'number' ? spec.epochs : 1;
  const { usd } = estimateTrainingCost(base.model, trainingCandidates(base.model)[0]!.shape, tokens, epochs);
  const units = Math.floor(usd);
  return { estimatedCost: { currencyCode: 'USD', units: String(units), nanos: Math.round((usd - units) * 1e9) } };
}
