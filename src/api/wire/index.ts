// Wire-format helpers of the `/v1/accounts/*` API (proto3 JSON as grpc-gateway writes it).
export * from './errors.js';
export * from './duration.js';
export * from './int64.js';
export * from './filter.js';
export * from './order-by.js';
export * from './pagination.js';
export * from './domain-errors.js';
export * from './timestamp.js';
export * from './field-mask.js';
export * from './resource-names.js';
export * from './omit.js';
