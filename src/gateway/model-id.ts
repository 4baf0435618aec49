// Model identifiers of the inference API (the product docs, "Model identifier"):
//
//   accounts/<a>/models/<m>#accounts/<b>/deployments/<d>   a model on a given deployment
//   <a>/<m>#<b>/<d>                                         the same, short (the halves may mix forms)
//   accounts/<a>/deployedModels/<x>                         a deployed model by its unique name
//   accounts/<a>/models/<m>   or   <a>/<m>                  a model: routed to its default deployed model
//
// Parsing is pure and strict about shape; whether the thing exists (and whether the caller may see
// it) is resolve.ts's business. Anything that does not parse is answered exactly like a model that
// does not exist.

export interface ResourceRef {
  account: string;
  id: string;
}

export type ModelId =
  | { kind: 'modelOnDeployment'; model: ResourceRef; deployment: ResourceRef }
  | { kind: 'deployedModel'; deployedModel: ResourceRef }
  | { kind: 'model'; model: ResourceRef };

/** Account, model, deployment and deployed-model ids: letters, digits, '-', '_', '.'; ≤ 128. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_LENGTH = 600;

function ref(account: string | undefined, id: string | undefined): ResourceRef | undefined {
  if (account === undefined || id === undefined || !ID.test(account) || !ID.test(id)) return undefined;
  return { account, id };
}

/** `accounts/<a>/<collection>/<id>` or, if `short`, `<a>/<id>`. */
function parseName(s: string, collection: string, short: boolean): ResourceRef | undefined {
  const parts = s.split('/');
  if (parts.length === 4 && parts[0] === 'accounts' && parts[2] === collection) return ref(parts[1], parts[3]);
  if (short && parts.length === 2) return ref(parts[0], parts[1]);
  return undefined;
}

export function parseModelId(raw: string): ModelId | undefined {
  if (raw.length === 0 || raw.length > MAX_LENGTH) return undefined;
  const hash = raw.indexOf('#');
  if (hash >= 0) {
    const model = parseName(raw.slice(0, hash), 'models', true);
    const deployment = parseName(raw.slice(hash + 1), 'deployments', true);
    return model && deployment ? { kind: 'modelOnDeployment', model, deployment } : undefined;
  }
  const deployedModel = parseName(raw, 'deployedModels', false);
  if (deployedModel) return { kind: 'deployedModel', deployedModel };
  const model = parseName(raw, 'models', true);
  return model ? { kind: 'model', model } : undefined;
}

export const modelName = (r: ResourceRef): string => `accounts/${r.account}/models/${r.id}`;
export const deploymentName = (r: ResourceRef): string => `accounts/${r.account}/deployments/${r.id}`;
export const deployedModelName = (r: ResourceRef): string => `accounts/${r.account}/deployedModels/${r.id}`;
