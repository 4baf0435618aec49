// Quotas and the holds workloads place on them.
//
// Every change of a hold runs in one transaction that first locks the quota row
// (`SELECT … FOR UPDATE`), so concurrent reservations on the same quota serialise and the check
// `usage + delta <= value` sees the latest usage: a quota is never oversubscribed. Decreases never
// fail. Holds are keyed by holder (`deployment/<name>`, `deployedModel/<name>`), so a controller
// can state "this workload holds N" idempotently (`setHold`) and release it by name.
import { and, asc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { ACCELERATORS, ACCELERATOR_TYPES, DEFAULT_QUOTAS, REGION_NAMES, REGIONS, gpuQuotaName } from '../../fleet/catalog.js';
import type { Db } from '../client.js';
import { InvalidValueError, NotFoundError, QuotaExceededError } from '../errors.js';
import { quotaHolds, quotas, usageLedger, type QuotaHoldRow, type QuotaRow } from '../schema/index.js';
import { quotaName as fullQuotaName } from './names.js';

/** Total GPU-hours per calendar month (UTC); usage is read from the ledger. */
export const MONTHLY_GPU_HOURS_QUOTA = 'monthly-gpu-hours';
/** LoRA adapters (DeployedModels) loaded at once, across the account. */
export const LORAS_QUOTA = 'loras';

export interface QuotaDefault {
  name: string;
  value: number;
  maxValue: number;
}

/** The documented defaults: 8 GPUs per accelerator type per region, 2000 GPU-hours/month, 100 LoRAs. */
export function defaultQuotas(): QuotaDefault[] {
  const gpu = REGION_NAMES.flatMap((region) =>
    REGIONS[region].accelerators.map((acc) => gpuQuotaName(acc, region)),
  ).map((name) => ({ name, value: DEFAULT_QUOTAS.gpusPerAcceleratorType, maxValue: DEFAULT_QUOTAS.gpusPerAcceleratorType }));
  return [
    ...gpu,
    { name: MONTHLY_GPU_HOURS_QUOTA, value: DEFAULT_QUOTAS.gpuHoursPerMonth, maxValue: DEFAULT_QUOTAS.gpuHoursPerMonth },
    { name: LORAS_QUOTA, value: DEFAULT_QUOTAS.loras, maxValue: DEFAULT_QUOTAS.loras },
  ];
}

const GPU_QUOTA = /^([a-z0-9]+)-([a-z]+-[a-z]+-\d+)$/;
const KNOWN_SHORTS = new Set(ACCELERATOR_TYPES.map((a) => ACCELERATORS[a].short));

/**
 * The default for a quota name, if it is one Hearth knows: any `<accelerator>-<region>` pair
 * (also for a region or accelerator the catalog gains later) and the account-wide quotas.
 */
export function defaultQuotaFor(name: string): QuotaDefault | undefined {
  const listed = defaultQuotas().find((q) => q.name === name);
  if (listed) return listed;
  const m = GPU_QUOTA.exec(name);
  if (m && KNOWN_SHORTS.has(m[1]!)) {
    return { name, value: DEFAULT_QUOTAS.gpusPerAcceleratorType, maxValue: DEFAULT_QUOTAS.gpusPerAcceleratorType };
  }
  return undefined;
}

/** Creates the default quota rows an account lacks (idempotent). */
export async function ensureDefaultQuotas(db: Db, accountId: string): Promise<void> {
  const rows = defaultQuotas().map((q) => ({ accountId, ...q }));
  await db.insert(quotas).values(rows).onConflictDoNothing();
}

async function ensureQuotaRow(db: Db, accountId: string, name: string): Promise<void> {
  const def = defaultQuotaFor(name);
  if (def) await db.insert(quotas).values({ accountId, name, value: def.value, maxValue: def.maxValue }).onConflictDoNothing();
}

/** Start of the calendar month (UTC) containing `now`, and of the next one. */
export function monthBounds(now: Date): { from: Date; to: Date } {
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { from, to };
}

/** GPU-hours recorded in the ledger for intervals starting in `now`'s month (UTC). */
export async function gpuHoursThisMonth(db: Db, accountId: string, now = new Date()): Promise<number> {
  const { from, to } = monthBounds(now);
  const [row] = await db
    .select({ seconds: sql<string | number | null>`coalesce(sum(${usageLedger.gpuSeconds}), 0)` })
    .from(usageLedger)
    .where(and(eq(usageLedger.accountId, accountId), gte(usageLedger.intervalStart, from), lt(usageLedger.intervalStart, to)));
  return Number(row?.seconds ?? 0) / 3600;
}

async function withLedgerUsage(db: Db, rows: QuotaRow[], now: Date): Promise<QuotaRow[]> {
  const monthly = rows.find((r) => r.name === MONTHLY_GPU_HOURS_QUOTA);
  if (!monthly) return rows;
  const usage = await gpuHoursThisMonth(db, monthly.accountId, now);
  return rows.map((r) => (r === monthly ? { ...r, usage } : r));
}

/** One quota; `monthly-gpu-hours` usage comes from the ledger. Default quotas exist once read. */
export async function getQuota(db: Db, accountId: string, name: string, now = new Date()): Promise<QuotaRow | undefined> {
  const select = () => db.select().from(quotas).where(and(eq(quotas.accountId, accountId), eq(quotas.name, name)));
  let [row] = await select();
  if (!row && defaultQuotaFor(name)) {
    await ensureQuotaRow(db, accountId, name);
    [row] = await select();
  }
  return row ? (await withLedgerUsage(db, [row], now))[0] : undefined;
}

/** The account's quotas, by name. */
export async function listQuotas(db: Db, accountId: string, now = new Date()): Promise<QuotaRow[]> {
  const rows = await db.select().from(quotas).where(eq(quotas.accountId, accountId)).orderBy(asc(quotas.name));
  return withLedgerUsage(db, rows, now);
}

/**
 * Sets the enforced `value` within `[0, maxValue]` (`PATCH quotas/{q}`). Lowering below usage is
 * allowed: running workloads keep what they hold, new reservations fail until usage drops.
 * `allowMissing` creates a quota Hearth has a default for; other names stay NOT_FOUND.
 */
export async function setQuotaValue(db: Db, accountId: string, name: string, value: number, opts: { allowMissing?: boolean } = {}): Promise<QuotaRow> {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidValueError('value', 'must be a non-negative integer');
  const updated = await db.transaction(async (tx) => {
    if (opts.allowMissing) await ensureQuotaRow(tx, accountId, name);
    const [current] = await tx
      .select()
      .from(quotas)
      .where(and(eq(quotas.accountId, accountId), eq(quotas.name, name)))
      .for('update');
    if (!current) throw new NotFoundError('quota', fullQuotaName(accountId, name));
    if (value > current.maxValue) throw new InvalidValueError('value', `must be at most maxValue (${current.maxValue})`);
    const [row] = await tx
      .update(quotas)
      .set({ value, updateTime: new Date() })
      .where(and(eq(quotas.accountId, accountId), eq(quotas.name, name)))
      .returning();
    return row!;
  });
  return (await withLedgerUsage(db, [updated], new Date()))[0]!;
}

/**
 * Operators (not account users) approve ceilings: sets `maxValue` and, optionally, `value`
 * (default: `value` clamped to the new ceiling).
 */
export async function setQuotaLimits(db: Db, accountId: string, name: string, limits: { maxValue: number; value?: number }): Promise<QuotaRow> {
  const { maxValue } = limits;
  if (!Number.isSafeInteger(maxValue) || maxValue < 0) throw new InvalidValueError('maxValue', 'must be a non-negative integer');
  const value = limits.value ?? undefined;
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0 || value > maxValue)) {
    throw new InvalidValueError('value', `must be an integer in [0, ${maxValue}]`);
  }
  const [row] = await db
    .insert(quotas)
    .values({ accountId, name, maxValue, value: value ?? maxValue })
    .onConflictDoUpdate({
      target: [quotas.accountId, quotas.name],
      set: { maxValue, value: value ?? sql`least(${quotas.value}, ${maxValue})`, updateTime: new Date() },
    })
    .returning();
  return (await withLedgerUsage(db, [row!], new Date()))[0]!;
}

export interface HoldChange {
  quota: QuotaRow;
  /** What the holder holds after the change (0 = no hold row). */
  held: number;
}

/**
 * Changes what `holder` holds of a quota to `target(current)` in one transaction holding the
 * quota's row lock. Increases must fit: `usage + delta <= value`, else QuotaExceededError.
 */
async function adjustHold(db: Db, key: { accountId: string; quotaName: string; holder: string }, target: (current: number) => number): Promise<HoldChange> {
  if (key.holder === '') throw new InvalidValueError('holder', 'must not be empty');
  return db.transaction((tx) => adjustHoldIn(tx, key, target));
}

/** adjustHold's body, inside a caller's transaction. */
/** What a hold becomes: its amount and, when given, the generation it is for (from the current row). */
type HoldTarget = (current: number, hold: QuotaHoldRow | undefined) => number | { amount: number; generation: number | null };

async function adjustHoldIn(tx: Db, key: { accountId: string; quotaName: string; holder: string }, target: HoldTarget): Promise<HoldChange> {
  const { accountId, quotaName, holder } = key;
  await ensureQuotaRow(tx, accountId, quotaName);
  const [quota] = await tx
    .select()
    .from(quotas)
    .where(and(eq(quotas.accountId, accountId), eq(quotas.name, quotaName)))
    .for('update');
  if (!quota) throw new NotFoundError('quota', fullQuotaName(accountId, quotaName));
  const holdKey = and(eq(quotaHolds.accountId, accountId), eq(quotaHolds.quotaName, quotaName), eq(quotaHolds.holder, holder));
  const [hold] = await tx.select().from(quotaHolds).where(holdKey);
  const current = hold?.amount ?? 0;
  const wanted = target(current, hold);
  const next = typeof wanted === 'number' ? wanted : wanted.amount;
  const generation = typeof wanted === 'number' ? undefined : { generation: wanted.generation };
  if (!Number.isFinite(next) || next < 0) throw new InvalidValueError('amount', 'must be a non-negative number');
  const delta = next - current;
  const now = new Date();
  if (delta === 0) {
    if (hold && generation && hold.generation !== generation.generation) await tx.update(quotaHolds).set(generation).where(holdKey);
    return { quota, held: current };
  }
  if (delta > 0 && quota.usage + delta > quota.value) {
    throw new QuotaExceededError(fullQuotaName(accountId, quotaName), delta, quota.usage, quota.value);
  }
  if (next === 0) await tx.delete(quotaHolds).where(holdKey);
  else if (hold) await tx.update(quotaHolds).set({ amount: next, updateTime: now, ...generation }).where(holdKey);
  else await tx.insert(quotaHolds).values({ accountId, quotaName, holder, amount: next, ...generation });
  const [updated] = await tx
    .update(quotas)
    // greatest(): float sums must not drift below zero.
    .set({ usage: sql`greatest(${quotas.usage} + ${delta}, 0)`, updateTime: now })
    .where(and(eq(quotas.accountId, accountId), eq(quotas.name, quotaName)))
    .returning();
  return { quota: updated!, held: next };
}

/**
 * Makes `holder` hold exactly `targets` (quota name → amount) and nothing else, all or nothing:
 * if any increase does not fit, nothing changes. Quotas are locked in name order, so two
 * callers never deadlock. What a reconciler calls when a workload's footprint changes (e.g. a
 * deployment moving from one accelerator type to another).
 */
export async function setHolds(db: Db, accountId: string, holder: string, targets: Record<string, number>, opts: SetHoldsOptions = {}): Promise<HoldChange[]> {
  if (holder === '') throw new InvalidValueError('holder', 'must not be empty');
  return db.transaction(async (tx) => {
    const held = await tx
      .select({ quotaName: quotaHolds.quotaName })
      .from(quotaHolds)
      .where(and(eq(quotaHolds.accountId, accountId), eq(quotaHolds.holder, holder)));
    const names = [...new Set([...Object.keys(targets), ...held.map((h) => h.quotaName)])].sort();
    const out: HoldChange[] = [];
    for (const quotaName of names) out.push(await adjustHoldIn(tx, { accountId, quotaName, holder }, generationTarget(targets[quotaName] ?? 0, opts)));
    return out;
  });
}

/**
 * A new holder's first hold in ONE statement: `holder` (holding nothing on the account yet) gets
 * `amount` of `quotaName` if it fits. The quota row is updated (`usage + amount <= value`) and the
 * hold inserted together, so the row lock lasts one statement, not a transaction of round trips:
 * a burst of new workloads on the same quota (fifty SFT jobs) no longer queues on it, each holding
 * a pooled connection. False when it did not apply: no quota row yet, no room, or the holder
 * already holds something (then setHolds decides, with its reasons). Two callers for the same
 * holder: the hold's primary key fails the second statement, whose usage change is undone with it.
 */
export async function holdNew(db: Db, accountId: string, holder: string, quotaName: string, amount: number): Promise<boolean> {
  if (holder === '') throw new InvalidValueError('holder', 'must not be empty');
  if (!Number.isFinite(amount) || amount <= 0) throw new InvalidValueError('amount', 'must be a positive number');
  const n = sql`${amount}::float8`;
  const result = await db.execute(sql`
    with q as (
      update ${quotas} set usage = ${quotas.usage} + ${n}, update_time = now()
      where ${quotas.accountId} = ${accountId} and ${quotas.name} = ${quotaName} and ${quotas.usage} + ${n} <= ${quotas.value}
        and not exists (select 1 from ${quotaHolds} where ${quotaHolds.accountId} = ${accountId} and ${quotaHolds.holder} = ${holder})
      returning ${quotas.accountId}, ${quotas.name}
    )
    insert into ${quotaHolds} (account_id, quota_name, holder, amount) select account_id, name, ${holder}::text, ${n} from q
    returning quota_name`);
  return (result as unknown as { rows: unknown[] }).rows.length > 0;
}

/**
 * What each named quota still allows `holder`, in one query: its value less its usage, plus what
 * `holder` itself holds on it (a second pass of the same workload). Names without a row yet are
 * missing from the map (getQuota makes a default one).
 */
export async function quotaRoomFor(db: Db, accountId: string, holder: string, names: readonly string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .select({ name: quotas.name, value: quotas.value, usage: quotas.usage, own: quotaHolds.amount })
    .from(quotas)
    .leftJoin(quotaHolds, and(eq(quotaHolds.accountId, quotas.accountId), eq(quotaHolds.quotaName, quotas.name), eq(quotaHolds.holder, holder)))
    .where(and(eq(quotas.accountId, accountId), inArray(quotas.name, [...names])));
  return new Map(rows.map((r) => [r.name, r.value - r.usage + (r.own ?? 0)]));
}

export interface SetHoldsOptions {
  /** The spec generation the targets were computed for; unset: the holds become exactly the targets. */
  generation?: number;
  /** A hold for a newer generation counts only while younger than this (default 20 s). */
  newerGraceMs?: number;
  now?: Date;
}

/**
 * How long a hold raised for a newer generation than the controller's is kept from being lowered:
 * long enough for the API's Kubernetes write to land and reach the controller's cache, short
 * enough that a raise whose write never landed (the API killed between the two, or a hold of an
 * earlier object of the same name, whose generations counted higher) is undone within the crash
 * test's 30 s. 120 s before: a killed API left a deployment holding more than it ran for 2 min.
 */
export const NEWER_GENERATION_GRACE_MS = 20_000;

/**
 * The target of one hold for a writer at `opts.generation`: exactly `amount`, except that a hold
 * written (recently) for a NEWER generation is never lowered — the API raised it for a spec this
 * writer has not seen yet.
 */
export function generationTarget(amount: number, opts: SetHoldsOptions): HoldTarget {
  const gen = opts.generation;
  if (gen === undefined) return () => amount;
  return (current, hold) => {
    const now = (opts.now ?? new Date()).getTime();
    const newer = hold?.generation != null && hold.generation > gen && now - hold.updateTime.getTime() < (opts.newerGraceMs ?? NEWER_GENERATION_GRACE_MS);
    return newer ? { amount: Math.max(amount, current), generation: hold.generation } : { amount, generation: gen };
  };
}

/** What a raise changed, so that a failed write can give exactly it back (raiseHold / giveBackRaise). */
export interface Raise {
  accountId: string;
  quotaName: string;
  holder: string;
  from: { amount: number; generation: number | null };
  to: { amount: number; generation: number };
}

/**
 * Raises `holder`'s hold of `quotaName` to at least `amount` for spec `generation` (never lowers
 * it; an existing hold that is enough is only tagged with the newer generation). Returns what
 * changed, or undefined when nothing did.
 */
export async function raiseHold(db: Db, key: { accountId: string; quotaName: string; holder: string }, amount: number, generation: number): Promise<Raise | undefined> {
  let raise: Raise | undefined;
  await db.transaction(async (tx) => {
    await adjustHoldIn(tx, key, (current, hold) => {
      const to = { amount: Math.max(amount, current), generation: Math.max(generation, hold?.generation ?? 0) };
      // Enough held already: the amount stays, but the hold is tagged with the newer generation, so
      // a pass on the older spec (which may have autoscaled above this spec's minimum) cannot lower
      // it below what the newer spec needs.
      if (to.amount === current && (current === 0 || to.generation === hold?.generation)) return current;
      raise = { ...key, from: { amount: current, generation: hold?.generation ?? null }, to };
      return to;
    });
  });
  return raise;
}

/**
 * Gives back a raise whose Kubernetes write failed: the hold returns to what it was, unless someone
 * wrote it since (then the controller's next pass makes it exact). True when given back.
 */
export async function giveBackRaise(db: Db, r: Raise): Promise<boolean> {
  let done = false;
  await db.transaction(async (tx) => {
    await adjustHoldIn(tx, r, (current, hold) => {
      if (current !== r.to.amount || (hold?.generation ?? null) !== r.to.generation) return current;
      done = true;
      return { amount: r.from.amount, generation: r.from.generation };
    });
  });
  return done;
}

/**
 * Throws QuotaExceededError when the month's GPU-hours (from the ledger) have reached the
 * `monthly-gpu-hours` value: checked before starting or scaling up GPU workloads.
 */
export async function assertGpuHoursLeft(db: Db, accountId: string, now = new Date()): Promise<void> {
  const quota = await getQuota(db, accountId, MONTHLY_GPU_HOURS_QUOTA, now);
  if (quota && quota.usage >= quota.value) {
    throw new QuotaExceededError(fullQuotaName(accountId, MONTHLY_GPU_HOURS_QUOTA), 0, quota.usage, quota.value);
  }
}

/** Adds `amount` to what `holder` holds; throws QuotaExceededError if it does not fit. */
export async function reserve(db: Db, accountId: string, quotaName: string, amount: number, holder: string): Promise<HoldChange> {
  if (!Number.isFinite(amount) || amount <= 0) throw new InvalidValueError('amount', 'must be positive');
  return adjustHold(db, { accountId, quotaName, holder }, (current) => current + amount);
}

/** Gives back `amount` (default: everything) of what `holder` holds. Never fails for lack of a hold. */
export async function release(db: Db, accountId: string, quotaName: string, holder: string, amount?: number): Promise<HoldChange> {
  return adjustHold(db, { accountId, quotaName, holder }, (current) => (amount === undefined ? 0 : Math.max(0, current - amount)));
}

/** Makes `holder` hold exactly `amount` (idempotent; what a reconciler calls every pass). */
export async function setHold(db: Db, accountId: string, quotaName: string, holder: string, amount: number): Promise<HoldChange> {
  return adjustHold(db, { accountId, quotaName, holder }, () => amount);
}

/** Holds of one holder across the account's quotas (for release on delete). */
export async function holdsOf(db: Db, accountId: string, holder: string): Promise<QuotaHoldRow[]> {
  return db
    .select()
    .from(quotaHolds)
    .where(and(eq(quotaHolds.accountId, accountId), eq(quotaHolds.holder, holder)))
    .orderBy(asc(quotaHolds.quotaName));
}

/** Releases everything `holder` holds, quota by quota in name order (a stable lock order). */
export async function releaseAll(db: Db, accountId: string, holder: string): Promise<void> {
  for (const h of await holdsOf(db, accountId, holder)) await release(db, accountId, h.quotaName, holder);
}

export async function listHolds(db: Db, accountId: string, quotaName: string): Promise<QuotaHoldRow[]> {
  return db
    .select()
    .from(quotaHolds)
    .where(and(eq(quotaHolds.accountId, accountId), eq(quotaHolds.quotaName, quotaName)))
    .orderBy(asc(quotaHolds.holder));
}

/** Every hold whose holder starts with `prefix` (e.g. `deployment/`), across accounts: for orphan sweeps. */
export async function holdsByHolderPrefix(db: Db, prefix: string): Promise<QuotaHoldRow[]> {
  return db
    .select()
    .from(quotaHolds)
    .where(sql`starts_with(${quotaHolds.holder}, ${prefix})`)
    .orderBy(asc(quotaHolds.accountId), asc(quotaHolds.holder), asc(quotaHolds.quotaName));
}

/**
 * Releases one hold if nobody wrote it after `unchangedSince` (an orphan sweep's read): a hold the
 * API raised in between (a new deployment of the same name) stays. True when released.
 */
export async function releaseHoldIfUnchanged(db: Db, key: { accountId: string; quotaName: string; holder: string }, unchangedSince: Date): Promise<boolean> {
  let released = false;
  await db.transaction(async (tx) => {
    await adjustHoldIn(tx, key, (current, hold) => {
      if (!hold || hold.updateTime.getTime() > unchangedSince.getTime()) return current;
      released = true;
      return 0;
    });
  });
  return released;
}
