// The database layer: open (PostgreSQL or PGlite), migrate, and the repositories. Callers (api,
// gateway, the metering/quota parts of controllers) use these functions and never write SQL.
export { openDatabase, migrationsFolder, redactUrl, advisoryXactLock, type Database, type Db, type Tx, type Driver, type OpenDatabaseOptions } from './client.js';
export * from './errors.js';
export * as schema from './schema/index.js';
export * as accountsRepo from './repositories/accounts.js';
export * as apiKeysRepo from './repositories/api-keys.js';
export * as quotasRepo from './repositories/quotas.js';
export * as usageRepo from './repositories/usage.js';
export * as modelsRepo from './repositories/models.js';
export * as datasetsRepo from './repositories/datasets.js';
export * as reservationsRepo from './repositories/reservations.js';
export * as auditRepo from './repositories/audit.js';
export * as names from './repositories/names.js';
export * as installationSecretsRepo from './repositories/installation-secrets.js';
