// What `--wait` shows and when it stops, per kind: pure functions of the REST resource (and of a
// clock for rates and ETAs), unit-tested without a server.
import { at, bytes, eta } from './format.js';
import type { Observation, ProgressState } from './progress.js';

type R = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const statusMessage = (r: R): string | undefined => {
  const s = r.status as { code?: string; message?: string } | undefined;
  return s && s.code && s.code !== 'OK' && s.message ? `${s.code}: ${s.message}` : undefined;
};

const PHASES = [
  ['pending', 'replicaStats.pendingSchedulingReplicaCount'],
  ['downloading', 'replicaStats.downloadingModelReplicaCount'],
  ['initializing', 'replicaStats.initializingReplicaCount'],
] as const;

/** `2 pending`, `1 initializing`: the replica stages with someone in them. */
function phasesOf(r: R): string[] {
  return PHASES.map(([label, path]) => [label, num(at(r, path)) ?? 0] as const)
    .filter(([, n]) => n > 0)
    .map(([label, n]) => `${n} ${label}`);
}

/** A deployment until READY: replicas ready of desired and the phase it is in. */
export function observeDeployment(r: R): Observation {
  const state = String(r.state ?? 'STATE_UNSPECIFIED');
  const ready = num(at(r, 'replicaStats.readyReplicaCount')) ?? 0;
  const desired = num(r.desiredReplicaCount) ?? num(r.minReplicaCount) ?? 0;
  const msg = statusMessage(r);
  const line = [state, `replicas ${ready}/${desired} ready`, ...phasesOf(r), ...(msg ? [msg] : [])].join(' · ');
  const fraction = state === 'READY' ? 1 : desired > 0 ? Math.min(1, ready / desired) : 0;
  return deploymentVerdict(state, msg, { fraction, line });
}

function deploymentVerdict(state: string, msg: string | undefined, shown: ProgressState): Observation {
  if (state === 'READY') return { state: shown, done: true };
  if (state === 'FAILED') return { state: shown, failed: msg ?? 'the deployment FAILED' };
  if (state === 'DELETING' || state === 'DELETED') return { state: shown, failed: `the deployment is ${state}` };
  return { state: shown };
}

/** A LoRA (DeployedModel) until DEPLOYED. */
export function observeLora(r: R): Observation {
  const state = String(r.state ?? 'STATE_UNSPECIFIED');
  const msg = statusMessage(r);
  const line = [`${String(r.model ?? '')} on ${String(r.deployment ?? '').split('/').pop()}`, state, ...(msg ? [msg] : [])].join(' · ');
  if (state === 'DEPLOYED') return { state: { fraction: 1, line }, done: true };
  if (state === 'UNDEPLOYING') return { state: { fraction: 0, line }, failed: msg ?? 'the LoRA is being unloaded' };
  return { state: { fraction: state === 'DEPLOYING' ? 0.5 : 0, line } };
}

/** `unload-lora --wait`: until the DeployedModel is gone (the poll reads a 404 as `{ gone: true }`). */
export function observeUnload(model: string, deployment: string): (r: R) => Observation {
  return (r) => {
    const where = `${model} on ${deployment.split('/').pop()}`;
    if (r.gone === true) return { state: { fraction: 1, line: `${where} · unloaded` }, done: true };
    const msg = statusMessage(r);
    return { state: { fraction: 0.5, line: [where, String(r.state ?? 'UNDEPLOYING'), ...(msg ? [msg] : [])].join(' · ') } };
  };
}

const SFT_DONE = new Set(['JOB_STATE_COMPLETED', 'JOB_STATE_EARLY_STOPPED']);
const SFT_FAILED = new Set(['JOB_STATE_FAILED', 'JOB_STATE_CANCELLED', 'JOB_STATE_EXPIRED', 'JOB_STATE_DELETED', 'JOB_STATE_DELETING']);

/** The first of these paths that holds a number. */
const firstNum = (r: R, paths: string[]): number | undefined => paths.map((p) => num(at(r, p))).find((v) => v !== undefined);

/** `epoch 2/3`, `step 40/120`, `loss 0.4312`: what the job reports of its training. */
export function sftMetrics(r: R): string[] {
  const parts: string[] = [];
  const epoch = num(at(r, 'jobProgress.epoch'));
  const epochs = num(r.epochs);
  // Hearth's `trainingProgress` extension has the step and losses (Fireworks' jobProgress does not).
  const step = firstNum(r, ['trainingProgress.step', 'jobProgress.step', 'jobProgress.currentStep']);
  const steps = firstNum(r, ['trainingProgress.totalSteps', 'jobProgress.totalSteps']);
  const loss = firstNum(r, ['trainingProgress.trainLoss', 'jobProgress.loss', 'jobProgress.trainLoss']);
  if (epoch !== undefined) parts.push(`epoch ${epoch + 1}${epochs ? `/${epochs}` : ''}`);
  if (step !== undefined) parts.push(`step ${step}${steps ? `/${steps}` : ''}`);
  if (loss !== undefined) parts.push(`loss ${loss.toFixed(4)}`);
  return parts;
}

function sftLine(r: R, state: string, progress: { p: number; eta?: string } | undefined, msg: string | undefined): string {
  const parts = [state.replace(/^JOB_STATE_/, '')];
  if (progress) parts.push(`${progress.p}%`);
  parts.push(...sftMetrics(r));
  if (progress?.eta) parts.push(`ETA ${progress.eta}`);
  if (msg) parts.push(msg);
  return parts.join(' · ');
}

/**
 * An SFT job until it ends: epoch, step, loss (when the job reports them) and an ETA from the rate
 * the percent moved since waiting began. Returns a stateful observer (it remembers the first sample).
 */
export function sftObserver(now: () => number = Date.now): (r: R) => Observation {
  let first: { t: number; p: number } | undefined;
  const etaOf = (p: number | undefined, t: number): number | undefined => {
    if (p === undefined) return undefined;
    if (first === undefined || p < first.p) first = { t, p };
    return p > first.p ? ((t - first.t) / 1000 / (p - first.p)) * (100 - p) : undefined;
  };
  return (r) => {
    const state = String(r.state ?? 'JOB_STATE_UNSPECIFIED');
    const p = num(at(r, 'jobProgress.percent'));
    const etaSeconds = etaOf(p, now());
    const ended = SFT_DONE.has(state);
    const msg = statusMessage(r);
    const line = sftLine(r, state, p === undefined ? undefined : { p, eta: ended ? undefined : eta(etaSeconds) }, msg);
    const shown: ProgressState = { fraction: ended ? 1 : (p ?? 0) / 100, line, key: line.replace(/ · ETA [^·]+/, '') };
    if (ended) return { state: shown, done: true };
    if (SFT_FAILED.has(state)) return { state: shown, failed: msg ?? `the job ended ${state}` };
    return { state: shown };
  };
}

/** A file upload: bytes sent of the total, the rate, the ETA; plain output every 10%. */
export function uploadState(file: string, sent: number, total: number, elapsedMs: number): ProgressState {
  const rate = elapsedMs > 0 ? sent / (elapsedMs / 1000) : 0;
  const fraction = total > 0 ? sent / total : 1;
  const left = rate > 0 ? (total - sent) / rate : undefined;
  const line = `uploading ${file}: ${bytes(sent)} / ${bytes(total)} · ${bytes(Math.round(rate))}/s · ETA ${sent >= total ? '0s' : eta(left)}`;
  return { fraction, line, key: String(Math.floor(fraction * 10)) };
}
