// GET /v1/accounts/{a}/deployments/{d}:timeline — a Hearth extension (not in the published spec;
// `npm run api:coverage` lists it under "served by Hearth, not in the published spec"): the
// autoscaling timeline the console plots (src/api/timeline/timeline.ts). Same tenancy as every
// /v1 route: another account's deployment answers 404.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { accountNamespace } from '../../crds/account.js';
import { Deployments } from '../collections/deployments.js';
import { PrometheusReader } from '../timeline/prometheus.js';
import { buildTimeline, WINDOWS, type TimelineWindow } from '../timeline/timeline.js';
import { AccountParams, errorResponses } from './common.js';

export interface TimelineRouteOptions {
  /** HEARTH_PROMETHEUS_URL: read load and ready replicas from Prometheus instead of Hearth's history. */
  prometheusUrl?: string;
  /** The recorder's sample interval (HEARTH_HISTORY_SAMPLE_INTERVAL), the finest step. */
  sampleIntervalSeconds?: number;
}

const Params = AccountParams.extend({ deploymentId: z.string().describe('The deployment id.') });
const Query = z.object({
  window: z
    .enum(Object.keys(WINDOWS) as [TimelineWindow, ...TimelineWindow[]])
    .default('1h')
    .describe('How far back: 15m, 1h, 6h or 1d.'),
});

const Point = z.object({
  time: z.string(),
  desiredReplicas: z.number(),
  readyReplicas: z.number(),
  inFlight: z.number().describe('Requests in flight (the bucket\'s peak), held ones included.'),
  requestsPerSecond: z.number(),
  tokensPerSecond: z.number(),
});
const Decision = z.object({
  time: z.string(),
  fromReplicas: z.number(),
  toReplicas: z.number(),
  reason: z.string(),
  message: z.string(),
  kind: z.enum(['SCALE_UP', 'SCALE_DOWN', 'SCALE_TO_ZERO', 'SCALE_FROM_ZERO', 'UNCHANGED']),
});
const TimelineResponse = z
  .object({
    name: z.string().describe('accounts/{a}/deployments/{d}'),
    source: z.enum(['HEARTH', 'PROMETHEUS']).describe('Where the points come from: Hearth\'s own history, or Prometheus (HEARTH_PROMETHEUS_URL).'),
    startTime: z.string(),
    endTime: z.string(),
    stepSeconds: z.number(),
    points: z.array(Point).describe('One per step that has samples, oldest first.'),
    decisions: z.array(Decision).describe('Scaling decisions with their reasons, oldest first.'),
    coldStarts: z.array(z.object({ startTime: z.string(), readyTime: z.string().optional(), seconds: z.number().optional() })).describe('Each scale from zero, until the first ready replica.'),
  })
  .describe('A deployment\'s autoscaling timeline (Hearth extension).');

type StatusDecision = { time: string; fromReplicas: number; toReplicas: number; reason: string; message?: string };

/** `status.scalingDecisions` of the object as the API server has it (entries of another shape are skipped). */
function statusDecisions(status: Record<string, unknown> | undefined): StatusDecision[] {
  const list = Array.isArray(status?.scalingDecisions) ? (status.scalingDecisions as unknown[]) : [];
  return list.filter((d): d is StatusDecision => {
    const o = d as Partial<StatusDecision> | null;
    return typeof o?.time === 'string' && typeof o.fromReplicas === 'number' && typeof o.toReplicas === 'number' && typeof o.reason === 'string';
  });
}

const deploymentTimeline: FastifyPluginAsyncZod<TimelineRouteOptions> = async (app, opts) => {
  const svc = new Deployments(app.hearth, app.log);
  const prometheus = opts.prometheusUrl ? new PrometheusReader(opts.prometheusUrl) : undefined;
  app.get('/accounts/:accountId/deployments/:deploymentId(^[^:]+)::timeline', {
    schema: {
      summary: 'Get Deployment Timeline (Hearth)',
      description: 'Hearth extension: desired and ready replicas, load, scaling decisions and cold starts of a deployment over the last 15 minutes, hour, 6 hours or day.',
      tags: ['Deployments'],
      operationId: 'Hearth_GetDeploymentTimeline',
      params: Params,
      querystring: Query,
      response: { 200: TimelineResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, deploymentId } = request.params;
      const dep = await svc.load(accountId, deploymentId); // 404 / 503 as a GET
      const timeline = await buildTimeline(
        { db: app.hearth.db, ...(prometheus ? { prometheus } : {}), ...(opts.sampleIntervalSeconds ? { sampleIntervalSeconds: opts.sampleIntervalSeconds } : {}) },
        { accountId, deployment: deploymentId, namespace: accountNamespace(accountId), window: request.query.window, now: app.hearth.now(), statusDecisions: statusDecisions(dep.status) },
      );
      return { name: `accounts/${accountId}/deployments/${deploymentId}`, ...timeline };
    },
  });
};

export default deploymentTimeline;
