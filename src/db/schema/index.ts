// Every table, for drizzle-kit and for the typed query API.
export * from './accounts.js';
export * from './api-keys.js';
export * from './quotas.js';
export * from './usage.js';
export * from './models.js';
export * from './audit.js';
export * from './history.js';
export * from './batch-job-logs.js';
export * from './idempotency.js';
export * from './installation-secrets.js';
