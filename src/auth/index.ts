// API key authentication core (no fastify here: the HTTP layer mounts it).
export * from './key-format.js';
export * from './authenticator.js';
export * from './keys.js';
export * from './bootstrap.js';
export * from './rate-limit.js';
