import { idOf, listAll, type Session } from '../api';
import { usePoll } from '../poll';
import { Bar, fmt, Page, Status } from './common';

export interface QuotaWire {
  name: string;
  value?: string;
  maxValue?: string;
  usage?: number;
}

export function Quotas({ session }: { session: Session }) {
  const { data, error, loadedAt } = usePoll(() => listAll<QuotaWire>(session, '/quotas', 'quotas'), 5000);
  return (
    <Page title="Quotas" testId="view-quotas" updated={loadedAt}>
      <Status error={error} loading={!data} />
      {data && (
        <table>
          <thead>
            <tr>
              <th>Quota</th>
              <th>Usage</th>
              <th class="num">Used / value</th>
              <th class="num">Max</th>
            </tr>
          </thead>
          <tbody>
            {data.map((q) => {
              const value = Number(q.value ?? 0);
              return (
                <tr data-testid={`quota-${idOf(q.name)}`}>
                  <td>{idOf(q.name)}</td>
                  <td class="bar-cell">
                    <Bar used={q.usage ?? 0} total={value} testId="usage-bar" />
                  </td>
                  <td class="num">
                    {fmt(q.usage ?? 0)} / {value}
                  </td>
                  <td class="num">{q.maxValue}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Page>
  );
}
