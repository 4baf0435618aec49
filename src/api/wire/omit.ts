// proto3 JSON as grpc-gateway emits it leaves unset fields out. `omitUnset` drops undefined, null,
// empty strings, empty lists and empty objects, recursively; with `zeroValues: true` also 0 and
// false (grpc-gateway's exact behaviour, `EmitUnpopulated=false`).
export function omitUnset<T>(value: T, opts: { zeroValues?: boolean } = {}): T {
  return prune(value, opts.zeroValues ?? false) as T;
}

function prune(v: unknown, zeros: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => prune(x, zeros)).filter((x) => x !== undefined);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x, zeros);
      if (!isEmpty(p, zeros)) out[k] = p;
    }
    return out;
  }
  return v;
}

function isEmpty(v: unknown, zeros: boolean): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object' && !(v instanceof Date)) return Object.keys(v).length === 0;
  return zeros && (v === 0 || v === false);
}
