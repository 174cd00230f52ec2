import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * What ingest jobs report to Prometheus, from whichever process runs them:
 * `booktape worker` (on BOOKTAPE_METRICS_PORT) or `serve` with the embedded
 * store (on its /metrics).
 */
export function ingestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    jobs: new Counter({ name: 'booktape_ingest_jobs_total', help: 'Ingest job attempts run by this process, by outcome (completed, failed)', labelNames: ['outcome'], registers }),
    records: new Counter({
      name: 'booktape_ingest_records_total',
      help: 'MBO records decoded by this process\'s ingest jobs, counted as they are decoded (a retried job counts again)',
      registers,
    }),
    snapshots: new Counter({ name: 'booktape_ingest_snapshots_total', help: 'Snapshot rows written by completed ingest jobs of this process', registers }),
    trades: new Counter({ name: 'booktape_ingest_trades_total', help: 'Trade rows written by completed ingest jobs of this process', registers }),
    seconds: new Histogram({
      name: 'booktape_ingest_job_duration_seconds',
      help: 'Ingest job attempts by outcome: seconds from start to completion or failure',
      labelNames: ['outcome'],
      buckets: [0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
      registers,
    }),
  };
}
export type IngestMetrics = ReturnType<typeof ingestMetrics>;
