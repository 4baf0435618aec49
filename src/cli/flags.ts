// Flags that set fields of a request body, declared once: the commander option, the wire field
// (dotted for nested ones: `autoscalingPolicy.scaleToZeroWindow`) and how the value is parsed.
// `bodyFromFlags` builds the body from what was given — only those fields, so an update's mask is
// exactly the flags typed.
import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { parseBool, parseDuration, parseInt32, parseNumber } from './format.js';

export type FlagType = 'string' | 'int' | 'number' | 'duration' | 'bool' | 'list' | 'map';

export interface FieldFlag {
  /** e.g. `min-replica-count` */
  flag: string;
  /** e.g. `minReplicaCount` or `autoscalingPolicy.scaleToZeroWindow` */
  field: string;
  type: FlagType;
  description: string;
  /** For ints: the minimum (default 0). */
  min?: number;
  /** For strings: allowed values (upper-cased on input). */
  choices?: readonly string[];
}

/** commander's attribute name of `--min-replica-count`: `minReplicaCount`. */
export const attr = (flag: string): string => flag.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function addFieldFlags(cmd: Command, flags: readonly FieldFlag[]): Command {
  for (const f of flags) {
    const desc = f.choices ? `${f.description} (${f.choices.join(', ')})` : f.description;
    if (f.type === 'bool') cmd.option(`--${f.flag} [bool]`, `${desc} (--${f.flag}=false to unset)`);
    else if (f.type === 'list' || f.type === 'map') cmd.option(`--${f.flag} <value>`, `${desc} (repeatable${f.type === 'map' ? ', key=value' : ''})`, collect);
    else cmd.option(`--${f.flag} <${f.type === 'duration' ? 'duration' : f.type === 'int' ? 'int' : 'value'}>`, desc);
  }
  return cmd;
}

function parseValue(f: FieldFlag, raw: unknown): unknown {
  switch (f.type) {
    case 'int':
      return parseInt32(f.flag, String(raw), f.min ?? 0);
    case 'number':
      return parseNumber(f.flag, String(raw));
    case 'duration':
      return parseDuration(f.flag, String(raw));
    case 'bool':
      return parseBool(f.flag, raw as string | boolean);
    case 'list':
      return (raw as string[]).flatMap((s) => s.split(',')).filter(Boolean);
    case 'map':
      return Object.fromEntries((raw as string[]).flatMap((s) => s.split(',')).filter(Boolean).map((kv) => parseKeyValue(f, kv)));
    default:
      return parseChoice(f, String(raw));
  }
}

function parseKeyValue(f: FieldFlag, kv: string): [string, unknown] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new UsageError(`--${f.flag}: "${kv}" is not key=value`);
  const v = kv.slice(i + 1);
  return [kv.slice(0, i), Number.isFinite(Number(v)) && v.trim() !== '' ? Number(v) : v];
}

function parseChoice(f: FieldFlag, v: string): string {
  if (!f.choices) return v;
  const up = v.toUpperCase();
  if (!f.choices.includes(up)) throw new UsageError(`--${f.flag}: "${v}" is not one of ${f.choices.join(', ')}`);
  return up;
}

/** Sets `a.b.c` in `obj`. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[keys.at(-1)!] = value;
}

/** The body of the given flags (absent flags leave their field out). */
export function bodyFromFlags(flags: readonly FieldFlag[], opts: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of flags) {
    const raw = opts[attr(f.flag)];
    if (raw === undefined) continue;
    setPath(body, f.field, parseValue(f, raw));
  }
  return body;
}
