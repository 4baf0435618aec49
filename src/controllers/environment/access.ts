// Who may connect an environment to a node pool, as the controller checks it for whatever created
// the request (REST or kubectl): the user who asked (`hearth.dev/connected-by`, else the creator
// `hearth.dev/created-by`) must be a user of the account, may use the environment
// (src/fleet/environment-access.ts: the creator, or anyone when it is shared, admins always) and
// may use the pool (admins need no binding; others a NodePoolBinding to the pool or to every pool).
import { ANNOTATIONS } from '../../crds/group.js';
import type { Db } from '../../db/client.js';
import { getUserByEmail } from '../../db/repositories/accounts.js';
import { isBoundToNodePool } from '../../db/repositories/node-pool-bindings.js';
import { environmentAccessMessage, environmentCreator, mayUseEnvironment, type EnvironmentLike } from '../../fleet/environment-access.js';

/** The users and bindings of accounts (PostgreSQL in production, a map in unit tests). */
export interface PoolAccess {
  /** The user's role in the account, or undefined when the e-mail is not a user of it. */
  roleOf(accountId: string, email: string): Promise<string | undefined>;
  isBound(accountId: string, nodePoolId: string, email: string): Promise<boolean>;
}

export class DbPoolAccess implements PoolAccess {
  constructor(private readonly db: Db) {}

  async roleOf(accountId: string, email: string): Promise<string | undefined> {
    const user = await getUserByEmail(this.db, accountId, email);
    return user && user.state === 'READY' ? user.role : undefined;
  }

  isBound(accountId: string, nodePoolId: string, email: string): Promise<boolean> {
    return isBoundToNodePool(this.db, accountId, nodePoolId, email);
  }
}

export type Verdict = { ok: true } | { ok: false; code: 'PERMISSION_DENIED'; reason: string; message: string };

/** The e-mail of whoever asked for the connection. */
export function requester(env: EnvironmentLike): string | undefined {
  const v = env.metadata?.annotations?.[ANNOTATIONS.connectedBy];
  return v ? v : environmentCreator(env);
}

const denied = (reason: string, message: string): Verdict => ({ ok: false, code: 'PERMISSION_DENIED', reason, message });

/** Whether the environment's requester may connect it to `poolName` (`accounts/{a}/nodePools/{p}`). */
export async function checkConnect(access: PoolAccess, env: EnvironmentLike & { metadata?: { name?: string } }, account: string, poolId: string): Promise<Verdict> {
  const poolName = `accounts/${account}/nodePools/${poolId}`;
  const envName = `accounts/${account}/environments/${env.metadata?.name ?? ''}`;
  const email = requester(env);
  if (!email) {
    return denied(
      'NoRequester',
      `cannot check who may use node pool "${poolName}": annotate the environment with ${ANNOTATIONS.createdBy} (or ${ANNOTATIONS.connectedBy}) naming a user of account "${account}" bound to the pool`,
    );
  }
  const role = await access.roleOf(account, email);
  if (!role) return denied('UnknownUser', `${email} is not a user of account "${account}": it may not use node pool "${poolName}"`);
  if (!mayUseEnvironment(env, { email, role })) return denied('NotShared', environmentAccessMessage(envName, env));
  if (role === 'admin' || (await access.isBound(account, poolId, email))) return { ok: true };
  return denied('NotBound', `${email} may not use node pool "${poolName}": no node pool binding for it (an admin creates one)`);
}
