import type { ComponentChildren } from 'preact';

export function Page({ title, children, testId, updated }: { title: string; children: ComponentChildren; testId: string; updated?: Date | undefined }) {
  return (
    <section data-testid={testId}>
      <h2>
        {title}
        {updated && <small class="updated">updated {updated.toLocaleTimeString()}</small>}
      </h2>
      {children}
    </section>
  );
}

export function Status({ error, loading }: { error?: string | undefined; loading: boolean }) {
  if (error) return <p class="error">{error}</p>;
  return loading ? <p class="muted">Loading…</p> : null;
}

/** A horizontal bar: `used` of `total` (over 100 % is drawn full and red). */
export function Bar({ used, total, testId }: { used: number; total: number; testId?: string }) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : used > 0 ? 100 : 0;
  const cls = used > total ? 'bar over' : pct >= 80 ? 'bar high' : 'bar';
  return (
    <div class={cls} role="meter" aria-valuenow={used} aria-valuemax={total} data-testid={testId}>
      <div class="fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

export const fmt = (n: number | undefined, digits = 1): string => (n === undefined || !Number.isFinite(n) ? '–' : Number.isInteger(n) ? String(n) : n.toFixed(digits));
