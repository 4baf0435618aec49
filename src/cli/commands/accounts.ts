// Who you are and what you may use: users, API keys, quotas, `whoami`, `set-api-key`.
import type { Command } from 'commander';
import { RestClient } from '../client.js';
import { action, type Ctx } from '../context.js';
import { ApiCallError, UsageError } from '../errors.js';
import { addFieldFlags, bodyFromFlags, type FieldFlag } from '../flags.js';
import { describe, idOf, parseInt32, serialize } from '../format.js';
import { kindNamed } from '../kinds.js';
import { writeProfile } from '../profile.js';
import { kindCommand, listAll, printDeleted } from './generic.js';

const USER = kindNamed('user')!;
const API_KEY = kindNamed('api-key')!;
const QUOTA = kindNamed('quota')!;

const USER_FLAGS: readonly FieldFlag[] = [
  { flag: 'display-name', field: 'displayName', type: 'string', description: 'The display name of the user.' },
  { flag: 'role', field: 'role', type: 'string', description: 'The role of the user: user or admin.' },
  { flag: 'email', field: 'email', type: 'string', description: 'E-mail address (required on create).' },
  { flag: 'service-account', field: 'serviceAccount', type: 'bool', description: 'A service account.' },
];

/** The keyId part of a Hearth key (`hearth_<keyId>_<secret>`), never the secret. */
export function keyIdOf(key: string | undefined): string | undefined {
  return /^hearth_([0-9A-Za-z]{12})_/.exec(key ?? '')?.[1];
}

/** The user the key belongs to: the one whose keys include its keyId (users you may not read are skipped). */
async function currentUser(ctx: Ctx): Promise<Record<string, unknown> | undefined> {
  const keyId = keyIdOf(ctx.settings.apiKey);
  if (!keyId) return undefined;
  const { items: users } = await listAll(ctx, '/users', 'users', { paginate: false });
  for (const u of users) {
    const keys = await listAll(ctx, `/users/${encodeURIComponent(idOf(String(u.name)))}/apiKeys`, 'apiKeys', { paginate: false }).catch(() => ({ items: [] }));
    if (keys.items.some((k) => k.keyId === keyId)) return u;
  }
  return undefined;
}

async function userIdFor(ctx: Ctx, flag: unknown): Promise<string> {
  if (typeof flag === 'string' && flag) return idOf(flag);
  const me = await currentUser(ctx);
  if (!me) throw new UsageError('--user: cannot tell whose key this is; name the user');
  return idOf(String(me.name));
}

function registerUsers(v: { create: Command; update: Command }): void {
  const create = kindCommand(v.create, USER).option('--user-id <id>', 'The user id (default: derived from the e-mail).');
  addFieldFlags(create, USER_FLAGS).action(
    action(async (ctx, _args, opts) => {
      const body: Record<string, unknown> = { role: 'user', ...bodyFromFlags(USER_FLAGS, opts) };
      if (!body.email) throw new UsageError('--email: required');
      ctx.printResource(await ctx.client.account('POST', '/users', { body, query: { userId: opts.userId as string | undefined } }));
    }),
  );
  const update = kindCommand(v.update, USER).argument('<user-id>', 'the user id');
  addFieldFlags(update, USER_FLAGS).action(
    action(async (ctx, [id], opts) => {
      const body = bodyFromFlags(USER_FLAGS, opts);
      if (!Object.keys(body).length) throw new UsageError('update user: give at least one field flag (see --help)');
      ctx.printResource(await ctx.client.account('PATCH', `/users/${encodeURIComponent(idOf(id!))}`, { body }));
    }),
  );
}

function registerApiKeys(v: { create: Command; list: Command; delete: Command }): void {
  kindCommand(v.create, API_KEY)
    .option('--key-name <name>', 'A name for the key.')
    .option('--user <id>', 'The user the key is for (default: you; admins may name another).')
    .option('--expire-time <rfc3339>', 'When the key stops working (default: never).')
    .action(
      action(async (ctx, _args, opts) => {
        const userId = await userIdFor(ctx, opts.user);
        const apiKey = { displayName: opts.keyName as string | undefined, expireTime: opts.expireTime as string | undefined };
        const created = await ctx.client.account('POST', `/users/${encodeURIComponent(userId)}/apiKeys`, { body: { apiKey } });
        ctx.printResource(created);
        if (ctx.output === 'table') ctx.err('The key is shown once: keep it now.');
      }),
    );
  kindCommand(v.list, API_KEY)
    .option('--user <id>', 'Whose keys (default: yours).')
    .option('--all-users', "Every user's keys (admins).")
    .action(
      action(async (ctx, _args, opts) => {
        const users = opts.allUsers ? (await listAll(ctx, '/users', 'users', { paginate: false })).items.map((u) => idOf(String(u.name))) : [await userIdFor(ctx, opts.user)];
        const items: Record<string, unknown>[] = [];
        for (const u of users) items.push(...(await listAll(ctx, `/users/${encodeURIComponent(u)}/apiKeys`, 'apiKeys', { paginate: false })).items);
        ctx.printList({ apiKeys: items }, items, API_KEY.columns);
      }),
    );
  kindCommand(v.delete, API_KEY)
    .argument('<key-id>', 'the key id')
    .option('--user <id>', "The key's user (default: found among the users you may see).")
    .action(
      action(async (ctx, [keyId], opts) => {
        const userId = typeof opts.user === 'string' ? idOf(opts.user) : await ownerOfKey(ctx, keyId!);
        printDeleted(ctx, API_KEY, keyId!, await ctx.client.account('POST', `/users/${encodeURIComponent(userId)}/apiKeys:delete`, { body: { keyId } }));
      }),
    );
}

async function ownerOfKey(ctx: Ctx, keyId: string): Promise<string> {
  const { items: users } = await listAll(ctx, '/users', 'users', { paginate: false });
  for (const u of users) {
    const id = idOf(String(u.name));
    const keys = await listAll(ctx, `/users/${encodeURIComponent(id)}/apiKeys`, 'apiKeys', { paginate: false }).catch(() => ({ items: [] }));
    if (keys.items.some((k) => k.keyId === keyId)) return id;
  }
  throw new ApiCallError(404, 'NOT_FOUND', `no API key ${keyId} among the users you may see`);
}

function registerQuotas(update: Command): void {
  kindCommand(update, QUOTA)
    .description('Sets the enforced value of a quota (0 … its maxValue; admins).')
    .argument('<quota-id>', 'the quota id, e.g. h100-us-iowa-1 or monthly-spend-usd')
    .requiredOption('--value <int>', 'The new value.')
    .action(
      action(async (ctx, [id], opts) => {
        const value = String(parseInt32('value', String(opts.value)));
        ctx.printResource(await ctx.client.account('PATCH', `/quotas/${encodeURIComponent(idOf(id!))}`, { body: { value } }));
      }),
    );
}

function registerWhoami(program: Command): void {
  program
    .command('whoami')
    .summary('Show the account, user, profile and server this CLI uses (never the key).')
    .action(
      action(async (ctx) => {
        const accounts = await ctx.client.call<{ accounts?: Record<string, unknown>[] }>('GET', '/v1/accounts');
        const account = ctx.settings.accountId ?? idOf(String(accounts.accounts?.[0]?.name ?? ''));
        const scoped = new RestClient({ ...ctx.client.opts, accountId: account });
        const me = await currentUser({ ...ctx, client: scoped }).catch(() => undefined);
        const s = ctx.settings;
        const info = {
          Account: `${account} (from ${s.accountId ? s.sources.accountId : 'the API key'})`,
          User: me ? `${String(me.email ?? '')} (${String(me.role ?? '')})` : 'unknown',
          Profile: `${s.profile} (${s.file})`,
          'Base URL': `${s.baseUrl} (${s.sources.baseUrl})`,
          'API key': `set (from ${s.sources.apiKey})`,
        };
        ctx.out(ctx.output === 'table' ? describe(info) : serialize(info, ctx.output));
      }),
    );
}

function registerSetApiKey(program: Command): void {
  program
    .command('set-api-key')
    .summary('Save an API key (with --account-id, --base-url) in a profile of ~/.hearth/auth.ini.')
    .argument('<api-key>', 'the API key')
    .action(
      action(async (ctx, [key]) => {
        const s = ctx.settings;
        if (ctx.client.opts.dryRun) return ctx.out(`would save the key in profile ${s.profile} of ${s.file}`);
        let accountId = s.sources.accountId === 'flag' ? s.accountId : undefined;
        if (!accountId) {
          const client = new RestClient({ baseUrl: s.baseUrl, apiKey: key });
          const answer = await client.call<{ accounts?: Record<string, unknown>[] }>('GET', '/v1/accounts');
          accountId = idOf(String(answer.accounts?.[0]?.name ?? ''));
        }
        writeProfile(s.file, s.profile, { api_key: key, account_id: accountId, base_url: s.sources.baseUrl === 'flag' ? s.baseUrl : undefined });
        ctx.err(`Saved the key for account ${accountId} in profile ${s.profile} (${s.file}).`);
      }),
    );
}

export function registerAccounts(program: Command, v: { create: Command; update: Command; list: Command; delete: Command }): void {
  registerUsers(v);
  registerApiKeys(v);
  registerQuotas(v.update);
  registerWhoami(program);
  registerSetApiKey(program);
}
