import { Router } from 'express';
import { z } from 'zod';
import type { SnapshotStore } from '../../store/port.js';
import type { IngestJobs } from '../jobs.js';
import type { Metrics } from '../metrics.js';
import { operation, type RouteGroup } from '../openapi.js';
import { isReady, readinessChecks } from '../readiness.js';

/** Probes and metrics: liveness, readiness (store and Redis), Prometheus. */

const TAG = 'operations';

const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.record(z.string(), z.string()).describe('per dependency (store, redis): "ok" or why not'),
});

export function healthRoutes(deps: { store: SnapshotStore; jobs: IngestJobs | null; metrics: Metrics }): RouteGroup {
  const { store, jobs, metrics } = deps;
  const router = Router();

  router.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });

  router.get('/readyz', async (_req, res) => {
    const checks = await readinessChecks(store, jobs);
    const ok = isReady(checks);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return {
    tag: { name: TAG, description: 'Probes for orchestrators and metrics for Prometheus' },
    router,
    paths: {
      '/healthz': {
        get: operation(TAG, {
          summary: 'Alive: the process answers',
          access: 'open',
          responses: { 200: { description: 'Alive', content: { 'application/json': z.object({ status: z.literal('ok') }) } } },
        }),
      },
      '/readyz': {
        get: operation(TAG, {
          summary: 'Ready when the store and Redis answer',
          access: 'open',
          responses: {
            200: { description: 'Ready', content: { 'application/json': ReadinessSchema } },
            503: { description: 'The store or Redis does not answer; checks say which and why', content: { 'application/json': ReadinessSchema } },
          },
        }),
      },
      '/metrics': {
        get: operation(TAG, {
          summary: 'Prometheus metrics (requests, replays, ingest jobs, queue depth, book cache)',
          access: 'open',
          responses: { 200: { description: 'The Prometheus text format', content: { 'text/plain': { type: 'string' } } } },
        }),
      },
    },
  };
}
