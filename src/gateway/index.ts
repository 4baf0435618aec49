// The inference gateway: OpenAI-compatible `/inference/v1/*`, model id resolution, routing to ready
// replicas, the cold-start hold and load reports for the autoscaler. See README.md.
export { startGateway, type Gateway, type GatewayDeps } from './gateway.js';
export { GatewayConfig, simulatedDialTarget, type GatewayConfigInput } from './config.js';
export { LoadAggregator, LoadTracker, type DeploymentLoad, type LoadReport, type LoadReporter, type LoadSampleLike } from './load.js';
export { parseModelId, type ModelId, type ResourceRef } from './model-id.js';
export { Catalog, ANNOTATION_HOLD_TIMEOUT, ANNOTATION_MAX_HELD, type Route } from './catalog.js';
export { DEFAULT_HOLD_LIMITS, type HoldLimits } from './hold.js';
export type { Authenticate, AuthOutcome, DialTarget } from './server.js';
export { LoadBoard, LOAD_PATH, bearerMatches, handleLoadRequest, teeReporter, type DeploymentLoadEntry, type LoadSnapshot } from './load-endpoint.js';
