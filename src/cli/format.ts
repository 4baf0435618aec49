// Flag values in (Go-style durations, integers, booleans, resource ids) and resources out: a table
// by default, `-o json|yaml` the REST resource verbatim.
import { stringify as toYaml } from 'yaml';
import { UsageError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** `30s`, `10m`, `1h`, `168h0m0s`, `1.5h`, `300` (seconds) → the wire's `"<n>s"`. Errors name the flag. */
export function parseDuration(flag: string, value: string): string {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return `${Number(v)}s`;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let seconds = 0;
  let matched = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!v || matched !== v.length) throw new UsageError(`--${flag}: "${value}" is not a duration (e.g. 30s, 10m, 1h, 168h0m0s)`);
  return `${Math.round(seconds * 1000) / 1000}s`;
}

/** A 32-bit integer flag, at least `min`. */
export function parseInt32(flag: string, value: string, min = 0): number {
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${flag}: "${value}" is not an integer`);
  const n = Number(value);
  if (n < min || n > 2 ** 31 - 1) throw new UsageError(`--${flag}: must be between ${min} and ${2 ** 31 - 1}, got ${value}`);
  return n;
}

export function parseNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag}: "${value}" is not a number`);
  return n;
}

/** `--public`, `--public=true`, `--public=false` (pflag style). */
export function parseBool(flag: string, value: string | boolean | undefined): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new UsageError(`--${flag}: "${value}" is not true or false`);
}

/** `my-dep` or `accounts/acme/deployments/my-dep` → `my-dep`. */
export function idOf(value: string): string {
  const id = value.split('/').pop() ?? '';
  if (!id) throw new UsageError(`"${value}" is not a resource id or name`);
  return id;
}

/** A full model name: `accounts/x/models/y` as given; a bare id is one of `account`'s. */
export function modelName(value: string, account: string): string {
  return value.includes('/') ? value : `accounts/${account}/models/${value}`;
}

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseOutput(value: string | undefined): OutputFormat {
  const v = (value ?? 'table').toLowerCase();
  if (v === 'text' || v === 'table') return 'table';
  if (v === 'json' || v === 'yaml') return v;
  throw new UsageError(`--output: "${value}" is not one of table, text, json, yaml`);
}

/** A dotted path's value, e.g. `replicaStats.readyReplicaCount`. */
export function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A column: header and how to read it from a resource. */
export interface Column {
  header: string;
  value: (r: Record<string, unknown>) => unknown;
}

export const col = (header: string, path: string): Column => ({ header, value: (r) => at(r, path) });
export const idCol = (header = 'NAME'): Column => ({ header, value: (r) => (typeof r.name === 'string' ? r.name.split('/').pop() : '') });

/** Left-aligned columns, two spaces apart, headers first. */
export function table(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const grid = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => cell(c.value(r)).replace(/\s+/g, ' ')))];
  const widths = columns.map((_c, i) => Math.max(...grid.map((row) => row[i]!.length)));
  return grid.map((row) => row.map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** `Field Name: value` lines of a resource (nested objects flattened with dots), firectl's text form. */
export function describe(resource: Record<string, unknown>): string {
  const lines: [string, string][] = [];
  const walk = (o: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Record<string, unknown>, key);
      else lines.push([key, cell(v)]);
    }
  };
  walk(resource, '');
  const width = Math.max(0, ...lines.map(([k]) => k.length + 1));
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`.trimEnd()).join('\n');
}

/** The REST answer as JSON or YAML, verbatim. */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : toYaml(value).trimEnd();
}

/** `1.5 MiB` */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** `1h02m`, `3m05s`, `42s`; unknown: `?`. */
export function eta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
