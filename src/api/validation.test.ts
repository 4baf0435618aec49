// Field paths in violations: every field is named, even one whose key is empty or invisible
// (the REST fuzz found `{"": 0}` answered with an unknown field named "").
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { violationsOf } from './validation.js';

describe('violationsOf', () => {
  it('names an unknown field whose key is empty, whitespace or a control character as a JSON string', () => {
    const schema = z.strictObject({ a: z.strictObject({ b: z.number() }).optional() });
    const r = schema.safeParse({ '': 0, ' ': 1, '\u0000': 2, a: { '': 3, b: 1 } });
    expect(r.success).toBe(false);
    const fields = violationsOf(r.error!.issues).map((v) => v.field).sort();
    expect(fields).toEqual(['" "', '""', '"\\u0000"', 'a.""'].sort());
    for (const f of fields) expect(f.length).toBeGreaterThan(0);
  });

  it('keeps ordinary keys as they are', () => {
    const schema = z.strictObject({ annotations: z.record(z.string(), z.string()), list: z.array(z.strictObject({ x: z.number() })) });
    const r = schema.safeParse({ annotations: { 'hearth.dev/x': 1 }, list: [{ x: 'no' }] });
    expect(violationsOf(r.error!.issues).map((v) => v.field).sort()).toEqual(['annotations.hearth.dev/x', 'list[0].x']);
  });
});
