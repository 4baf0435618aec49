// Users (PostgreSQL): create (admins), get, list, update (admins; users may rename themselves).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createUser, getUser, listUsers, updateUser, userIdFromEmail, type UserPatch } from '../../db/repositories/accounts.js';
import { USER_ROLES } from '../../db/schema/index.js';
import { assertAdmin, isAdmin } from '../authorize.js';
import { UserResponse, userToWire } from '../mappers/accounts.js';
import { resourceNotFound } from '../collections/names.js';
import { invalidArgument, permissionDenied, requiredField } from '../wire/errors.js';
import { fieldMaskFromBody, parseFieldMask } from '../wire/field-mask.js';
import { listPage } from '../wire/pagination.js';
import { validateResourceId } from '../wire/resource-names.js';
import { AccountParams, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked } from './common.js';

const ignored = z.unknown().optional().describe('Output only; ignored on input.');
const email = z.string().max(320).regex(/^[^@\s]+@[^@\s]+$/, 'must be an e-mail address');

const userFields = {
  displayName: z.string().max(63).describe('Human-readable name, fewer than 64 characters.'),
  serviceAccount: z.boolean().describe('A service account (admins only).'),
  role: z.enum(USER_ROLES).describe('admin or user.'),
  email: email.describe('E-mail address; unique within the account.'),
  permissionPreset: z
    .string()
    .max(0, 'only valid with role "custom", which Hearth does not have')
    .describe('Only valid with role "custom" (not offered by Hearth): only the empty value is accepted, and not stored.'),
  name: ignored,
  createTime: ignored,
  updateTime: ignored,
  state: ignored,
  status: ignored,
};

const CreateUserBody = z.strictObject(userFields).partial().required({ role: true }).describe('The user to create.');
const UpdateUserBody = z.strictObject(userFields).partial().describe('Fields to change (the mask is the fields present, or updateMask).');
const UserParams = AccountParams.extend({ userId: z.string().describe('The user id.') });
const WRITABLE = ['displayName', 'serviceAccount', 'role', 'email'] as const;

const users: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.hearth;

  app.get('/accounts/:accountId/users', {
    schema: {
      summary: 'List Users',
      tags: ['Users'],
      operationId: 'Gateway_ListUsers',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema('users', UserResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      const all = (await listUsers(db, accountId)).map(userToWire);
      const page = listPage(all, request.query, { binding: { parent: `accounts/${accountId}/users` }, codec: app.hearth.pageTokens, defaultOrderBy: 'name' });
      return listResponse('users', page.items.map((u) => masked(u, request.query.readMask)), page);
    },
  });

  app.post('/accounts/:accountId/users', {
    schema: {
      summary: 'Create User',
      description: 'Admins only. `userId` defaults to one derived from the e-mail address.',
      tags: ['Users'],
      operationId: 'Gateway_CreateUser',
      params: AccountParams,
      querystring: z.object({ userId: z.string().optional().describe('The user id; default derived from the e-mail.') }),
      body: CreateUserBody,
      response: { 200: UserResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      assertAdmin(request.principal, 'create users');
      const body = request.body;
      if (body.email === undefined) throw requiredField('email');
      const userId = validateResourceId(request.query.userId ?? userIdFromEmail(body.email), 'userId');
      const user = await createUser(db, {
        accountId,
        userId,
        email: body.email,
        role: body.role,
        displayName: body.displayName ?? '',
        serviceAccount: body.serviceAccount ?? false,
      });
      return userToWire(user);
    },
  });

  app.get('/accounts/:accountId/users/:userId', {
    schema: {
      summary: 'Get User',
      tags: ['Users'],
      operationId: 'Gateway_GetUser',
      params: UserParams,
      querystring: ReadMaskQuery,
      response: { 200: UserResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, userId } = request.params;
      const user = await getUser(db, accountId, userId);
      if (!user) throw resourceNotFound(accountId, 'users', userId);
      return masked(userToWire(user), request.query.readMask);
    },
  });

  app.patch('/accounts/:accountId/users/:userId', {
    schema: {
      summary: 'Update User',
      description: 'Admins may change any user; other users may change only their own displayName.',
      tags: ['Users'],
      operationId: 'Gateway_UpdateUser',
      params: UserParams,
      querystring: z.object({ updateMask: z.string().max(1024).optional().describe('Fields to update (comma-separated); default: the fields present in the body.') }),
      body: UpdateUserBody,
      response: { 200: UserResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, userId } = request.params;
      const { principal } = request;
      const body = request.body as Record<string, unknown>;
      const mask: string[] = [];
      for (const p of parseFieldMask(request.query.updateMask, 'updateMask') ?? fieldMaskFromBody(body)) {
        if ((WRITABLE as readonly string[]).includes(p)) mask.push(p);
        // Output-only fields are ignored (AIP-203); anything else is not a field of User.
        else if (!(p in userFields)) throw invalidArgument('updateMask', `unknown field "${p}"`, 'FIELD_MASK');
      }
      const current = await getUser(db, accountId, userId);
      if (!current) throw resourceNotFound(accountId, 'users', userId);
      if (!isAdmin(principal)) {
        if (principal.userId !== userId) throw permissionDenied('only account admins can update other users');
        const forbidden = mask.find((p) => p !== 'displayName');
        if (forbidden) throw permissionDenied(`only account admins can change ${forbidden}`);
      }
      const patch: UserPatch = {};
      for (const p of mask) {
        const v = body[p];
        if (p === 'displayName') patch.displayName = (v as string | undefined) ?? '';
        if (p === 'serviceAccount') patch.serviceAccount = (v as boolean | undefined) ?? false;
        if (p === 'role') {
          if (v === undefined) throw requiredField('role');
          patch.role = v as UserPatch['role'];
        }
        if (p === 'email') {
          if (v === undefined) throw requiredField('email');
          patch.email = v as string;
        }
      }
      if (Object.keys(patch).length === 0) return userToWire(current);
      return userToWire(await updateUser(db, accountId, userId, patch));
    },
  });
};

export default users;
