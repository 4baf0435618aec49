import { describe, expect, it } from 'vitest';
import { LORAS_QUOTA, MONTHLY_GPU_HOURS_QUOTA, defaultQuotaFor, defaultQuotas, monthBounds } from './quotas.js';

describe('default quotas', () => {
  it('has 8 GPUs per accelerator type per region of the catalog, 2000 GPU-hours, 100 LoRAs', () => {
    const all = defaultQuotas();
    const byName = new Map(all.map((q) => [q.name, q]));
    expect(byName.get('h100-us-virginia-2')).toEqual({ name: 'h100-us-virginia-2', value: 8, maxValue: 8 });
    expect(byName.get('mi300x-us-virginia-2')?.value).toBe(8);
    expect(byName.get('a100-us-illinois-2')?.value).toBe(8);
    expect(byName.get('h200-eu-paris-1')?.value).toBe(8);
    expect(byName.get('h100-us-iowa-1')?.value).toBe(8);
    expect(byName.get(MONTHLY_GPU_HOURS_QUOTA)?.value).toBe(2000);
    expect(byName.get(LORAS_QUOTA)?.value).toBe(100);
    expect(byName.size).toBe(all.length);
  });

  it('knows GPU quota names beyond the catalog pairs, not arbitrary names', () => {
    expect(defaultQuotaFor('h100-us-texas-1')).toEqual({ name: 'h100-us-texas-1', value: 8, maxValue: 8 });
    expect(defaultQuotaFor('h100-na-britishcolumbia-1')?.value).toBe(8);
    expect(defaultQuotaFor('tpu-us-texas-1')).toBeUndefined();
    expect(defaultQuotaFor('monthly-spend-usd')).toBeUndefined();
    expect(defaultQuotaFor('')).toBeUndefined();
  });

  it('computes UTC calendar months', () => {
    expect(monthBounds(new Date('2026-12-31T23:59:59Z'))).toEqual({ from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') });
    expect(monthBounds(new Date('2026-03-01T00:00:00Z')).from.toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });
});
