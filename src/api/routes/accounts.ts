// Accounts (PostgreSQL): get and list. A principal sees exactly its own account.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getAccount } from '../../db/repositories/accounts.js';
import { AccountResponse, accountToWire } from '../mappers/accounts.js';
import { resourceNotFound } from '../collections/names.js';
import { listPage } from '../wire/pagination.js';
import { AccountParams, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked } from './common.js';

const accounts: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.hearth;

  app.get('/accounts', {
    schema: {
      summary: 'List Accounts',
      description: 'The accounts the caller belongs to (its own). orderBy is not supported (always by name); pageSize defaults to 10.',
      tags: ['Accounts'],
      operationId: 'Gateway_ListAccounts',
      querystring: ListQuery,
      response: { 200: listResponseSchema('accounts', AccountResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { query, principal } = request;
      const own = await getAccount(db, principal.accountId);
      const all = own ? [accountToWire(own)] : [];
      const page = listPage(all, { ...query, orderBy: undefined }, { binding: { parent: 'accounts' }, codec: app.hearth.pageTokens, defaultPageSize: 10, defaultOrderBy: 'name' });
      return listResponse('accounts', page.items.map((a) => masked(a, query.readMask)), page);
    },
  });

  app.get('/accounts/:accountId', {
    schema: {
      summary: 'Get Account',
      tags: ['Accounts'],
      operationId: 'Gateway_GetAccount',
      params: AccountParams,
      querystring: ReadMaskQuery,
      response: { 200: AccountResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      const account = await getAccount(db, accountId);
      if (!account) throw resourceNotFound(accountId, 'accounts');
      return masked(accountToWire(account), request.query.readMask);
    },
  });
};

export default accounts;
