// Fireworks `Dataset` (wire, `gatewayDataset`) ⇄ `datasets` row: the one place that knows how the
// two line up.
//
// - Columns: displayName, state, status, format, exampleCount, estimatedTokenCount, createdBy,
//   times. The other writable fields (the source oneof `userUploaded` | `evaluationResult` |
//   `transformed` | `splitted`, `evalProtocol`, `externalUrl`, `sourceJobName`) live in `spec` under
//   their wire names, with the one computed output-only value `averageTurnCount`.
// - int64 fields (`exampleCount`, `estimatedTokenCount`) leave as strings and are accepted as
//   strings or numbers. Output-only fields are accepted and ignored on input (AIP-203); unknown
//   fields are rejected. A set oneof member that is an empty message (`userUploaded: {}`) is
//   emitted as `{}`, as grpc-gateway does; other unset fields are omitted.
import { z } from 'zod';
import { Status } from '../../crds/common.js';
import { DATASET_STATES, type DatasetRow, type ResourceStatus } from '../../db/schema/index.js';
import { invalidArgument } from '../wire/errors.js';
import { formatInt64, parseSafeInt64 } from '../wire/int64.js';
import { omitUnset } from '../wire/omit.js';
import { formatTimestamp } from '../wire/timestamp.js';

export const COLLECTION = 'datasets';

export const DATASET_FORMATS = ['FORMAT_UNSPECIFIED', 'CHAT', 'COMPLETION', 'RL'] as const;
export const DatasetFormat = z.enum(DATASET_FORMATS).describe('FORMAT_UNSPECIFIED, CHAT, COMPLETION or RL.');
export const DatasetState = z.enum(DATASET_STATES).describe('UPLOADING until a valid file is stored, then READY.');

const int64 = z
  .union([z.string().regex(/^\d+$/, 'must be a non-negative integer (int64, as a string such as "3")'), z.int().min(0)])
  .describe('int64 as a string (a JSON number is accepted).');

/** The source oneof: at most one is set. */
export const SOURCE_FIELDS = ['userUploaded', 'evaluationResult', 'transformed', 'splitted'] as const;

const WRITABLE = {
  displayName: z.string().max(256).describe('Human-readable name.'),
  exampleCount: int64.describe('Number of examples (int64 string); set by Hearth when an upload is validated.'),
  userUploaded: z.strictObject({}).describe('Source: uploaded by the user (the default).'),
  evaluationResult: z.strictObject({ evaluationJobId: z.string().min(1).max(512) }).describe('Source: the result of an evaluation job.'),
  transformed: z
    .strictObject({ sourceDatasetId: z.string().min(1).max(63), filter: z.string().max(4096).optional(), originalFormat: DatasetFormat.optional() })
    .describe('Source: derived from another dataset of the account.'),
  splitted: z.strictObject({ sourceDatasetId: z.string().min(1).max(63) }).describe('Source: split from another dataset.'),
  evalProtocol: z.looseObject({}).describe('Evaluation protocol (opaque object).'),
  externalUrl: z.string().max(2048).describe('The external URI of the dataset, e.g. gs://foo/bar/baz.jsonl (stored, not fetched).'),
  format: DatasetFormat,
  sourceJobName: z.string().max(512).describe('Resource name of the job that created this dataset (lineage).'),
};
export const WRITABLE_FIELDS: readonly string[] = Object.keys(WRITABLE);

const ts = z.string().describe('RFC 3339 timestamp.');
const OUTPUT_ONLY = {
  name: z.string().describe('Output only. accounts/{account}/datasets/{dataset}.'),
  createTime: ts.describe('Output only.'),
  updateTime: ts.describe('Output only.'),
  state: DatasetState.describe('Output only. UPLOADING or READY.'),
  status: Status.describe('Output only. gatewayStatus {code (a google.rpc.Code name), message}.'),
  createdBy: z.string().describe('Output only. E-mail of the user who created it.'),
  estimatedTokenCount: z.string().describe('Output only. Estimated tokens in the dataset (int64 string).'),
  averageTurnCount: z.number().describe('Output only. Average turns (user messages) per example.'),
};
export const OUTPUT_ONLY_FIELDS: readonly string[] = Object.keys(OUTPUT_ONLY);

const ignoredOnInput = Object.fromEntries(Object.keys(OUTPUT_ONLY).map((k) => [k, z.unknown().optional().describe('Output only; ignored on input.')]));

/** The `dataset` of a create body, and a PATCH body: any subset of the resource. */
export const DatasetBody = z.strictObject({ ...WRITABLE, ...ignoredOnInput }).partial().describe('A Fireworks Dataset.');

export const CreateDatasetBody = z
  .strictObject({
    dataset: DatasetBody,
    datasetId: z.string().describe('The dataset id (1–63 of a-z, 0-9, "-", starting with a letter).'),
    sourceDatasetId: z.string().max(512).optional().describe('Create the dataset as a copy of this dataset of the account (an id or accounts/{account}/datasets/{id}).'),
    filter: z.string().max(4096).optional().describe('Filter (SQL-like WHERE clause) applied to the source dataset (not supported).'),
  })
  .describe('GatewayCreateDatasetBody.');

export const DatasetResponse = z
  .object({ ...WRITABLE, ...OUTPUT_ONLY, exampleCount: z.string().describe('Number of examples (int64, always a string on output).') })
  .partial()
  .describe('A Fireworks Dataset.');

/** Spec keys the facade writes itself (never from input). */
const COMPUTED_SPEC_KEYS = ['averageTurnCount'];

// ---- row → wire -----------------------------------------------------------------------------------

function wireStatus(s: ResourceStatus | null | undefined): ResourceStatus | undefined {
  if (!s || (s.code === 'OK' && !s.message)) return undefined;
  return s;
}

export function toWire(row: DatasetRow): Record<string, unknown> {
  const spec = row.spec ?? {};
  const out = omitUnset({
    name: `accounts/${row.accountId}/${COLLECTION}/${row.datasetId}`,
    displayName: row.displayName,
    createTime: formatTimestamp(row.createTime),
    state: row.state,
    status: wireStatus(row.status),
    exampleCount: row.exampleCount === null ? undefined : formatInt64(row.exampleCount),
    evaluationResult: spec.evaluationResult,
    transformed: spec.transformed,
    splitted: spec.splitted,
    externalUrl: spec.externalUrl,
    format: row.format === 'FORMAT_UNSPECIFIED' ? undefined : row.format,
    createdBy: row.createdBy,
    updateTime: formatTimestamp(row.updateTime),
    sourceJobName: spec.sourceJobName,
    estimatedTokenCount: row.estimatedTokenCount === null ? undefined : formatInt64(row.estimatedTokenCount),
    averageTurnCount: typeof spec.averageTurnCount === 'number' && spec.averageTurnCount > 0 ? spec.averageTurnCount : undefined,
  }) as Record<string, unknown>;
  // Set empty messages are emitted as `{}` (a set oneof member is not "unset").
  if (spec.userUploaded !== undefined) out.userUploaded = {};
  if (spec.evalProtocol !== undefined && out.evalProtocol === undefined) out.evalProtocol = spec.evalProtocol;
  return out;
}

// ---- wire → row -----------------------------------------------------------------------------------

export interface DatasetFields {
  displayName?: string;
  format?: string;
  exampleCount?: bigint | null;
  /** The spec-held fields (source oneof, evalProtocol, externalUrl, sourceJobName). */
  spec: Record<string, unknown>;
}

/** Checks that at most one source is set in a resource (wire or spec shape). */
export function checkSourceOneof(obj: Record<string, unknown>, prefix = ''): void {
  const set = SOURCE_FIELDS.filter((k) => obj[k] !== undefined && obj[k] !== null);
  if (set.length > 1) {
    throw invalidArgument(`${prefix}${set[1]}`, `at most one of ${SOURCE_FIELDS.join(', ')} may be set (the dataset's source); found ${set.join(' and ')}`, 'ONEOF');
  }
}

/** The row fields of a (validated) wire body: writable fields only, output-only ones dropped. */
export function fieldsFromWire(body: Record<string, unknown>, prefix = ''): DatasetFields {
  const spec: Record<string, unknown> = {};
  const out: DatasetFields = { spec };
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined || !WRITABLE_FIELDS.includes(k)) continue;
    if (k === 'displayName') out.displayName = v as string;
    else if (k === 'format') out.format = v as string;
    else if (k === 'exampleCount') out.exampleCount = v === null ? null : BigInt(parseSafeInt64(v, `${prefix}exampleCount`, { min: 0 }));
    else spec[k] = v;
  }
  return out;
}

/** The spec after a PATCH: masked top-level spec fields replaced or cleared; computed keys kept. */
export function patchSpec(current: Record<string, unknown>, patch: Record<string, unknown>, mask: readonly string[]): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  for (const path of mask) {
    const top = path.split('.')[0]!;
    if (COMPUTED_SPEC_KEYS.includes(top) || !WRITABLE_FIELDS.includes(top)) continue;
    if (top === 'displayName' || top === 'format' || top === 'exampleCount') continue;
    if (patch[top] === undefined) delete next[top];
    else next[top] = patch[top];
  }
  // Setting one member of the source oneof clears the others.
  const setNow = SOURCE_FIELDS.filter((k) => mask.some((p) => p.split('.')[0] === k) && patch[k] !== undefined);
  if (setNow.length === 1) for (const k of SOURCE_FIELDS) if (k !== setNow[0]) delete next[k];
  return next;
}
