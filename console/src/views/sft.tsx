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
  [k: string]: unknown;
}

/**
 * The loss points a job reports, wherever its status has them: a list of {step, loss} (e.g.
 * `lossHistory`, `trainingMetrics`, `metrics`), or at least the current `jobProgress.loss`.
 */
export function lossPoints(job: SftJobWire): { step: number; loss: number }[] {
  for (const key of ['lossHistory', 'lossCurve', 'trainingMetrics', 'metrics']) {
    const v = job[key] ?? (job.jobProgress as Record<string, unknown> | undefined)?.[key];
    if (Array.isArray(v)) {
      const pts = v.flatMap((p: { step?: number; loss?: number }, i) => (typeof p?.loss === 'number' ? [{ step: p.step ?? i, loss: p.loss }] : []));
      if (pts.length) return pts;
    }
  }
  const loss = job.jobProgress?.loss;
  return typeof loss === 'number' ? [{ step: job.jobProgress?.step ?? 0, loss }] : [];
}

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
              {j.jobProgress?.loss !== undefined && <> · loss {fmt(j.jobProgress.loss, 4)}</>}
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
