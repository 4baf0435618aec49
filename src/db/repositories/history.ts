// Deployment history (schema/history.ts): the controller's samples and scaling decisions, rolled up
// and pruned by the recorder, read back in buckets for the console's timeline. Writes are
// idempotent (primary keys, ON CONFLICT DO NOTHING): a retried or doubled write changes nothing.
import { and, asc, eq, gte, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { deploymentEvents, deploymentSamples } from '../schema/index.js';

export interface SampleEntry {
  accountId: string;
  deployment: string;
  resolutionSeconds: number;
  time: Date;
  desiredReplicas: number;
  readyReplicas: number;
  inFlight: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
}

export interface EventEntry {
  accountId: string;
  deployment: string;
  time: Date;
  fromReplicas: number;
  toReplicas: number;
  reason: string;
  message: string;
}

const CHUNK = 500;

export async function recordSamples(db: Db, entries: readonly SampleEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += CHUNK) await db.insert(deploymentSamples).values(entries.slice(i, i + CHUNK)).onConflictDoNothing();
}

/** Records decisions; returns how many were new. */
export async function recordEvents(db: Db, entries: readonly EventEntry[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < entries.length; i += CHUNK) {
    const rows = await db.insert(deploymentEvents).values(entries.slice(i, i + CHUNK)).onConflictDoNothing().returning({ t: deploymentEvents.time });
    n += rows.length;
  }
  return n;
}

/**
 * Rolls the rows of resolution `from` older than `before` into buckets of `to` seconds (averages;
 * in-flight keeps its peak), then deletes them. `before` is aligned down to a bucket boundary so a
 * bucket is never rolled up half (its later rows would be lost to the conflict rule).
 */
export async function rollUpSamples(db: Db, opts: { from: number; to: number; before: Date }): Promise<void> {
  const cutoff = new Date(Math.floor(opts.before.getTime() / (opts.to * 1000)) * opts.to * 1000);
  const bucket = `${opts.to} seconds`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into deployment_samples (account_id, deployment, resolution_seconds, time, desired_replicas, ready_replicas, in_flight, requests_per_second, tokens_per_second)
      select account_id, deployment, ${opts.to}::integer, date_bin(${bucket}::interval, time, timestamptz '2000-01-01T00:00:00Z') as b,
             avg(desired_replicas), avg(ready_replicas), max(in_flight), avg(requests_per_second), avg(tokens_per_second)
      from deployment_samples
      where resolution_seconds = ${opts.from} and time < ${cutoff.toISOString()}::timestamptz
      group by account_id, deployment, b
      on conflict do nothing`);
    await tx.delete(deploymentSamples).where(and(eq(deploymentSamples.resolutionSeconds, opts.from), lt(deploymentSamples.time, cutoff)));
  });
}

/** Drops samples and events older than `before` (the retention). */
export async function pruneHistory(db: Db, before: Date): Promise<void> {
  await db.delete(deploymentSamples).where(lt(deploymentSamples.time, before));
  await db.delete(deploymentEvents).where(lt(deploymentEvents.time, before));
}

export interface TimelinePoint {
  time: Date;
  desiredReplicas: number;
  readyReplicas: number;
  inFlight: number;
  requestsPerSecond: number;
  tokensPerSecond: number;
}

interface Range {
  accountId: string;
  deployment: string;
  from: Date;
  to: Date;
}

/** Samples in [from, to] averaged into buckets of `bucketSeconds` (in-flight: the bucket's peak), oldest first. */
export async function readSamples(db: Db, r: Range & { bucketSeconds: number }): Promise<TimelinePoint[]> {
  const bucket = `${r.bucketSeconds} seconds`;
  const result = await db.execute(sql`
    select date_bin(${bucket}::interval, time, timestamptz '2000-01-01T00:00:00Z') as b,
           avg(desired_replicas)::float8 as desired, avg(ready_replicas)::float8 as ready, max(in_flight)::float8 as in_flight,
           avg(requests_per_second)::float8 as rps, avg(tokens_per_second)::float8 as tps
    from deployment_samples
    where account_id = ${r.accountId} and deployment = ${r.deployment}
      and time >= ${r.from.toISOString()}::timestamptz and time <= ${r.to.toISOString()}::timestamptz
    group by b order by b`);
  const rows = (result as unknown as { rows: Record<string, unknown>[] }).rows;
  return rows.map((row) => ({
    time: new Date(row.b as string | Date),
    desiredReplicas: Number(row.desired),
    readyReplicas: Number(row.ready),
    inFlight: Number(row.in_flight),
    requestsPerSecond: Number(row.rps),
    tokensPerSecond: Number(row.tps),
  }));
}

export async function readEvents(db: Db, r: Range): Promise<EventEntry[]> {
  return db
    .select()
    .from(deploymentEvents)
    .where(and(eq(deploymentEvents.accountId, r.accountId), eq(deploymentEvents.deployment, r.deployment), gte(deploymentEvents.time, r.from), lte(deploymentEvents.time, r.to)))
    .orderBy(asc(deploymentEvents.time));
}
