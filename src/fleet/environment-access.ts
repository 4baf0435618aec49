// Who may use an Environment: connect it to a node pool, disconnect it, and run batch jobs in it
// (issue 13 item 3). One rule for the REST facade (`:connect`, `:disconnect`) and the BatchJob
// controller and REST route (a job that names an environment), so they cannot disagree.
//
// - The creator (the `hearth.dev/created-by` annotation, the e-mail of the user whose key created
//   it) may always.
// - Anyone else of the account only when the environment is `shared` — and account admins always
//   (they manage everything in the account).
// - An environment without a creator (created with kubectl and not annotated) is usable by admins,
//   and by everyone only when shared.
// Whether the user may use the node pool is a separate check (a NodePoolBinding,
// src/db/repositories/node-pool-bindings.ts `isBoundToNodePool`); both must pass. Accounts are
// separated before this is asked: another account's environment is NOT_FOUND, never denied.
import { ANNOTATIONS } from '../crds/group.js';

/** The environment as far as the rule reads it. */
export interface EnvironmentLike {
  metadata?: { annotations?: Record<string, string> };
  spec?: { shared?: boolean };
}

/** The user asking (a REST principal, or the creator of a BatchJob). */
export interface EnvironmentUser {
  email: string;
  role: string;
}

/** The e-mail of the environment's creator, when it is recorded. */
export function environmentCreator(env: EnvironmentLike): string | undefined {
  const v = env.metadata?.annotations?.[ANNOTATIONS.createdBy];
  return v === undefined || v === '' ? undefined : v;
}

/** Whether `user` may connect, disconnect or run jobs in `env` (see the header). */
export function mayUseEnvironment(env: EnvironmentLike, user: EnvironmentUser): boolean {
  if (user.role === 'admin') return true;
  if (env.spec?.shared === true) return true;
  const creator = environmentCreator(env);
  return creator !== undefined && creator.toLowerCase() === user.email.toLowerCase();
}

/** The sentence a refusal carries (PERMISSION_DENIED over REST, a condition for kubectl). */
export function environmentAccessMessage(envName: string, env: EnvironmentLike): string {
  const creator = environmentCreator(env);
  return `environment "${envName}" is not shared: only ${creator ? `its creator ${creator} and account admins` : 'account admins'} may connect it or run jobs in it (set shared: true to let every user of the account)`;
}
