import { idOf, listAll, type Session } from '../api';
import { usePoll } from '../poll';
import { Bar, Page, Status } from './common';
import type { DeploymentWire } from './deployments';
import type { QuotaWire } from './quotas';

/** GPU quotas are named `<accelerator>-<region>`, e.g. h100-us-virginia-2 (the REST quotas' names). */
const ACCEL: Record<string, string> = {
  NVIDIA_A100_80GB: 'a100',
  NVIDIA_H100_80GB: 'h100',
  NVIDIA_H200_141GB: 'h200',
  NVIDIA_B200_180GB: 'b200',
  AMD_MI300X_192GB: 'mi300x',
};

const short = (accel: string): string => ACCEL[accel] ?? accel.toLowerCase().split('_')[1] ?? accel.toLowerCase();
const regionKey = (region: string): string => region.toLowerCase().replace(/_/g, '-');

interface Cell {
  used: number;
  quota?: number;
  held?: number;
}

/** Regions × accelerator types: GPUs the account's deployments run, the quota and what is free of it. */
export function fleetCells(deployments: DeploymentWire[], quotas: QuotaWire[]): { regions: string[]; accels: string[]; cells: Map<string, Cell> } {
  const cells = new Map<string, Cell>();
  const regions = new Set<string>();
  const accels = new Set<string>();
  const cell = (r: string, a: string): Cell => {
    regions.add(r);
    accels.add(a);
    const k = `${r}|${a}`;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = { used: 0 }));
    return c;
  };
  for (const d of deployments) {
    if (!d.region || !d.acceleratorType || d.state === 'DELETED') continue;
    cell(regionKey(d.region), short(d.acceleratorType)).used += (d.acceleratorCount ?? 1) * (d.replicaCount ?? 0);
  }
  const knownAccels = new Set([...Object.values(ACCEL), ...accels]);
  for (const q of quotas) {
    const id = idOf(q.name);
    const accel = [...knownAccels].find((a) => id.startsWith(`${a}-`));
    if (!accel) continue;
    const c = cell(id.slice(accel.length + 1), accel);
    c.quota = Number(q.value ?? 0);
    c.held = q.usage ?? 0;
  }
  return { regions: [...regions].sort(), accels: [...accels].sort(), cells };
}

export function FleetMap({ session }: { session: Session }) {
  const { data, error, loadedAt } = usePoll(
    async () => {
      const [deployments, quotas] = await Promise.all([listAll<DeploymentWire>(session, '/deployments', 'deployments'), listAll<QuotaWire>(session, '/quotas', 'quotas')]);
      return fleetCells(deployments, quotas);
    },
    5000,
  );
  return (
    <Page title={`Fleet: GPUs of accounts/${session.accountId}`} testId="view-fleet" updated={loadedAt}>
      <Status error={error} loading={!data} />
      {data && data.regions.length === 0 && <p class="muted">No GPU quota or deployment yet.</p>}
      {data && data.regions.length > 0 && (
        <table class="fleet">
          <thead>
            <tr>
              <th>Region</th>
              {data.accels.map((a) => (
                <th>{a.toUpperCase()}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.regions.map((r) => (
              <tr data-testid={`fleet-${r}`}>
                <th>{r}</th>
                {data.accels.map((a) => {
                  const c = data.cells.get(`${r}|${a}`);
                  if (!c) return <td class="muted">–</td>;
                  const quota = c.quota;
                  const held = c.held ?? c.used;
                  return (
                    <td data-testid={`fleet-${r}-${a}`}>
                      <div>
                        <strong>{c.used}</strong> used · {quota === undefined ? 'no quota' : `${Math.max(0, quota - held)} free of ${quota}`}
                      </div>
                      {quota !== undefined && <Bar used={held} total={quota} />}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="hint">Used: GPUs of running replicas. Free: quota less what deployments hold (starting replicas included).</p>
    </Page>
  );
}
