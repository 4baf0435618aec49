// What the DeployedModel controller reads and holds in PostgreSQL: the adapter model (is it READY,
// where are its files) and the account's `loras` quota (one unit per DeployedModel, holder
// `deployedModel/<name>`, the same holder the REST facade reserves under, so a REST create and the
// controller's hold are one hold, and a `kubectl apply`'d object is counted too).
import { QuotaExceededError, accountsRepo, modelsRepo, quotasRepo, type Db } from '../../db/index.js';
import { adapterPath } from '../../fleet/lora.js';

export interface AdapterModel {
  /** READY: its files are complete; anything else: not loadable yet. */
  state: string;
  /** `lora_path` for the model server. */
  path: string;
  /** The base model it adapts, when known (peftDetails.baseModel). */
  baseModel?: string;
  /** Its uploaded files (name → bytes), which the replica's model-files sidecar fetches to `path`. */
  files?: ModelFileSet;
}

export interface ModelFileSet {
  account: string;
  model: string;
  sizes: Record<string, number>;
}

export interface AdapterModels {
  /** The adapter model by name (`accounts/<a>/models/<m>`); undefined when no such row exists. */
  get(model: string): Promise<AdapterModel | undefined>;
}

export type QuotaOutcome = { ok: true } | { ok: false; message: string };

export interface LoraQuota {
  /** Makes `holder` hold one `loras` unit (idempotent); `ok: false` when the quota is spent. */
  hold(account: string, holder: string): Promise<QuotaOutcome>;
  /** Gives back whatever `holder` holds (idempotent). */
  release(account: string, holder: string): Promise<void>;
}

/** The quota holder of a DeployedModel (src/db README: `deployedModel/<name>`). */
export const holderOf = (name: string): string => `deployedModel/${name}`;

const MODEL_NAME_RE = /^accounts\/([^/]+)\/models\/([^/]+)$/;

/** The uploaded files of a model row, or undefined when there are none (nothing for a sidecar to fetch). */
function fileSetOf(account: string, model: string, uploaded: Record<string, { size: number }> | undefined): ModelFileSet | undefined {
  const entries = Object.entries(uploaded ?? {});
  return entries.length > 0 ? { account, model, sizes: Object.fromEntries(entries.map(([name, f]) => [name, f.size])) } : undefined;
}

export class DbAdapterModels implements AdapterModels {
  constructor(
    private readonly db: Db,
    private readonly pathTemplate?: string,
  ) {}

  async get(model: string): Promise<AdapterModel | undefined> {
    const m = MODEL_NAME_RE.exec(model);
    if (!m?.[1] || !m[2]) return undefined;
    const row = await modelsRepo.getModel(this.db, m[1], m[2]);
    if (!row) return undefined;
    const base = (row.spec.peftDetails as { baseModel?: unknown } | undefined)?.baseModel;
    const files = fileSetOf(m[1], m[2], row.files?.uploaded);
    return { state: row.state, path: adapterPath(model, this.pathTemplate), ...(typeof base === 'string' ? { baseModel: base } : {}), ...(files ? { files } : {}) };
  }
}

/**
 * The `loras` quota in PostgreSQL. A hold once made is remembered in memory, so a pass (every poll
 * of the replicas) does not open a transaction to restate it. An account the database does not
 * know (a namespace made with kubectl) cannot hold rows: its DeployedModels are not counted.
 */
export class DbLoraQuota implements LoraQuota {
  readonly #held = new Set<string>();

  constructor(private readonly db: Db) {}

  async hold(account: string, holder: string): Promise<QuotaOutcome> {
    const key = `${account}\u0000${holder}`;
    if (this.#held.has(key)) return { ok: true };
    if (!(await accountsRepo.getAccount(this.db, account))) return { ok: true };
    try {
      await quotasRepo.setHold(this.db, account, quotasRepo.LORAS_QUOTA, holder, 1);
      this.#held.add(key);
      return { ok: true };
    } catch (e) {
      if (e instanceof QuotaExceededError) return { ok: false, message: `the account's ${quotasRepo.LORAS_QUOTA} quota (${e.limit}) is used up` };
      throw e;
    }
  }

  async release(account: string, holder: string): Promise<void> {
    this.#held.delete(`${account}\u0000${holder}`);
    await quotasRepo.releaseAll(this.db, account, holder);
  }
}
