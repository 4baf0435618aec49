// The trainer contract's shared half (docs/trainer-contract.md): what the SFTJob controller and the
// REST process's trainer endpoint (src/api/routes/sft-trainer.ts) must agree on, in the layer both
// may import. The trainer reports progress to the API with a job-scoped token; the API keeps the
// latest report on the SFTJob as an annotation (JSON) so the REST view shows it at once; the
// controller copies it into `status.jobProgress` / `status.training` and decides on it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { GROUP } from './group.js';

export const SFT_ANNOTATIONS = {
  /** On an SFTJob: the trainer's latest progress (TrainerProgress JSON), written by the API. */
  trainerProgress: `${GROUP}/trainer-progress`,
} as const;

export const SFT_LABELS = {
  /** On the batch/v1 Job, its pods, the headless Service and the token Secret: the SFTJob's name. */
  job: `${GROUP}/sft-job`,
  /** On the same: the attempt (0, then +1 per resume); a new attempt is a new Job. */
  attempt: `${GROUP}/sft-attempt`,
} as const;

/** The carve-out datasets of a job: `<job>-train-split`, `<job>-eval-split` (resource ids ≤ 63). */
export const splitId = (job: string, part: 'train' | 'eval'): string => `${job.slice(0, 50).replace(/-+$/, '')}-${part}-split`;

/**
 * The datasets a job trains and evaluates on, as its validation decides them from the spec: the
 * evaluation dataset if given, else (unless `evalAutoCarveout` is false) the carve-out's two
 * datasets, written before the Job is made. The status records them too, but a trainer may call
 * before any status is written (the controller writes RUNNING once the pods run).
 */
export function trainingDatasets(account: string, job: string, spec: { dataset?: unknown; evaluationDataset?: unknown; evalAutoCarveout?: unknown }): { train?: string; eval?: string } {
  const dataset = typeof spec.dataset === 'string' ? spec.dataset : undefined;
  if (typeof spec.evaluationDataset === 'string' && spec.evaluationDataset !== '') return { train: dataset, eval: spec.evaluationDataset };
  if (spec.evalAutoCarveout === false) return { train: dataset };
  return { train: `accounts/${account}/datasets/${splitId(job, 'train')}`, eval: `accounts/${account}/datasets/${splitId(job, 'eval')}` };
}

/** The store prefix under which a job's trainer writes: `sft-jobs/<account>/<job>/`. */
export const sftJobPrefix = (account: string, job: string): string => `sft-jobs/${account}/${job}/`;

/** Files the trainer may PUT: `checkpoints/<name>/<file>` or `adapter/<file>` (PEFT layout). */
export const TRAINER_FILE = /^(checkpoints\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}|adapter)\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** One report of the trainer (POST .../progress). Every field optional but `step`. */
export const TrainerReport = z.strictObject({
  epoch: z.number().int().min(0).optional(),
  step: z.number().int().min(0),
  totalSteps: z.number().int().min(1).optional(),
  trainLoss: z.number().min(0).optional(),
  evalLoss: z.number().min(0).optional(),
  tokensProcessed: z.number().int().min(0).optional(),
  /** A checkpoint complete under `checkpoints/<name>/` (uploaded before the report). */
  checkpoint: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/).optional(),
  /** The final adapter is complete under `adapter/`; the trainer is about to exit 0. */
  done: z.boolean().optional(),
  /** The trainer stopped early (its own early-stopping), the adapter is the best checkpoint's. */
  earlyStopped: z.boolean().optional(),
});
export type TrainerReport = z.infer<typeof TrainerReport>;

/** What the API keeps (the annotation): the latest report plus what is derived over all of them. */
export interface TrainerProgress extends TrainerReport {
  /** The attempt the report belongs to (a stale attempt's trainer cannot overwrite a newer one). */
  attempt: number;
  /** Lowest evaluation loss so far, and how many evaluations since it improved. */
  bestEvalLoss?: number;
  evalsSinceBest?: number;
  /** The checkpoint written at the best evaluation, and the latest checkpoint. */
  bestCheckpoint?: string;
  lastCheckpoint?: string;
  /**
   * The training loss curve: `[step, trainLoss]` of the reports that carried a training loss, in
   * step order, at most LOSS_CURVE_MAX points (thinned by halves past that, first and last kept).
   * A report without a training loss adds none and, within an attempt, removes none. Carried across
   * attempts: a resumed run replaces the points from its first step on.
   */
  lossCurve?: [number, number][];
  /** RFC 3339 time the API received the report. */
  at: string;
}

/** Points the loss curve keeps (~4 KiB of annotation). */
export const LOSS_CURVE_MAX = 200;

/** The curve with a report's training loss added (pure): points from its step on are replaced. */
export function nextLossCurve(prev: [number, number][] | undefined, step: number, trainLoss: number | undefined): [number, number][] {
  const kept = (prev ?? []).filter(([s]) => s < step);
  if (trainLoss === undefined) return kept.length === (prev ?? []).length ? (prev ?? []) : kept;
  const curve: [number, number][] = [...kept, [step, trainLoss]];
  if (curve.length <= LOSS_CURVE_MAX) return curve;
  // Thin by halves: every other point, the last one kept.
  return curve.filter((_, i) => i % 2 === 0 || i === curve.length - 1);
}

function curveField(prev: TrainerProgress | undefined, r: TrainerReport, attempt: number): Pick<TrainerProgress, 'lossCurve'> {
  // Within an attempt, a report without a training loss (an evaluation, a checkpoint, done) comes
  // after the training log of its step: it leaves the curve alone. Dropping "points from its step on"
  // here erased that step's point (an evaluation reported alone, the final done report).
  if (r.trainLoss === undefined && prev?.attempt === attempt) return prev.lossCurve?.length ? { lossCurve: prev.lossCurve } : {};
  const c = nextLossCurve(prev?.lossCurve, r.step, r.trainLoss);
  return c.length ? { lossCurve: c } : {};
}

/** The next progress from the previous one and a report (pure). */
export function mergeReport(prev: TrainerProgress | undefined, r: TrainerReport, attempt: number, at: string): TrainerProgress {
  const base = prev && prev.attempt === attempt ? prev : undefined;
  const { bestEvalLoss, evalsSinceBest, bestCheckpoint, lastCheckpoint } = base ?? {};
  const next: TrainerProgress = { ...r, attempt, at, ...curveField(prev, r, attempt) };
  const last = r.checkpoint ?? lastCheckpoint;
  if (last) next.lastCheckpoint = last;
  if (r.evalLoss !== undefined) {
    const improved = bestEvalLoss === undefined || r.evalLoss < bestEvalLoss;
    next.bestEvalLoss = improved ? r.evalLoss : bestEvalLoss!;
    next.evalsSinceBest = improved ? 0 : (evalsSinceBest ?? 0) + 1;
    const best = improved ? (r.checkpoint ?? last) : bestCheckpoint;
    if (best) next.bestCheckpoint = best;
  } else {
    if (bestEvalLoss !== undefined) next.bestEvalLoss = bestEvalLoss;
    if (evalsSinceBest !== undefined) next.evalsSinceBest = evalsSinceBest;
    if (bestCheckpoint) next.bestCheckpoint = bestCheckpoint;
  }
  // Progress never goes backwards within an attempt (a retried report arriving late).
  if (base && base.step > r.step) return { ...base, at };
  return next;
}

export function parseProgress(raw: string | undefined): TrainerProgress | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as TrainerProgress;
    return typeof v === 'object' && v !== null && typeof v.step === 'number' && typeof v.attempt === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The trainer's token of an attempt: `<attempt>.<mac>`, the mac an HMAC-SHA256 of the job's uid and
 * the attempt under the installation's token key (PostgreSQL `installation_secrets`,
 * `sft-trainer-tokens`; 32 bytes, base64url). Derived, not random, so every pass of one attempt makes
 * the same token (a retried pass rewrites the Secret with the token a started pod already holds), and
 * the API can check a token from the job's uid alone (`trainerTokenAttempt`), without waiting for
 * anything the controller writes after the pod starts. The attempt is in the clear so the API knows
 * which mac to compute; it is covered by the mac, so it cannot be changed. A new attempt (:resume) or
 * a new job of the same name (a new uid) gets another token.
 */
export function trainerToken(key: string | Buffer, uid: string, attempt: number): string {
  if (!uid) throw new Error('trainerToken: the SFTJob has no metadata.uid');
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new Error(`trainerToken: bad attempt ${attempt}`);
  return `${attempt}.${createHmac('sha256', key).update(`hearth sft trainer token\0${uid}\0${attempt}`).digest('base64url')}`;
}

const TOKEN_FORM = /^(0|[1-9][0-9]{0,8})\.[A-Za-z0-9_-]{43}$/;

/**
 * The attempt a presented token was minted for, if it is a token of the job with this uid (the mac
 * recomputed and compared in constant time); else undefined. Whether that attempt may still call
 * is the caller's decision (the job's current attempt, or the one just started).
 */
export function trainerTokenAttempt(key: string | Buffer, uid: string | undefined, presented: string): number | undefined {
  const m = TOKEN_FORM.exec(presented);
  if (!m || !uid) return undefined;
  const attempt = Number(m[1]);
  const want = Buffer.from(trainerToken(key, uid, attempt));
  const got = Buffer.from(presented);
  return got.length === want.length && timingSafeEqual(got, want) ? attempt : undefined;
}

/** Evaluations without improvement after which an `earlyStop` job stops. */
export const EARLY_STOP_PATIENCE = 2;

/** The minimum examples of a fine-tuning dataset (docs: "Minimum examples: 3"). */
export const MIN_SFT_EXAMPLES = 3;
/** Docs: "we set a max value of 3 million dataset examples * epochs". */
export const MAX_EXAMPLE_EPOCHS = 3_000_000;
/** Epochs accepted (the docs raise by 1 or 2 from the default 1; Hearth caps at 100). */
export const MAX_EPOCHS = 100;
/** Learning rates accepted: (0, 1]. */
export const MAX_LEARNING_RATE = 1;
