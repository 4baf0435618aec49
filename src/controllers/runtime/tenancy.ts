// The one check every controller makes before acting on an object in a namespace (issue 15 item 5):
// does the namespace claim an account that Hearth did not seal? The namespaces informer's projection
// (src/crds/account.ts `NamespaceSeal.project`) has already dropped such a label, so the object
// belongs to no account; this says so on the object (a Warning event, de-duplicated by the
// recorder) so that whoever labelled the namespace by hand sees why nothing happens.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { unverifiedAccountOf, type NamespaceLike } from '../../crds/account.js';
import type { EventRecorder } from './events.js';

export const REASON_NAMESPACE_NOT_VERIFIED = 'NamespaceNotVerified';

/**
 * True (after a Warning event on `obj`) when `ns` is labelled with an account Hearth did not seal:
 * the caller leaves `obj` alone — no children, quota, billing or routing as that account.
 */
export async function inUnverifiedNamespace(ns: NamespaceLike | undefined, obj: KubernetesObject, events: EventRecorder, log?: Logger): Promise<boolean> {
  const claimed = unverifiedAccountOf(ns);
  if (!claimed) return false;
  const namespace = ns?.metadata?.name ?? obj.metadata?.namespace ?? '';
  log?.debug({ namespace, claimedAccount: claimed }, 'namespace not sealed by Hearth: not reconciled');
  await events.record(
    obj,
    {
      type: 'Warning',
      reason: REASON_NAMESPACE_NOT_VERIFIED,
      message: `namespace ${namespace} is labelled hearth.dev/account=${claimed} but was not made by Hearth (no valid hearth.dev/account-seal): not reconciled, billed or routed as that account`,
    },
    log,
  );
  return true;
}
