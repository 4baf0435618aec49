// Schemas and helpers shared by the route files.
import { z } from 'zod';
import { applyReadMask, parseFieldMask } from '../wire/field-mask.js';
import { ERROR_DOMAIN } from '../wire/errors.js';

export const AccountParams = z.object({ accountId: z.string().describe('The account id.') });

export const ReadMaskQuery = z.object({
  readMask: z.string().max(4096).optional().describe('Fields to return (comma-separated paths); empty or "*" for all.'),
});

/** AIP-132 list parameters. */
export const ListQuery = z.object({
  pageSize: z.coerce.number().int().min(0).optional().describe('Maximum items per page (default 50, at most 200; larger values are coerced to 200).'),
  pageToken: z.string().max(4096).optional().describe('nextPageToken of the previous call; every other parameter must match that call.'),
  filter: z.string().max(4096).optional().describe('AIP-160 filter: comparisons (=, !=, <, >, <=, >=) of field paths, AND, OR, NOT, parentheses.'),
  orderBy: z.string().max(1024).optional().describe('Comma-separated fields, each optionally followed by " desc".'),
  readMask: z.string().max(4096).optional().describe('Fields to return for each item; empty or "*" for all.'),
});

/** `true`/`false` (and 1/0) in a query string. */
/** PATCH's optional field mask (without it, the mask is the set of fields in the body). */
export const UpdateMaskQuery = z.object({
  updateMask: z.string().max(4096).optional().describe('Comma-separated field paths to update; fields in the mask but not in the body are cleared.'),
});

export const queryBool = (what: string) => z.stringbool().optional().describe(what);

/** `{}` (Delete, :scale, apiKeys:delete). */
export const Empty = z.object({}).describe('Empty response.');

/** google.rpc.Status, the body of every error. */
export const ErrorBody = z
  .object({
    code: z.int().describe('google.rpc.Code, e.g. 3 INVALID_ARGUMENT, 5 NOT_FOUND, 8 RESOURCE_EXHAUSTED, 16 UNAUTHENTICATED.'),
    message: z.string().describe('What went wrong, naming the field, resource or quota.'),
    details: z.array(z.looseObject({ '@type': z.string() })).describe(`google.rpc error details (BadRequest, ResourceInfo, QuotaFailure, RetryInfo, ErrorInfo with domain ${ERROR_DOMAIN}).`),
  })
  .describe('google.rpc.Status');

/** The error responses every authenticated route documents. */
export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  404: ErrorBody,
  429: ErrorBody,
};

/** Applies a validated readMask to a wire object. */
export function masked<T extends Record<string, unknown>>(obj: T, readMask: string | undefined): Partial<T> {
  return applyReadMask(obj, parseFieldMask(readMask, 'readMask'));
}

/** The wire list response `{<collection>: [...], nextPageToken, totalSize}` (empty token omitted). */
export function listResponse(collection: string, items: unknown[], page: { nextPageToken: string; totalSize: number }): Record<string, unknown> {
  return { [collection]: items, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}), totalSize: page.totalSize };
}

/** A list response schema for the OpenAPI document. */
export function listResponseSchema(collection: string, item: z.ZodType): z.ZodType {
  return z.object({
    [collection]: z.array(item),
    nextPageToken: z.string().optional().describe('Token for the next page; absent on the last page.'),
    totalSize: z.int().describe('Items matching the filter, over all pages.'),
  });
}
