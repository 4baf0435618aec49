import { useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get, idOf, listAll, type Session } from '../api';
import { Chart } from '../chart';
import { usePoll } from '../poll';
import { fmt, Page, Status } from './common';

export interface DeploymentWire {
  name: string;
  displayName?: string;
  baseModel?: string;
  state?: string;
  region?: string;
  acceleratorType?: string;
  acceleratorCount?: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
  replicaCount?: number;
  desiredReplicaCount?: number;
  replicaStats?: { readyReplicaCount?: number };
  status?: { code?: string; message?: string };
}

export const readyOf = (d: DeploymentWire): number => d.replicaStats?.readyReplicaCount ?? 0;

/** Deployments with state, region, accelerator and ready/desired replicas, refreshed every 2 s. */
export function Deployments({ session }: { session: Session }) {
  const { data, error, loadedAt } = usePoll(() => listAll<DeploymentWire>(session, '/deployments', 'deployments'), 2000);
  return (
    <Page title="Deployments" testId="view-deployments" updated={loadedAt}>
      <Status error={error} loading={!data} />
      {data && data.length === 0 && <p class="muted">No deployments in this account.</p>}
      {data && data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Deployment</th>
              <th>Model</th>
              <th>State</th>
              <th>Region</th>
              <th>Accelerator</th>
              <th>Replicas ready / desired</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr data-testid={`deployment-${idOf(d.name)}`}>
                <td>
                  <a href={`#/deployments/${encodeURIComponent(idOf(d.name))}`}>{d.displayName || idOf(d.name)}</a>
                </td>
                <td>{d.baseModel}</td>
                <td>
                  <span class={`state ${(d.state ?? '').toLowerCase()}`}>{d.state}</span>
                </td>
                <td>{d.region ?? '–'}</td>
                <td>
                  {d.acceleratorCount ?? 1} × {d.acceleratorType}
                </td>
                <td class="num" data-testid="replicas">
                  {readyOf(d)} / {d.desiredReplicaCount ?? 0}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

type Window = '15m' | '1h' | '6h' | '1d';

interface TimelineWire {
  source: string;
  startTime: string;
  endTime: string;
  stepSeconds: number;
  points: { time: string; desiredReplicas: number; readyReplicas: number; inFlight: number; requestsPerSecond: number; tokensPerSecond: number }[];
  decisions: { time: string; fromReplicas: number; toReplicas: number; reason: string; message: string; kind: string }[];
  coldStarts: { startTime: string; readyTime?: string; seconds?: number }[];
}

const secs = (t: string): number => Date.parse(t) / 1000;
const KIND_COLOR: Record<string, string> = { SCALE_FROM_ZERO: '#d9480f', SCALE_TO_ZERO: '#5f3dc4', SCALE_UP: '#2b8a3e', SCALE_DOWN: '#1864ab', UNCHANGED: '#868e96' };

/** One deployment's autoscaling timeline: replicas, load, decisions with reasons, cold starts. */
export function DeploymentTimeline({ session, id }: { session: Session; id: string }) {
  const [window, setWindow] = useState<Window>('1h');
  const dep = usePoll(() => get<DeploymentWire>(session, `/deployments/${encodeURIComponent(id)}`), 2000, [id]);
  const tl = usePoll(() => get<TimelineWire>(session, `/deployments/${encodeURIComponent(id)}:timeline?window=${window}`), 5000, [id, window]);
  const t = tl.data;
  const x = t?.points.map((p) => secs(p.time)) ?? [];
  const replicas: uPlot.AlignedData = [x, t?.points.map((p) => p.desiredReplicas) ?? [], t?.points.map((p) => p.readyReplicas) ?? []];
  const load: uPlot.AlignedData = [x, t?.points.map((p) => p.inFlight) ?? [], t?.points.map((p) => p.tokensPerSecond) ?? []];
  const marks = [
    ...(t?.decisions ?? []).map((d) => ({ x: secs(d.time), label: `${d.fromReplicas}→${d.toReplicas} ${d.reason}`, color: KIND_COLOR[d.kind] ?? '#868e96' })),
    ...(t?.coldStarts ?? []).filter((c) => c.readyTime).map((c) => ({ x: secs(c.readyTime!), label: `ready after ${fmt(c.seconds)} s`, color: '#e8590c' })),
  ];
  const d = dep.data;
  const xRange: [number, number] | undefined = t ? [secs(t.startTime), secs(t.endTime)] : undefined;
  const stepped = uPlot.paths.stepped?.({ align: 1 });
  return (
    <Page title={`Deployment ${id}`} testId="view-timeline" updated={tl.loadedAt}>
      <p>
        <a href="#/deployments">← all deployments</a>
      </p>
      <Status error={dep.error ?? tl.error} loading={!d || !t} />
      {d && (
        <p class="summary" data-testid="timeline-summary">
          <span class={`state ${(d.state ?? '').toLowerCase()}`}>{d.state}</span> · {d.region ?? 'no region yet'} · {d.acceleratorCount ?? 1} × {d.acceleratorType} · replicas{' '}
          <strong data-testid="timeline-replicas">
            {readyOf(d)} / {d.desiredReplicaCount ?? 0}
          </strong>{' '}
          (min {d.minReplicaCount ?? 0}, max {d.maxReplicaCount ?? '–'})
        </p>
      )}
      <div class="tabs">
        {(['15m', '1h', '6h', '1d'] as const).map((w) => (
          <button type="button" class={w === window ? 'active' : ''} onClick={() => setWindow(w)} data-testid={`window-${w}`}>
            last {w}
          </button>
        ))}
        {t && <span class="muted"> source: {t.source === 'PROMETHEUS' ? 'Prometheus' : 'Hearth history'}, step {fmt(t.stepSeconds)} s</span>}
      </div>
      {t && (
        <>
          <Chart
            title="Replicas"
            testId="chart-replicas"
            data={replicas}
            marks={marks}
            xRange={xRange}
            series={[
              { label: 'desired', stroke: '#1c7ed6', width: 2, ...(stepped ? { paths: stepped } : {}) },
              { label: 'ready', stroke: '#2f9e44', width: 2, fill: 'rgba(47,158,68,0.1)', ...(stepped ? { paths: stepped } : {}) },
            ]}
          />
          <Chart title="Load" testId="chart-load" data={load} marks={marks} xRange={xRange} series={[{ label: 'in flight', stroke: '#e8590c', width: 2 }, { label: 'tokens/s', stroke: '#7048e8', width: 2 }]} />
          <h3>Scaling decisions</h3>
          {t.decisions.length === 0 && <p class="muted">No scaling decision in this window.</p>}
          <table data-testid="decisions">
            <tbody>
              {[...t.decisions].reverse().map((e) => (
                <tr data-testid={`decision-${e.kind}`}>
                  <td>{new Date(e.time).toLocaleTimeString()}</td>
                  <td class="num">
                    {e.fromReplicas} → {e.toReplicas}
                  </td>
                  <td>
                    <span class="kind" data-kind={e.kind}>
                      {e.kind.replace(/_/g, ' ').toLowerCase()}
                    </span>
                  </td>
                  <td>
                    <strong>{e.reason}</strong> <span class="muted">{e.message}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Cold starts</h3>
          {t.coldStarts.length === 0 && <p class="muted">No scale from zero in this window.</p>}
          <ul data-testid="cold-starts">
            {t.coldStarts.map((c) => (
              <li data-testid="cold-start">
                {new Date(c.startTime).toLocaleTimeString()}: scale from zero
                {c.readyTime ? `, first replica ready after ${fmt(c.seconds)} s` : ', waiting for a ready replica'}
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}
