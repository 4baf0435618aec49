// The Grafana dashboard the Helm chart ships (issue 17 item 8: "a Grafana dashboard (JSON) for the
// same figures"): it parses, every Hearth metric it queries is one a gateway exports, and it plots
// each figure the console's timeline reads from Prometheus (src/api/timeline/prometheus.ts).
// The chart rendering it into a ConfigMap is checked in test/integration/helm.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queries } from '../../src/api/timeline/prometheus.js';
import { GatewayMetrics } from '../../src/gateway/metrics.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHART = join(ROOT, 'charts', 'hearth');

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
}
const dashboard = JSON.parse(readFileSync(join(CHART, 'dashboards', 'hearth-deployments.json'), 'utf8')) as {
  uid?: string;
  title?: string;
  panels: Panel[];
  templating?: { list: { name: string }[] };
};
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
const metricsIn = (expr: string): string[] => [...expr.matchAll(/\b(hearth_[a-z_]+)\b/g)].map((m) => m[1]!);

/** A histogram is queried through its _bucket/_sum/_count series. */
const family = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');

describe('charts/hearth/dashboards/hearth-deployments.json', () => {
  it('is a dashboard with a uid, a title and the namespace/deployment variables its queries use', () => {
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.panels.length).toBeGreaterThan(0);
    const vars = (dashboard.templating?.list ?? []).map((v) => v.name);
    for (const v of ['namespace', 'deployment']) expect(vars).toContain(v);
    for (const e of exprs) for (const [, v] of e.matchAll(/\$([a-z_]+)/g)) expect(vars, `${e} uses $${v}`).toContain(v);
  });

  it('queries only metrics a gateway exports', async () => {
    const exported = new Set((await new GatewayMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = [...new Set(exprs.flatMap(metricsIn).map(family))];
    expect(used.length).toBeGreaterThan(0);
    for (const m of used) expect(exported, `${m} is not a gateway metric`).toContain(m);
  });

  it('plots every figure the console timeline reads from Prometheus', () => {
    const dashboardMetrics = new Set(exprs.flatMap(metricsIn));
    for (const [figure, q] of Object.entries(queries('ns', 'dep'))) {
      for (const m of metricsIn(q)) expect(dashboardMetrics, `timeline figure ${figure} (${m}) has no panel`).toContain(m);
    }
  });

  it('is what the chart template puts in the ConfigMap', () => {
    const template = readFileSync(join(CHART, 'templates', 'grafana-dashboard.yaml'), 'utf8');
    expect(template).toContain('.Files.Get "dashboards/hearth-deployments.json"');
    expect(readFileSync(join(CHART, 'values.yaml'), 'utf8')).toMatch(/^grafanaDashboard:\n(?:\s+#.*\n)*\s+enabled: true$/m);
  });
});
