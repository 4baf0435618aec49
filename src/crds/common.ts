// Pieces shared by the six kinds: bounded strings and counts, Fireworks enums, the `status`
// sub-message, timestamps, annotations, and the resource-id rule on metadata.name.
import { z } from 'zod';
import { API_VERSION } from './group.js';
import { withRules, type Rule } from './rules.js';

// ---- scalars ------------------------------------------------------------------------------------

/** A string with a length bound (the bound also keeps CEL's cost estimate small). */
export function text(max: number): z.ZodString {
  return z.string().max(max);
}

/** A non-empty string with a length bound. */
export function required(max: number): z.ZodString {
  return z.string().min(1).max(max);
}

/** proto int32, ≥ min. */
export function int32(min = 0): z.ZodNumber {
  return z.int32().min(min);
}

/** Human-readable name: fewer than 64 characters (Fireworks rule). */
export function displayName(): z.ZodOptional<z.ZodString> {
  return text(63)
    .optional()
    .describe('Human-readable display name. Must be fewer than 64 characters.');
}

/** Free-text description: fewer than 1000 characters (Fireworks rule). */
export function description(what: string): z.ZodOptional<z.ZodString> {
  return text(999)
    .optional()
    .describe(`Description of the ${what}. Must be fewer than 1000 characters.`);
}

/** RFC 3339 timestamp, as Kubernetes and proto3 JSON write them. */
export function timestamp(what: string): z.ZodOptional<z.ZodISODateTime> {
  return z.iso.datetime({ offset: true }).optional().describe(what);
}

/** Free-form string map (Fireworks `annotations`); bounded for CEL's cost estimate. */
export function annotations(what: string): z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodString>> {
  return z
    .record(z.string().max(253), text(4096))
    .meta({ maxProperties: 64 })
    .optional()
    .describe(`Free-form key/value pairs on the ${what}, for external tools (at most 64).`);
}

// ---- resource ids -------------------------------------------------------------------------------

/** Fireworks resource ids: 1–63 of a-z 0-9 '-', no leading/trailing '-', no leading digit. */
export const RESOURCE_ID_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
const RESOURCE_ID_RE = new RegExp(RESOURCE_ID_PATTERN);

export function isResourceId(s: string): boolean {
  return s.length >= 1 && s.length <= 63 && RESOURCE_ID_RE.test(s);
}

/** A string field holding a resource id (e.g. `nodePoolId`), with the rule in CEL and zod. */
export function resourceId(field: string): z.ZodString {
  return withRules(text(63), [
    {
      rule: `self.matches('${RESOURCE_ID_PATTERN}')`,
      message: `${field} must be a resource id: 1-63 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'`,
      holds: isResourceId,
    },
  ]);
}

/** The object metadata zod sees: only `name` is checked; Kubernetes owns the rest. */
export const ObjectMeta = z
  .looseObject({
    name: z.string().optional().describe('Name of the object: a Fireworks resource id.'),
    namespace: z.string().optional().describe('Namespace of the object: one per account.'),
    labels: z.record(z.string(), z.string()).optional().describe('Labels.'),
    annotations: z.record(z.string(), z.string()).optional().describe('Annotations.'),
  })
  .describe('Standard object metadata. The name must be a Fireworks resource id.');

/** Root-level rule: metadata.name is a Fireworks resource id (CEL reaches metadata.name from the root). */
export const nameIsResourceId: Rule<{ metadata: { name?: string | undefined } }> = {
  rule: `self.metadata.name.size() <= 63 && self.metadata.name.matches('${RESOURCE_ID_PATTERN}')`,
  message:
    "metadata.name must be a resource id: 1-63 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'",
  fieldPath: '.metadata.name',
  // generateName objects get their name from the API server; REST always names them.
  holds: (self) => self.metadata.name === undefined || isResourceId(self.metadata.name),
};

/** The envelope of a kind: apiVersion, kind, metadata, spec, status; with the name rule at the root. */
export function resource<K extends string, Sp extends z.ZodType, St extends z.ZodType>(kind: K, spec: Sp, status: St) {
  return withRules(
    z.object({
      apiVersion: z.literal(API_VERSION).describe(`API version: ${API_VERSION}.`),
      kind: z.literal(kind).describe(`Kind: ${kind}.`),
      metadata: ObjectMeta,
      spec,
      status: status.optional(),
    }),
    [nameIsResourceId],
  );
}

// ---- enums (Fireworks names; the *_UNSPECIFIED zero values are not accepted on input) ----------

export const ACCELERATOR_TYPES = [
  'NVIDIA_A100_80GB',
  'NVIDIA_H100_80GB',
  'AMD_MI300X_192GB',
  'NVIDIA_A10G_24GB',
  'NVIDIA_A100_40GB',
  'NVIDIA_L4_24GB',
  'NVIDIA_H200_141GB',
  'NVIDIA_B200_180GB',
  'AMD_MI325X_256GB',
  'AMD_MI350X_288GB',
  'NVIDIA_B300_288GB',
] as const;
export const AcceleratorType = z.enum(ACCELERATOR_TYPES);
export type AcceleratorType = z.infer<typeof AcceleratorType>;
export const DEFAULT_ACCELERATOR_TYPE: AcceleratorType = 'NVIDIA_A100_80GB';

/** Regions: the current list plus older (hidden/retired) names, which are still accepted. */
export const REGIONS = [
  'US_IOWA_1',
  'US_VIRGINIA_1',
  'US_VIRGINIA_2',
  'US_ILLINOIS_1',
  'AP_TOKYO_1',
  'US_ARIZONA_1',
  'US_TEXAS_1',
  'US_ILLINOIS_2',
  'EU_FRANKFURT_1',
  'US_TEXAS_2',
  'EU_ICELAND_1',
  'EU_ICELAND_2',
  'US_WASHINGTON_1',
  'US_WASHINGTON_2',
  'US_WASHINGTON_3',
  'AP_TOKYO_2',
  'US_CALIFORNIA_1',
  'US_UTAH_1',
  'US_GEORGIA_1',
  'US_GEORGIA_2',
  'US_WASHINGTON_4',
  'US_GEORGIA_3',
  'NA_BRITISHCOLUMBIA_1',
  'US_GEORGIA_4',
  'US_OHIO_1',
  'US_NEWYORK_1',
  'EU_NETHERLANDS_1',
  'US_WASHINGTON_5',
  'US_MINNESOTA_1',
  'US_CALIFORNIA_2',
  'AP_MALAYSIA_1',
  'US_OHIO_2',
  'EU_LONDON_1',
  'EU_PARIS_1',
  'EU_HELSINKI_1',
  'US_NEVADA_1',
  'EU_ICELAND_DEV_1',
  'US_ARIZONA_2',
  'US_MISSOURI_1',
  'US_TEXAS_3',
  'US_ARIZONA_3',
  'EU_ICELAND_3',
] as const;
export const Region = z.enum(REGIONS);
export type Region = z.infer<typeof Region>;

export const MultiRegion = z.enum(['GLOBAL', 'US', 'EUROPE', 'APAC']);
export type MultiRegion = z.infer<typeof MultiRegion>;

/** google.rpc.Code names, as the `status.code` of every Fireworks resource carries them. */
export const Code = z.enum([
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
]);
export type Code = z.infer<typeof Code>;

/** Fireworks `gatewayStatus`: the outcome of the most recent operation (output only). */
export const Status = z
  .object({
    code: Code.default('OK').describe('The status code (google.rpc.Code name).'),
    message: text(32768).optional().describe('A developer-facing error message in English.'),
  })
  .describe('Details of the most recent operation or failure.');
export type Status = z.output<typeof Status>;
