import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ingestMetrics } from '../pipeline/metrics.js';
import { replayMetrics } from '../stream/metrics.js';
import type { SnapshotStore } from '../store/port.js';
import { JOB_STATES, type IngestJobs } from './jobs.js';

/** The job states /metrics reports for the ingest queue. */
export const QUEUE_STATES = JOB_STATES;

/**
 * Everything /metrics exposes, in one registry per app. With `jobs`, each
 * scrape also reads the ingest queue's job counts from Redis: they cover
 * every worker sharing the queue, where the ingest counters below count only
 * jobs this process ran. With a `store` that caches rows for book lookups,
 * each scrape reads the cache's size and hit counts (to size
 * BOOKTAPE_DUCKDB_BOOK_CACHE_MB: many misses under steady load mean the
 * clients' blocks do not fit).
 */
export function createMetrics(jobs: Pick<IngestJobs, 'counts'> | null = null, store: Pick<SnapshotStore, 'bookCache'> | null = null) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'booktape_' });
  const cache = store?.bookCache === undefined ? null : () => store.bookCache!();
  if (cache !== null) {
    new Gauge({
      name: 'booktape_book_cache_bytes',
      help: 'Estimated bytes of stored rows held for book lookups (BOOKTAPE_DUCKDB_BOOK_CACHE_MB bounds it)',
      registers: [registry],
      collect() {
        this.set(cache().bytes);
      },
    });
    new Counter({
      name: 'booktape_book_cache_lookups_total',
      help: 'Book lookups by whether their block of rows was in memory (hit) or read from the store (miss)',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        const { hits, misses } = cache();
        this.reset(); // the store counts; this reports its totals
        this.inc({ result: 'hit' }, hits);
        this.inc({ result: 'miss' }, misses);
      },
    });
  }
  return {
    registry,
    requestSeconds: new Histogram({
      name: 'booktape_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ...replayMetrics(registry),
    /** Jobs this process runs: with the embedded store, serve runs the ingest worker. */
    ingest: ingestMetrics(registry),
    queueJobs: new Gauge({
      name: 'booktape_queue_jobs',
      help: 'Ingest queue jobs by state, read from Redis at each scrape (all workers)',
      labelNames: ['state'],
      registers: jobs === null ? [] : [registry],
      async collect() {
        this.reset(); // no Redis this scrape: report nothing rather than stale counts
        try {
          const counts = await jobs!.counts(QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
        } catch {
          /* Redis is away or slow: the scrape answers with the other metrics; /readyz says why */
        }
      },
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
