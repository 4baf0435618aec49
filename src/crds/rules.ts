// Validation rules declared once and enforced twice: the API server runs the CEL expression
// (`x-kubernetes-validations` in the generated CRD), zod runs the JavaScript predicate beside it,
// with the same message and the same field path. So `kubectl apply` and the REST facade give the
// same verdict on the same object.
import type { z } from 'zod';

/** Reasons the API server accepts on a validation rule (metav1.CauseType). */
export type RuleReason = 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

interface RuleBase {
  /** CEL expression; `self` is the value of the schema node the rule is attached to. */
  rule: string;
  /** Error message; names the field and the rule. */
  message: string;
  /** Field the error is reported on, relative to the node, in CEL fieldPath form (`.a.b`). */
  fieldPath?: string;
  reason?: RuleReason;
}

/** A rule on one object: CEL for the API server, `holds` for zod (over zod's output, after defaults). */
export interface Rule<T> extends RuleBase {
  holds: (self: T) => boolean;
}

/**
 * A transition rule (uses `oldSelf`): the API server runs it on update only. Zod cannot see the old
 * object, so callers that update (the REST facade) run `checkUpdate()`.
 */
export interface TransitionRule<T> extends RuleBase {
  holdsOnUpdate: (self: T, oldSelf: T) => boolean;
}

type AnyRule = Rule<never> | TransitionRule<never>;

export const VALIDATIONS_KEY = 'x-kubernetes-validations';

/** A validation failure, shaped like a zod issue: a path from the object root and a message. */
export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/** `.a.b` → `['a', 'b']`. */
export function fieldPathToArray(fieldPath: string | undefined): string[] {
  if (!fieldPath) return [];
  return fieldPath.split('.').filter((s) => s !== '');
}

function isTransition(r: AnyRule): r is TransitionRule<never> {
  return 'holdsOnUpdate' in r;
}

function validationsOf(schema: z.ZodType): AnyRule[] {
  const meta = schema.meta() as Record<string, unknown> | undefined;
  return (meta?.[VALIDATIONS_KEY] as AnyRule[] | undefined) ?? [];
}

/**
 * Attaches rules to a schema node: as `x-kubernetes-validations` metadata (the CRD generator keeps
 * only the CEL keys) and as a zod refinement with the same message and path.
 */
export function withRules<S extends z.ZodType>(
  schema: S,
  rules: readonly Rule<z.output<S>>[],
  transitions: readonly TransitionRule<z.output<S>>[] = [],
): S {
  const refined = schema.superRefine((self, ctx) => {
    for (const r of rules) {
      if (!r.holds(self)) ctx.addIssue({ code: 'custom', message: r.message, path: fieldPathToArray(r.fieldPath) });
    }
  }) as S;
  const all = [...validationsOf(schema), ...rules, ...transitions] as AnyRule[];
  return refined.meta({ [VALIDATIONS_KEY]: all }) as S;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/**
 * Runs the transition rules (`oldSelf`) of `schema` on an update from `oldObj` to `newObj`, as the
 * API server does: a rule runs only where the node exists in both objects. Both objects should be
 * parsed (defaults applied) first.
 */
export function checkUpdate(schema: z.ZodType, newObj: unknown, oldObj: unknown): RuleIssue[] {
  const issues: RuleIssue[] = [];
  walk(schema, newObj, oldObj, [], issues);
  return issues;
}

function walk(schema: z.ZodType, self: unknown, old: unknown, path: string[], issues: RuleIssue[]): void {
  if (self === undefined || old === undefined || self === null || old === null) return;
  for (const r of validationsOf(schema)) {
    if (isTransition(r) && !(r.holdsOnUpdate as (s: unknown, o: unknown) => boolean)(self, old)) {
      issues.push({ path: [...path, ...fieldPathToArray(r.fieldPath)], message: r.message });
    }
  }
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) return walk(def.innerType, self, old, path, issues);
  if (def.type === 'object' && def.shape && typeof self === 'object' && typeof old === 'object') {
    for (const [key, child] of Object.entries(def.shape)) {
      walk(child, (self as Record<string, unknown>)[key], (old as Record<string, unknown>)[key], [...path, key], issues);
    }
  }
}

/** The CEL keys of a rule, as they go into the CRD. */
export function toCelValidation(r: RuleBase): Record<string, string> {
  const out: Record<string, string> = { rule: r.rule, message: r.message };
  if (r.fieldPath) out.fieldPath = r.fieldPath;
  if (r.reason) out.reason = r.reason;
  return out;
}
