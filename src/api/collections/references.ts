// References from a request to other resources, checked the one way every collection shares:
// parsed in either documented form and rewritten to the stored form (wire/resource-names.ts),
// then another account's model allowed only if that model is public (PostgreSQL), answering
// exactly as a missing one otherwise.
import { getModel } from '../../db/repositories/models.js';
import type { ApiContext } from '../context.js';
import { normalizeReferences, referenceNotFound, type ReferenceField, type ResourceRef } from '../wire/resource-names.js';

/** normalizeReferences, then the public check of references to other accounts' objects. */
export async function resolveReferences(
  ctx: Pick<ApiContext, 'db'>,
  resource: Record<string, unknown>,
  refs: readonly ReferenceField[],
  callerAccountId: string,
): Promise<Map<string, ResourceRef>> {
  const parsed = normalizeReferences(resource, refs, callerAccountId);
  for (const ref of refs) {
    const r = parsed.get(ref.field);
    if (!r || !ref.publicForeign || r.accountId === callerAccountId || (ref.shared ?? []).includes(r.accountId)) continue;
    const row = ref.collection === 'models' ? await getModel(ctx.db, r.accountId, r.id) : undefined;
    if (row?.spec.public !== true) throw referenceNotFound(ref, r.name);
  }
  return parsed;
}
