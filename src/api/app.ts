// src/api/: the HTTP API: Express app, auth, problem+json, OpenAPI, the IngestJobs port, metrics and probes.
import express from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { enqueuePolicy } from '../pipeline/options.js';
import type { SnapshotStore } from '../store/port.js';
import type { ActiveReads } from '../stream/active-reads.js';
import { StreamSlots } from '../stream/stream-slots.js';
import { InstrumentCatalog } from '../stream/symbols.js';
import { guards as tokenGuards } from './auth.js';
import type { IngestJobs } from './jobs.js';
import type { Metrics } from './metrics.js';
import { openApiDocument, type RouteGroup } from './openapi.js';
import { Problem, problemHandler } from './problem.js';
import { bboRoutes } from './routes/bbo.js';
import { booksRoutes } from './routes/books.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { ordersRoutes } from './routes/orders.js';
import { pageRoutes } from './routes/page.js';
import { replayRoutes } from './routes/replay.js';
import { snapshotsRoutes } from './routes/snapshots.js';

export interface AppDeps {
  config: Pick<Config, 'writeToken' | 'readToken' | 'url' | 'dataRoots' | 'sourceCheck'>;
  store: SnapshotStore;
  /** null when Redis is not reachable: job routes answer 503. */
  jobs: IngestJobs | null;
  metrics: Metrics;
  log: Logger;
  /** Replays and exports in flight: the server stops them before the store closes. */
  reads: ActiveReads;
  /** Streams open at once, shared with the TCP port (BOOKTAPE_MAX_STREAMS); default: unbounded. */
  slots?: StreamSlots;
  /** What the store holds, to check reads against; shared with the TCP replay port. */
  catalog?: InstrumentCatalog;
}

/** The route groups of the API, each with its OpenAPI description; the docs group is added by createApp. */
export function routeGroups(deps: AppDeps): RouteGroup[] {
  const guards = tokenGuards(deps.config);
  const { store, jobs, metrics, log, reads } = deps;
  const slots = deps.slots ?? new StreamSlots(Infinity);
  const catalog = deps.catalog ?? new InstrumentCatalog(store);
  return [
    healthRoutes({ store, jobs, metrics }),
    booksRoutes({ store, guards, catalog }),
    bboRoutes({ store, guards }),
    ordersRoutes({ store, guards, catalog }),
    snapshotsRoutes({ store, guards, reads, slots, log, catalog }),
    replayRoutes({ store, guards, reads, slots, metrics, log, catalog }),
    ingestRoutes({ jobs, guards, sources: enqueuePolicy(deps.config) }),
    pageRoutes(),
  ];
}

/** The HTTP API: the route groups and their OpenAPI document, behind request metrics and the problem+json handler. */
export function createApp(deps: AppDeps): express.Express {
  const { metrics, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const end = metrics.requestSeconds.startTimer();
    res.on('finish', () => end({ method: req.method, route: (req.route?.path as string | undefined) ?? req.baseUrl ?? 'unmatched', status: res.statusCode }));
    next();
  });
  const groups = routeGroups(deps);
  let document: ReturnType<typeof openApiDocument> | undefined;
  groups.push(docsRoutes(() => (document ??= openApiDocument(groups))));
  for (const g of groups) app.use(g.router);
  app.use((req, _res, next) => next(new Problem('not-found', 'NOT_FOUND', `no route ${req.method} ${req.path}; see /docs`)));
  app.use(problemHandler((level, err, cause) => {
    if (err.kind === 'internal') log.error({ err: (cause as Error)?.message, stack: (cause as Error)?.stack }, 'request failed');
    else log[level]({ code: err.code, err: err.message }, 'request refused');
  }));
  return app;
}
