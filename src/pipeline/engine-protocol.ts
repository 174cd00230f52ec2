// src/pipeline/: ingest: a source (file or URL) through the engine thread into the store, with progress and a summary.
import type { ExportedRows } from '../book/row-buffer.js';
import type { ExportedEvents } from '../book/event-buffer.js';
import type { SnapshotPolicy } from '../book/market.js';
import type { SymbolMapping } from '../dbn/metadata.js';
import type { SourcePolicy } from './source.js';
import type { SerializedIngestError } from './errors.js';

/** What the main thread asks of the engine thread (its workerData). */
export interface EngineRequest {
  /** A file path or an http(s) URL, as the user gave it. */
  source: string;
  sourcePolicy: SourcePolicy;
  snapshotPolicy: SnapshotPolicy;
  /** Snapshot (and trade) rows per batch posted to the writer. */
  batchRows: number;
}

export interface BookSummary {
  instrumentId: number;
  publisherId: number;
  symbol: string | null;
  orders: number;
  anomalies: Record<string, number>;
}

/** Messages from the engine thread, in order: metadata, (batch|progress)*, done or error. */
export type EngineMessage =
  | { type: 'metadata'; name: string; dataset: string; schema: string; mappings: SymbolMapping[] }
  /** records: MBO records applied when the batch was captured; events and checkpoints: the stored MBO records and L3 checkpoints, empty when the policy stores none */
  | { type: 'batch'; snapshots: ExportedRows; trades: ExportedRows; events: ExportedEvents; checkpoints: ExportedRows; records: number }
  /** bytes: input bytes behind the records decoded (InputPosition) */
  | { type: 'progress'; bytes: number; totalBytes: number | null; records: number }
  | {
      type: 'done';
      sha256: string;
      bytes: number;
      records: number;
      otherRecords: Record<string, number>;
      anomalies: Record<string, number>;
      books: BookSummary[];
    }
  | { type: 'error'; error: SerializedIngestError };
