import type uPlot from 'uplot';
import { idOf, listAll, type Session } from '../api';
import { Chart } from '../chart';
import { usePoll } from '../poll';
import { Bar, fmt, Page, Status } from './common';

interface SftJobWire {
  name: string;
  displayName?: string;
  state?: string;
  baseModel?: string;
  dataset?: string;
  outputModel?: string;
  epochs?: number;
  createTime?: string;
  jobProgress?: { percent?: number; epoch?: number; step?: number; totalSteps?: number; loss?: number };
  /** Hearth extension: the trainer's step, losses and the training loss curve. */
  trainingProgress?: { step?: number; totalSteps?: number; trainLoss?: number; evalLoss?: number; lossCurve?: { step: number; loss: number }[] };
  [k: string]: unknown;
}

/**
 * The loss points of a job: REST's `trainingProgress.lossCurve` (Hearth extension: the {step, loss}
 * the trainer reported, kept by the API), else at least the latest `trainingProgress.trainLoss`.
 */
export function lossPoints(job: SftJobWire): { step: number; loss: number }[] {
  const t = job.trainingProgress;
  const pts = (t?.lossCurve ?? []).filter((p) => typeof p?.step === 'number' && typeof p.loss === 'number');
  if (pts.length) return pts;
  return typeof t?.trainLoss === 'number' ? [{ step: t.step ?? 0, loss: t.trainLoss }] : [];
}

/** The latest training loss, if reported. */
const latestLoss = (j: SftJobWire): number | undefined => j.trainingProgress?.trainLoss;

export function SftJobs({ session }: { session: Session }) {
  const { data, error, loadedAt } = usePoll(() => listAll<SftJobWire>(session, '/supervisedFineTuningJobs', 'supervisedFineTuningJobs'), 3000);
  return (
    <Page title="Supervised fine-tuning jobs" testId="view-sft" updated={loadedAt}>
      <Status error={error} loading={!data} />
      {data && data.length === 0 && <p class="muted">No fine-tuning jobs in this account.</p>}
      {data?.map((j) => {
        const pts = lossPoints(j);
        const curve: uPlot.AlignedData = [pts.map((p) => p.step), pts.map((p) => p.loss)];
        return (
          <article class="card" data-testid={`sft-${idOf(j.name)}`}>
            <h3>
              {j.displayName || idOf(j.name)} <span class="state">{j.state}</span>
            </h3>
            <p class="muted">
              {j.baseModel} · dataset {idOf(j.dataset)} → {idOf(j.outputModel) || '–'} · {j.epochs ?? 1} epoch(s)
            </p>
            <div class="progress">
              <Bar used={j.jobProgress?.percent ?? 0} total={100} testId="sft-progress" /> {fmt(j.jobProgress?.percent ?? 0)} % · epoch {fmt(j.jobProgress?.epoch)}
              {j.trainingProgress?.step !== undefined && <> · step {fmt(j.trainingProgress.step)}{j.trainingProgress.totalSteps ? `/${fmt(j.trainingProgress.totalSteps)}` : ''}</>}
              {latestLoss(j) !== undefined && <> · loss {fmt(latestLoss(j), 4)}</>}
            </div>
            {pts.length > 1 ? (
              <ChartXY data={curve} />
            ) : (
              <p class="muted" data-testid="sft-no-curve">
                {pts.length === 1 ? `loss ${fmt(pts[0]!.loss, 4)} (one point so far)` : 'No loss reported yet.'}
              </p>
            )}
          </article>
        );
      })}
    </Page>
  );
}

function ChartXY({ data }: { data: uPlot.AlignedData }) {
  return <Chart title="Training loss by step" testId="sft-loss" data={data} series={[{ label: 'loss', stroke: '#c2255c', width: 2 }]} height={180} timeX={false} />;
}
