import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Everything /metrics exposes, in one registry per app. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'booktape_' });
  return {
    registry,
    requestSeconds: new Histogram({
      name: 'booktape_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    replayFrames: new Counter({ name: 'booktape_replay_frames_total', help: 'Replay frames sent', labelNames: ['transport'], registers: [registry] }),
    replayBytes: new Counter({ name: 'booktape_replay_bytes_total', help: 'Replay bytes sent', labelNames: ['transport'], registers: [registry] }),
    activeStreams: new Gauge({ name: 'booktape_replay_active_streams', help: 'Replay streams open now', labelNames: ['transport'], registers: [registry] }),
    ingestJobs: new Counter({ name: 'booktape_ingest_jobs_total', help: 'Ingest jobs by outcome (this process)', labelNames: ['outcome'], registers: [registry] }),
    ingestRecords: new Counter({ name: 'booktape_ingest_records_total', help: 'MBO records ingested (this process)', registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
