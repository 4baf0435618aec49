// The API key a job's requests carry: the gateway authenticates batch lines like any client, so
// routing, visibility and metering are the account's. Each account gets one service-account user,
// `hearth-batch-inference` (created on first use), and this process one short-lived key of it per
// account, issued on first use, replaced before it expires, revoked when the controller stops.
// The plaintext lives only in this process's memory.
import type { Db } from '../../db/client.js';
import { AlreadyExistsError } from '../../db/errors.js';
import { createUser, getUser } from '../../db/repositories/accounts.js';
import { issueApiKey, revokeKey } from '../../auth/keys.js';
import type { Clock } from '../../util/clock.js';

export const SERVICE_USER_ID = 'hearth-batch-inference';
const KEY_LIFETIME_MS = 60 * 60_000;
/** A key is replaced this long before it expires, so no request carries an expiring key. */
const RENEW_BEFORE_MS = 10 * 60_000;

interface Held {
  key: string;
  keyId: string;
  expiresAt: number;
}

export class ServiceAccountKeys {
  readonly #held = new Map<string, Promise<Held>>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async keyFor(accountId: string): Promise<string> {
    let p = this.#held.get(accountId);
    const held = p ? await p.catch(() => undefined) : undefined;
    if (held && held.expiresAt - this.clock.now() >= RENEW_BEFORE_MS) return held.key;
    if (p === this.#held.get(accountId)) {
      // This caller replaces the key; callers meanwhile wait for the same new one.
      p = this.#issue(accountId);
      this.#held.set(accountId, p);
      const issuing = p;
      issuing.catch(() => {
        if (this.#held.get(accountId) === issuing) this.#held.delete(accountId);
      });
      const key = (await p).key;
      await this.#revoke(accountId, held);
      return key;
    }
    const cur = this.#held.get(accountId);
    return cur ? (await cur).key : this.keyFor(accountId);
  }

  async revokeAll(): Promise<void> {
    const all = [...this.#held.entries()];
    this.#held.clear();
    await Promise.all(all.map(async ([a, p]) => this.#revoke(a, await p.catch(() => undefined))));
  }

  async #issue(accountId: string): Promise<Held> {
    await this.#ensureUser(accountId);
    const now = this.clock.now();
    const { row, key } = await issueApiKey(this.db, {
      accountId,
      userId: SERVICE_USER_ID,
      displayName: 'batch inference jobs (Hearth controller)',
      expireTime: new Date(now + KEY_LIFETIME_MS),
      now: new Date(now),
    });
    return { key, keyId: row.keyId, expiresAt: now + KEY_LIFETIME_MS };
  }

  async #revoke(accountId: string, h: Held | undefined): Promise<void> {
    if (!h) return;
    await revokeKey(this.db, { accountId, userId: SERVICE_USER_ID, keyId: h.keyId }).catch(() => undefined);
  }

  async #ensureUser(accountId: string): Promise<void> {
    if (await getUser(this.db, accountId, SERVICE_USER_ID)) return;
    try {
      await createUser(this.db, {
        accountId,
        userId: SERVICE_USER_ID,
        email: `${SERVICE_USER_ID}@${accountId}.hearth.internal`,
        displayName: 'Hearth batch inference',
        role: 'user',
        serviceAccount: true,
      });
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
}
