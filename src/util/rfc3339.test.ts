import { describe, expect, it } from 'vitest';
import { rfc3339 } from './rfc3339.js';

describe('rfc3339', () => {
  it.each([
    { t: Date.UTC(2026, 0, 2, 3, 4, 5), want: '2026-01-02T03:04:05Z' },
    { t: Date.UTC(2026, 0, 2, 3, 4, 5, 999), want: '2026-01-02T03:04:05Z' },
    { t: new Date('2026-01-02T05:04:05.5+02:00'), want: '2026-01-02T03:04:05Z' },
    { t: 0, want: '1970-01-01T00:00:00Z' },
  ])('$want', ({ t, want }) => {
    expect(rfc3339(t)).toBe(want);
  });
});
