import type { IngestSummary } from './ingest.js';

/**
 * An ingest run's summary as every output prints it (the CLI, job results,
 * the API): snake_case keys, as the rest of the API's JSON.
 */
export interface IngestSummaryJson {
  run_id: string;
  source: string;
  sha256: string;
  bytes: number;
  dataset: string;
  schema: string;
  symbols: string[];
  records: number;
  other_records: Record<string, number>;
  snapshots: number;
  trades: number;
  /** MBO records stored (mbo_events) and L3 checkpoint rows (order_checkpoints); 0 with BOOKTAPE_STORE_MBO=false. */
  mbo_events: number;
  checkpoint_rows: number;
  /** Of the rows written, those the store already held (a re-ingest adds nothing); null when the store cannot tell. */
  snapshots_already_present: number | null;
  trades_already_present: number | null;
  books: Array<{ instrument_id: number; publisher_id: number; symbol: string | null; orders: number; anomalies: Record<string, number> }>;
  anomalies: Record<string, number>;
  /** A Databento request: the cost in US dollars and the billable bytes quoted before the download; else null. */
  cost_usd: number | null;
  billable_bytes: number | null;
  duration_ms: number;
  records_per_sec: number;
  snapshots_per_sec: number;
}

export function ingestSummaryJson(s: IngestSummary): IngestSummaryJson {
  return {
    run_id: s.runId,
    source: s.source,
    sha256: s.sha256,
    bytes: s.bytes,
    dataset: s.dataset,
    schema: s.schema,
    symbols: s.symbols,
    records: s.records,
    other_records: s.otherRecords,
    snapshots: s.snapshots,
    trades: s.trades,
    mbo_events: s.mboEvents,
    checkpoint_rows: s.checkpointRows,
    snapshots_already_present: s.snapshotsPresent,
    trades_already_present: s.tradesPresent,
    books: s.books.map((b) => ({ instrument_id: b.instrumentId, publisher_id: b.publisherId, symbol: b.symbol, orders: b.orders, anomalies: b.anomalies })),
    anomalies: s.anomalies,
    cost_usd: s.costUsd,
    billable_bytes: s.billableBytes,
    duration_ms: s.durationMs,
    records_per_sec: s.recordsPerSec,
    snapshots_per_sec: s.snapshotsPerSec,
  };
}

/**
 * A job's result when the Databento request it names had been ingested
 * already: nothing was bought or written (a rerun asked with force runs).
 */
export interface AlreadyIngestedJson {
  source: string;
  already_ingested: true;
}

/** What an ingest job returns. */
export type IngestResultJson = IngestSummaryJson | AlreadyIngestedJson;
