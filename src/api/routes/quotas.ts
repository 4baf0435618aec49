// Quotas (PostgreSQL): list, get, update `value` within `maxValue` (admins).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getQuota, listQuotas, setQuotaValue } from '../../db/repositories/quotas.js';
import { assertAdmin } from '../authorize.js';
import { QuotaResponse, quotaToWire } from '../mappers/accounts.js';
import { resourceNotFound } from '../collections/names.js';
import { invalidArgument } from '../wire/errors.js';
import { fieldMaskFromBody, parseFieldMask } from '../wire/field-mask.js';
import { parseSafeInt64 } from '../wire/int64.js';
import { listPage } from '../wire/pagination.js';
import { AccountParams, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked, queryBool } from './common.js';

const QuotaParams = AccountParams.extend({ quotaId: z.string().describe('The quota id, e.g. h100-us-virginia-2.') });
const ignored = z.unknown().optional().describe('Output only; ignored on input.');

const UpdateQuotaBody = z
  .strictObject({
    value: z.union([z.string(), z.number()]).optional().describe('int64 (a string, or a number): the new enforced value, 0 … maxValue.'),
    name: ignored,
    maxValue: ignored,
    usage: ignored,
    updateTime: ignored,
  })
  .describe('The quota; only `value` can be changed.');

const quotas: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.hearth;

  app.get('/accounts/:accountId/quotas', {
    schema: {
      summary: 'List Quotas',
      tags: ['Quotas'],
      operationId: 'Gateway_ListQuotas',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema('quotas', QuotaResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      const all = (await listQuotas(db, accountId)).map(quotaToWire);
      const page = listPage(all, request.query, { binding: { parent: `accounts/${accountId}/quotas` }, codec: app.hearth.pageTokens, defaultOrderBy: 'name' });
      return listResponse('quotas', page.items.map((q) => masked(q, request.query.readMask)), page);
    },
  });

  app.get('/accounts/:accountId/quotas/:quotaId', {
    schema: {
      summary: 'Get Quota',
      tags: ['Quotas'],
      operationId: 'Gateway_GetQuota',
      params: QuotaParams,
      querystring: ReadMaskQuery,
      response: { 200: QuotaResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, quotaId } = request.params;
      const q = await getQuota(db, accountId, quotaId);
      if (!q) throw resourceNotFound(accountId, 'quotas', quotaId);
      return masked(quotaToWire(q), request.query.readMask);
    },
  });

  app.patch('/accounts/:accountId/quotas/:quotaId', {
    schema: {
      summary: 'Update Quota',
      description: 'Admins only. Sets `value` within [0, maxValue]; lowering it below usage keeps what runs but blocks new reservations.',
      tags: ['Quotas'],
      operationId: 'Gateway_UpdateQuota',
      params: QuotaParams,
      querystring: z.object({
        allowMissing: queryBool('Create the quota if Hearth has a default for it.'),
        updateMask: z.string().max(1024).optional().describe('Fields to update; only "value" is writable.'),
      }),
      body: UpdateQuotaBody,
      response: { 200: QuotaResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, quotaId } = request.params;
      assertAdmin(request.principal, 'update quotas');
      const body = request.body as Record<string, unknown>;
      const mask = parseFieldMask(request.query.updateMask, 'updateMask') ?? fieldMaskFromBody(body);
      for (const p of mask) if (!(p in UpdateQuotaBody.shape)) throw invalidArgument('updateMask', `unknown field "${p}"`, 'FIELD_MASK');
      if (!mask.includes('value')) {
        const q = await getQuota(db, accountId, quotaId);
        if (!q) throw resourceNotFound(accountId, 'quotas', quotaId);
        return quotaToWire(q);
      }
      if (body.value === undefined) throw invalidArgument('value', 'is required by the update mask', 'REQUIRED');
      const value = parseSafeInt64(body.value, 'value', { min: 0 });
      return quotaToWire(await setQuotaValue(db, accountId, quotaId, value, { allowMissing: request.query.allowMissing ?? false }));
    },
  });
};

export default quotas;
