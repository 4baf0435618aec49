// Load and replica history of deployments, for the console's timeline (issue 17 item 8): what the
// controller saw every sample interval, and the scaling decisions it made. Kept by Hearth itself so
// the plots work without Prometheus. Raw samples (`resolutionSeconds` = the sample interval) are
// rolled up into coarser buckets after a while and dropped after the retention
// (src/controllers/history/recorder.ts); the primary keys make a re-recording a no-op.
//
// No foreign key to `accounts`: the controller records what runs in an account's namespace, and a
// sample must never fail because the account row is being deleted; a deleted account's rows age
// out with the retention.
import { doublePrecision, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const deploymentSamples = pgTable(
  'deployment_samples',
  {
    accountId: text('account_id').notNull(),
    deployment: text('deployment').notNull(),
    /** Seconds a row stands for: the sample interval, or the bucket of a rolled-up row. */
    resolutionSeconds: integer('resolution_seconds').notNull(),
    /** Start of the bucket (raw samples: when taken). */
    time: timestamp('time', { withTimezone: true }).notNull(),
    desiredReplicas: doublePrecision('desired_replicas').notNull(),
    readyReplicas: doublePrecision('ready_replicas').notNull(),
    inFlight: doublePrecision('in_flight').notNull(),
    requestsPerSecond: doublePrecision('requests_per_second').notNull(),
    tokensPerSecond: doublePrecision('tokens_per_second').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.deployment, t.resolutionSeconds, t.time] }),
    index('deployment_samples_time_idx').on(t.resolutionSeconds, t.time),
  ],
);

/** A scaling decision, from the Deployment's `status.scalingDecisions` (which keeps only the last 10). */
export const deploymentEvents = pgTable(
  'deployment_events',
  {
    accountId: text('account_id').notNull(),
    deployment: text('deployment').notNull(),
    time: timestamp('time', { withTimezone: true }).notNull(),
    fromReplicas: integer('from_replicas').notNull(),
    toReplicas: integer('to_replicas').notNull(),
    reason: text('reason').notNull(),
    message: text('message').notNull().default(''),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.deployment, t.time, t.reason] }), index('deployment_events_time_idx').on(t.time)],
);

export type DeploymentSampleRow = typeof deploymentSamples.$inferSelect;
export type DeploymentEventRow = typeof deploymentEvents.$inferSelect;
