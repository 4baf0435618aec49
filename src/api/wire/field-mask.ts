// Field masks (google.protobuf.FieldMask): `readMask` on get/list, and the update mask of PATCH,
// which grpc-gateway derives from the keys present in the body (an explicit `updateMask` query
// parameter is accepted too, AIP-134). Paths are dotted camelCase; snake_case is accepted.
import { invalidArgument } from './errors.js';
import { snakeToCamel } from './filter.js';

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** `a,b.c` → ['a', 'b.c']. Empty or `*` → undefined (all fields). */
export function parseFieldMask(mask: string | undefined, param: string, allowed?: readonly string[]): string[] | undefined {
  if (mask === undefined || mask.trim() === '' || mask.trim() === '*') return undefined;
  const paths = mask.split(',').map((p) => p.trim());
  return paths.map((p, i) => {
    if (!PATH.test(p)) throw invalidArgument(param, `path ${i + 1} ("${p.slice(0, 40)}") is not a field path`, 'FIELD_MASK');
    const camel = p.split('.').map(snakeToCamel).join('.');
    if (allowed && !allowed.some((a) => camel === a || camel.startsWith(`${a}.`))) throw invalidArgument(param, `unknown field "${p}"`, 'FIELD_MASK');
    return camel;
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The paths a PATCH body sets: its leaves, descending into nested messages but not into
 * `atomic` paths (maps such as `annotations`, or messages replaced as a whole).
 */
export function fieldMaskFromBody(body: Record<string, unknown>, atomic: readonly string[] = []): string[] {
  const out: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (isPlainObject(v) && Object.keys(v).length > 0 && !atomic.includes(path)) walk(v, path);
      else out.push(path);
    }
  };
  walk(body, '');
  return out;
}

function getAt(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const seg of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** A copy of `obj` with only the masked paths (all of it without a mask). */
export function applyReadMask<T extends Record<string, unknown>>(obj: T, paths: readonly string[] | undefined): Partial<T> {
  if (!paths) return obj;
  const out: Record<string, unknown> = {};
  for (const p of paths) {
    const segs = p.split('.');
    const v = getAt(obj, segs);
    if (v === undefined) continue;
    let cur = out;
    for (const seg of segs.slice(0, -1)) {
      if (!isPlainObject(cur[seg])) cur[seg] = {};
      cur = cur[seg] as Record<string, unknown>;
    }
    cur[segs[segs.length - 1]!] = v;
  }
  return out as Partial<T>;
}

/**
 * Applies `patch` to a copy of `target` along `paths`: each path's value is taken from the patch;
 * a path absent from the patch clears the field (AIP-134 semantics for an explicit mask).
 */
export function applyFieldMask<T extends Record<string, unknown>>(target: T, patch: Record<string, unknown>, paths: readonly string[]): T {
  const out = structuredClone(target) as Record<string, unknown>;
  for (const p of paths) {
    const segs = p.split('.');
    const v = getAt(patch, segs);
    let cur = out;
    for (const seg of segs.slice(0, -1)) {
      if (!isPlainObject(cur[seg])) cur[seg] = {};
      cur = cur[seg] as Record<string, unknown>;
    }
    const leaf = segs[segs.length - 1]!;
    if (v === undefined) delete cur[leaf];
    else cur[leaf] = structuredClone(v);
  }
  return out as T;
}

export interface UpdateMaskRules {
  /** Top-level fields a PATCH may change. */
  writable: readonly string[];
  /** Top-level output-only fields: in a body or mask they are ignored (AIP-203), not refused. */
  outputOnly?: readonly string[];
  /** A finer test of output-only paths (e.g. nested ones); default: the top level is in `outputOnly`. */
  isOutputOnly?: (path: string) => boolean;
  /** Paths whose value is replaced whole rather than merged (fieldMaskFromBody's `atomic`). */
  atomic?: readonly string[];
}

/**
 * The paths a PATCH changes: `updateMask` when given, else the fields present in the body; output-only
 * paths are dropped, anything else that is not writable is a 400 on `updateMask`.
 */
export function updatePaths(body: Record<string, unknown>, updateMask: string | undefined, rules: UpdateMaskRules): string[] {
  const requested = parseFieldMask(updateMask, 'updateMask') ?? fieldMaskFromBody(body, rules.atomic);
  const out: string[] = [];
  for (const p of requested) {
    if (rules.isOutputOnly?.(p)) continue;
    const top = p.split('.')[0]!;
    if (rules.writable.includes(top)) out.push(p);
    else if (!(rules.outputOnly ?? []).includes(top)) throw invalidArgument('updateMask', `unknown field "${p}"`, 'FIELD_MASK');
  }
  return out;
}
