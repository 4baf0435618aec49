// Hearth's API: the seven kinds (zod schemas, TypeScript types), their registry and shared pieces.
export * from './group.js';
export * from './common.js';
export * from './conditions.js';
export * from './duration.js';
export * from './rules.js';
export * from './deployment.js';
export * from './deployed-model.js';
export * from './node-pool.js';
export * from './environment.js';
export * from './batch-job.js';
export * from './sft-job.js';
export * from './batch-inference-job.js';
export * from './registry.js';
