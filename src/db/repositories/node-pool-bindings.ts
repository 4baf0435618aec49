// Node pool bindings: which users (by e-mail, the `principal`) may use an account's node pools.
// A binding names one node pool, or — the bare `{principal}` form of the Fireworks API — every
// node pool of the account (stored with node_pool_id ACCOUNT_WIDE).
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client.js';
import { NotFoundError } from '../errors.js';
import { nodePoolBindings, type NodePoolBindingRow } from '../schema/index.js';
import { insertOrExists } from './insert.js';

/** node_pool_id of a binding to every node pool of the account. */
export const ACCOUNT_WIDE = '';

/** How errors name a binding (it has no resource name on the wire). */
export function bindingName(accountId: string, nodePoolId: string, principal: string): string {
  return nodePoolId === ACCOUNT_WIDE
    ? `accounts/${accountId}/nodePoolBindings/${principal}`
    : `accounts/${accountId}/nodePools/${nodePoolId}/nodePoolBindings/${principal}`;
}

export async function createNodePoolBinding(
  db: Db,
  values: { accountId: string; nodePoolId: string; principal: string; createdBy: string },
): Promise<NodePoolBindingRow> {
  return insertOrExists(
    () => db.insert(nodePoolBindings).values(values).onConflictDoNothing().returning(),
    'nodePoolBinding',
    bindingName(values.accountId, values.nodePoolId, values.principal),
    values.accountId,
  );
}

export async function listNodePoolBindings(db: Db, accountId: string): Promise<NodePoolBindingRow[]> {
  return db
    .select()
    .from(nodePoolBindings)
    .where(eq(nodePoolBindings.accountId, accountId))
    .orderBy(asc(nodePoolBindings.nodePoolId), asc(nodePoolBindings.principal));
}

/** Deletes one binding; NOT_FOUND when there is none. */
export async function deleteNodePoolBinding(db: Db, accountId: string, nodePoolId: string, principal: string): Promise<void> {
  const rows = await db
    .delete(nodePoolBindings)
    .where(and(eq(nodePoolBindings.accountId, accountId), eq(nodePoolBindings.nodePoolId, nodePoolId), eq(nodePoolBindings.principal, principal)))
    .returning({ principal: nodePoolBindings.principal });
  if (rows.length === 0) throw new NotFoundError('nodePoolBinding', bindingName(accountId, nodePoolId, principal));
}

/** Deletes the bindings of a node pool (when the pool is deleted); returns how many. */
export async function deleteBindingsOfNodePool(db: Db, accountId: string, nodePoolId: string): Promise<number> {
  const rows = await db
    .delete(nodePoolBindings)
    .where(and(eq(nodePoolBindings.accountId, accountId), eq(nodePoolBindings.nodePoolId, nodePoolId)))
    .returning({ principal: nodePoolBindings.principal });
  return rows.length;
}

/**
 * Whether `principal` (a user's e-mail) is bound to the node pool, by a binding to that pool or to
 * every pool of the account. Admins need no binding: callers check the role first (issue 13 item 2:
 * the REST facade on `:connect` and batch-job create, the controllers for what kubectl created).
 */
export async function isBoundToNodePool(db: Db, accountId: string, nodePoolId: string, principal: string): Promise<boolean> {
  const rows = await db
    .select({ nodePoolId: nodePoolBindings.nodePoolId })
    .from(nodePoolBindings)
    .where(
      and(
        eq(nodePoolBindings.accountId, accountId),
        eq(nodePoolBindings.principal, principal),
        inArray(nodePoolBindings.nodePoolId, [nodePoolId, ACCOUNT_WIDE]),
      ),
    )
    .limit(1);
  return rows.length > 0;
}
