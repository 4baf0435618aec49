// The trainer's side of the SFT contract (src/controllers/sft-job/README.md): a few endpoints a
// trainer pod calls with its job-scoped token (`Authorization: Bearer <HEARTH_TRAINER_TOKEN>`),
// outside /v1 (no API key: the token is the credential; not in the OpenAPI document).
//
//   GET  /v1-trainer/sft/{a}/{job}/inputs          signed download URLs of the datasets (train, eval)
//                                                  and, on a resume, the checkpoint's file list
//   PUT  /v1-trainer/sft/{a}/{job}/files/{path}    a checkpoint file or the final adapter file, raw
//                                                  bytes, into the artifact store under sft-jobs/{a}/{job}/
//   GET  /v1-trainer/sft/{a}/{job}/files/{path}    one of those back (resume from a checkpoint)
//   POST /v1-trainer/sft/{a}/{job}/progress        a TrainerReport; kept on the SFTJob (annotation)
//   GET  /metrics/sft                              Prometheus: the latest step, losses and tokens per job
//
// The token (src/crds/sft-trainer.ts `trainerToken`): `<attempt>.<HMAC of the job's uid and the
// attempt>` under the installation's token key in PostgreSQL, which the controller and this process
// both read. It is checked here from the job's uid and the attempt it names, never against anything
// the controller writes after the trainer pod starts (a trainer of a new attempt may call before the
// status naming it is written); that attempt must be the job's current one or the one after it (a
// resume the status does not show yet). A superseded attempt's token, another job's, or any token
// once the job's current attempt is final, is refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { accountNamespace } from '../../crds/account.js';
import { SFT_ANNOTATIONS, TRAINER_FILE, TrainerReport, mergeReport, parseProgress, sftJobPrefix, trainerTokenAttempt, trainingDatasets } from '../../crds/sft-trainer.js';
import { SECRET_NAMES, installationSecret } from '../../db/repositories/installation-secrets.js';
import { getDataset } from '../../db/repositories/datasets.js';
import { rfc3339 } from '../../util/rfc3339.js';
import { Datasets } from '../datasets/service.js';
import { statusCodeOf } from '../kube/errors.js';
import type { CustomObject } from '../kube/kind-client.js';
import { sendError } from '../plugins/errors.js';
import { ApiError, failedPrecondition, invalidArgument, unauthenticated } from '../wire/errors.js';
import type { DatasetRoutesOptions } from './datasets.js';

export const TRAINER_PATH_ROOT = '/v1-trainer/sft';
/** Largest file a trainer may PUT (an adapter of a 70B model at rank 64 is a few GiB). */
export const MAX_TRAINER_FILE_BYTES = 16 * 1024 ** 3;

const FINAL = ['JOB_STATE_COMPLETED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EARLY_STOPPED', 'JOB_STATE_DELETED'];

export class SftMetrics {
  readonly registry = new Registry();
  readonly reports = new Counter({ name: 'hearth_sft_progress_reports_total', help: 'Progress reports received from trainers.', labelNames: ['account'], registers: [this.registry] });
  readonly step = new Gauge({ name: 'hearth_sft_job_step', help: 'Latest training step reported.', labelNames: ['account', 'job'], registers: [this.registry] });
  readonly percent = new Gauge({ name: 'hearth_sft_job_progress_ratio', help: 'step / totalSteps of the latest report.', labelNames: ['account', 'job'], registers: [this.registry] });
  readonly trainLoss = new Gauge({ name: 'hearth_sft_job_train_loss', help: 'Latest training loss.', labelNames: ['account', 'job'], registers: [this.registry] });
  readonly evalLoss = new Gauge({ name: 'hearth_sft_job_eval_loss', help: 'Latest evaluation loss.', labelNames: ['account', 'job'], registers: [this.registry] });
  readonly tokens = new Gauge({ name: 'hearth_sft_job_tokens_processed', help: 'Tokens trained on so far.', labelNames: ['account', 'job'], registers: [this.registry] });

  observe(account: string, job: string, r: TrainerReport): void {
    const l = { account, job };
    this.reports.inc({ account });
    this.step.set(l, r.step);
    if (r.totalSteps) this.percent.set(l, r.step / r.totalSteps);
    if (r.trainLoss !== undefined) this.trainLoss.set(l, r.trainLoss);
    if (r.evalLoss !== undefined) this.evalLoss.set(l, r.evalLoss);
    if (r.tokensProcessed !== undefined) this.tokens.set(l, r.tokensProcessed);
  }
}

interface Params {
  accountId: string;
  jobId: string;
}

interface Authorized {
  obj: CustomObject;
  attempt: number;
}

const DATASET = /^accounts\/([^/]+)\/datasets\/([^/]+)$/;

export function sftTrainerRoutes(metrics: SftMetrics = new SftMetrics()) {
  return async (app: FastifyInstance, opts: DatasetRoutesOptions): Promise<void> => {
    const datasets = new Datasets(app.hearth.db, opts, app.log, app.hearth.artifacts);
    const store = app.hearth.artifacts;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_r, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(invalidArgument('body', 'is not JSON', 'FORMAT'), undefined);
      }
    });
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    /** The installation's token key (the controller's too), read once; a failed read is tried again. */
    let tokenKey: Promise<Buffer> | undefined;
    const keyOf = (): Promise<Buffer> => {
      const read = (tokenKey ??= installationSecret(app.hearth.db, SECRET_NAMES.sftTrainerTokens));
      read.catch(() => {
        if (tokenKey === read) tokenKey = undefined;
      });
      return read;
    };

    /** The job the token opens and the attempt it was minted for, or the error to send. */
    const authorize = async (request: FastifyRequest): Promise<Authorized> => {
      const { accountId, jobId } = request.params as Params;
      const auth = request.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
      const client = app.hearth.kinds?.supervisedFineTuningJobs;
      if (!token || !client) throw unauthenticated('a trainer token is required');
      const ns = accountNamespace(accountId);
      const key = await keyOf();
      let obj = await client.get(ns, jobId);
      let attempt = attemptOpened(key, token, obj, false);
      if (attempt === undefined) {
        obj = await client.read(ns, jobId);
        attempt = attemptOpened(key, token, obj, true);
      }
      if (!obj || attempt === undefined) throw unauthenticated('the trainer token is not valid for this job');
      // A final state is the current attempt's: a trainer of the attempt after it is a resume.
      if (attempt === currentAttempt(obj) && FINAL.includes(String(obj.status?.state))) {
        throw failedPrecondition(`supervised fine-tuning job ${jobId} is ${String(obj.status?.state)}; the trainer must stop`, 'ERR_JOB_ENDED');
      }
      return { obj, attempt };
    };

    const guarded = (fn: (request: FastifyRequest, reply: FastifyReply, a: Authorized) => Promise<unknown>) => async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        return await fn(request, reply, await authorize(request));
      } catch (e) {
        return sendError(reply, e);
      }
    };

    const base = `${TRAINER_PATH_ROOT}/:accountId/:jobId`;
    const hide = { schema: { hide: true } as Record<string, unknown> };

    app.get(
      `${base}/inputs`,
      hide,
      guarded(async (request, _reply, { obj, attempt }) => {
        const { accountId } = request.params as Params;
        const training = (obj.status?.training ?? {}) as { trainDataset?: string; evalDataset?: string; checkpoint?: string };
        const origin = `${request.protocol}://${request.host}`;
        const urls = async (ref: string | undefined): Promise<Record<string, string> | undefined> => {
          const m = ref ? DATASET.exec(ref) : null;
          if (!m || m[1] !== accountId) return undefined;
          const row = await getDataset(app.hearth.db, accountId, m[2]!);
          return row ? datasets.downloadEndpoint(origin, accountId, row, app.hearth.now().getTime()) : undefined;
        };
        // The status may not record them yet (it is written once the pods run): the spec says which.
        const chosen = trainingDatasets(accountId, obj.metadata.name, obj.spec ?? {});
        const train = await urls(training.trainDataset ?? chosen.train);
        if (!train) throw failedPrecondition('the training dataset is not available', 'ERR_DATASET_GONE');
        const evalUrls = await urls(training.trainDataset !== undefined ? training.evalDataset : chosen.eval);
        const resume = attempt > 0 && training.checkpoint ? training.checkpoint : undefined;
        const checkpointFiles = resume ? (await store.list(`${sftJobPrefix(accountId, obj.metadata.name)}checkpoints/${resume}/`)).map((o) => o.key.split('/').pop()!) : [];
        return { train, ...(evalUrls ? { eval: evalUrls } : {}), attempt, ...(resume ? { resumeCheckpoint: resume, checkpointFiles } : {}) };
      }),
    );

    app.put(
      `${base}/files/*`,
      { ...hide, bodyLimit: MAX_TRAINER_FILE_BYTES },
      guarded(async (request, reply) => {
        const { accountId, jobId } = request.params as Params;
        const path = (request.params as Record<string, string>)['*'] ?? '';
        if (!TRAINER_FILE.test(path)) throw invalidArgument('path', 'must be checkpoints/<name>/<file> or adapter/<file>', 'FORMAT');
        const length = Number(request.headers['content-length']);
        if (Number.isFinite(length) && length > MAX_TRAINER_FILE_BYTES) throw invalidArgument('Content-Length', `must be at most ${MAX_TRAINER_FILE_BYTES} bytes`, 'FILE_TOO_LARGE');
        const info = await store.put(`${sftJobPrefix(accountId, jobId)}${path}`, request.raw as AsyncIterable<Buffer>);
        return reply.code(200).send({ size: info.size });
      }),
    );

    app.get(
      `${base}/files/*`,
      hide,
      guarded(async (request, reply) => {
        const { accountId, jobId } = request.params as Params;
        const path = (request.params as Record<string, string>)['*'] ?? '';
        if (!TRAINER_FILE.test(path)) throw invalidArgument('path', 'must be checkpoints/<name>/<file> or adapter/<file>', 'FORMAT');
        const key = `${sftJobPrefix(accountId, jobId)}${path}`;
        const head = await store.head(key);
        const body = head ? await store.get(key) : undefined;
        if (!head || !body) throw new ApiError('NOT_FOUND', `file ${path} not found`);
        return reply.header('content-type', 'application/octet-stream').header('content-length', String(head.size)).send(body);
      }),
    );

    app.post(
      `${base}/progress`,
      hide,
      guarded(async (request, _reply, { obj, attempt }) => {
        const { accountId, jobId } = request.params as Params;
        const parsed = TrainerReport.safeParse(request.body);
        if (!parsed.success) throw invalidArgument('body', parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '), 'FORMAT');
        // Read-merge-write under the object's resourceVersion: two reports close together (or a
        // report and the cache's lag) must not drop a loss-curve point, so a conflict re-reads the
        // API server's object and merges again.
        const jobs = app.hearth.kinds!.supervisedFineTuningJobs!;
        const ns = obj.metadata.namespace ?? accountNamespace(accountId);
        let current: CustomObject | undefined = obj;
        for (let tries = 1; current; tries++) {
          const next = mergeReport(parseProgress(current.metadata.annotations?.[SFT_ANNOTATIONS.trainerProgress]), parsed.data, attempt, rfc3339(app.hearth.now()));
          const patch = { metadata: { resourceVersion: current.metadata.resourceVersion, annotations: { [SFT_ANNOTATIONS.trainerProgress]: JSON.stringify(next) } } };
          try {
            await jobs.mergePatch(ns, jobId, patch);
            break;
          } catch (e) {
            if (statusCodeOf(e) !== 409 || tries >= PROGRESS_WRITE_TRIES) throw e;
            current = await jobs.read(ns, jobId);
            // A new job of the same name, or a new attempt (the token opened what the cache still had):
            // a superseded trainer must not overwrite the current one's progress.
            if (superseded(current, obj, attempt)) throw unauthenticated('the trainer token is not valid for this job');
          }
        }
        if (!current) throw new ApiError('NOT_FOUND', `supervised fine-tuning job ${jobId} not found`);
        metrics.observe(accountId, jobId, parsed.data);
        return { accepted: true, attempt };
      }),
    );
  };
}

/** Conflicting writers of one job's progress are the trainer's ranks and the controller: a few tries settle it. */
const PROGRESS_WRITE_TRIES = 5;

/** The job's current attempt (0, then one more per :resume). */
const currentAttempt = (o: CustomObject): number => Number((o.status?.training as { attempt?: number } | undefined)?.attempt ?? 0);

/** The job read again is another one of the same name, or has moved past the trainer's attempt. */
const superseded = (now: CustomObject | undefined, authorized: CustomObject, attempt: number): boolean =>
  now !== undefined && (now.metadata.uid !== authorized.metadata.uid || currentAttempt(now) > attempt);

/**
 * The attempt a trainer token opens on this view of the job: its current one; on the API server's
 * view (`fresh`) also the next (a resume's trainer may call before the status naming its attempt is
 * written). The cache is trusted for the current attempt only (it may lag by one, as it always could).
 */
function attemptOpened(key: Buffer, token: string, o: CustomObject | undefined, fresh: boolean): number | undefined {
  const attempt = o ? trainerTokenAttempt(key, o.metadata.uid, token) : undefined;
  if (o === undefined || attempt === undefined) return undefined;
  const current = currentAttempt(o);
  return attempt === current || (fresh && attempt === current + 1) ? attempt : undefined;
}

const digest = (v: string): Buffer => createHash('sha256').update(v).digest();

/**
 * GET /metrics/sft (Prometheus text). It names every account's jobs, so it is never public (issue
 * 15 item 3): served only when HEARTH_METRICS_TOKEN is set, and only to `Bearer <token>`
 * (compared in constant time); without a token the route does not exist (404).
 */
export function sftMetricsRoute(metrics: SftMetrics, token: string | undefined) {
  return async (app: FastifyInstance): Promise<void> => {
    if (token === undefined) return;
    const want = digest(`Bearer ${token}`);
    app.get('/metrics/sft', { schema: { hide: true } as Record<string, unknown> }, async (request, reply) => {
      if (!timingSafeEqual(digest(request.headers.authorization ?? ''), want)) return sendError(reply, unauthenticated('GET /metrics/sft needs the metrics token (Authorization: Bearer <HEARTH_METRICS_TOKEN>)'));
      return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  };
}
