import { idOf, listAll, type Session } from '../api';
import { usePoll } from '../poll';
import { Page, Status } from './common';

interface DatasetWire {
  name: string;
  displayName?: string;
  state?: string;
  format?: string;
  exampleCount?: string;
  estimatedTokenCount?: string;
  status?: { code?: string; message?: string };
  createTime?: string;
}

/** Datasets with their validation result (state, status code and message, counts). */
export function Datasets({ session }: { session: Session }) {
  const { data, error, loadedAt } = usePoll(() => listAll<DatasetWire>(session, '/datasets', 'datasets'), 5000);
  return (
    <Page title="Datasets" testId="view-datasets" updated={loadedAt}>
      <Status error={error} loading={!data} />
      {data && data.length === 0 && <p class="muted">No datasets in this account.</p>}
      {data && data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Dataset</th>
              <th>State</th>
              <th>Validation</th>
              <th>Format</th>
              <th class="num">Examples</th>
              <th class="num">Tokens (est.)</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => {
              const code = d.status?.code ?? '';
              const ok = d.state === 'READY' && (code === '' || code === 'OK');
              return (
                <tr data-testid={`dataset-${idOf(d.name)}`}>
                  <td>{d.displayName || idOf(d.name)}</td>
                  <td>
                    <span class="state">{d.state}</span>
                  </td>
                  <td class={ok ? 'ok' : code && code !== 'OK' ? 'error' : 'muted'} data-testid="validation">
                    {ok ? 'valid' : code && code !== 'OK' ? `${code}: ${d.status?.message ?? ''}` : 'not validated yet'}
                    {ok && d.status?.message ? ` (${d.status.message})` : ''}
                  </td>
                  <td>{d.format ?? '–'}</td>
                  <td class="num">{d.exampleCount ?? '–'}</td>
                  <td class="num">{d.estimatedTokenCount ?? '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Page>
  );
}
