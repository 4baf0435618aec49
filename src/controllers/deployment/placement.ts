// Where a Deployment runs: the region choice and the free-GPU accounting are shared with the
// SFTJob controller, so they live in src/fleet/placement.ts; this module keeps the Deployment
// controller's imports (and its tests) where they were.
export * from '../../fleet/placement.js';
