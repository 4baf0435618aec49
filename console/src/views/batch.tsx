import { get, idOf, listAll, type Session } from '../api';
import { usePoll } from '../poll';
import { Page, Status } from './common';

interface BatchJobWire {
  name: string;
  displayName?: string;
  state?: string;
  createTime?: string;
  nodePoolId?: string;
  environmentId?: string;
  status?: { code?: string; message?: string };
}

interface LogsWire {
  entries?: { logTime?: string; message?: string; rank?: number }[];
}

/**
 * Batch jobs; with `id`, that job's logs (REST :getLogs), refreshed while it is shown: the newest
 * 1000 lines (REST pages newest first without startFromHead), printed oldest first like `tail`.
 */
export function BatchJobs({ session, id }: { session: Session; id?: string | undefined }) {
  const jobs = usePoll(() => listAll<BatchJobWire>(session, '/batchJobs', 'batchJobs'), 3000);
  const logs = usePoll(() => (id ? get<LogsWire>(session, `/batchJobs/${encodeURIComponent(id)}:getLogs?pageSize=1000`) : Promise.resolve(undefined)), 3000, [id]);
  return (
    <Page title="Batch jobs" testId="view-batch" updated={jobs.loadedAt}>
      <Status error={jobs.error} loading={!jobs.data} />
      {jobs.data && jobs.data.length === 0 && <p class="muted">No batch jobs in this account.</p>}
      {jobs.data && jobs.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>State</th>
              <th>Node pool</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.map((j) => (
              <tr data-testid={`batch-${idOf(j.name)}`} class={idOf(j.name) === id ? 'selected' : ''}>
                <td>
                  <a href={`#/batch/${encodeURIComponent(idOf(j.name))}`}>{j.displayName || idOf(j.name)}</a>
                </td>
                <td>
                  <span class="state">{j.state}</span> {j.status?.message && <span class="muted">{j.status.message}</span>}
                </td>
                <td>{j.nodePoolId ?? '–'}</td>
                <td>{j.createTime ? new Date(j.createTime).toLocaleString() : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {id && (
        <>
          <h3>Logs of batch job {id}</h3>
          <Status error={logs.error} loading={!logs.loadedAt} />
          <pre class="logs" data-testid="batch-logs">
            {(logs.data?.entries ?? []).length === 0 ? 'No log lines yet.' : [...logs.data!.entries!].reverse().map((e) => `${e.logTime ?? ''} [${e.rank ?? 0}] ${e.message ?? ''}`).join('\n')}
          </pre>
        </>
      )}
    </Page>
  );
}
