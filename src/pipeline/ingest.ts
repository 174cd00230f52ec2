import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SnapshotBuffer } from '../book/snapshot-buffer.js';
import { TradeBuffer } from '../book/trade-buffer.js';
import { MboEventBuffer } from '../book/event-buffer.js';
import { CheckpointBuffer } from '../book/checkpoint-buffer.js';
import type { SnapshotPolicy } from '../book/market.js';
import { symbolsByInstrument } from '../dbn/metadata.js';
import type { SnapshotStore } from '../store/port.js';
import type { BookSummary, EngineMessage, EngineRequest } from './engine-protocol.js';
import { IngestError, toIngestError } from './errors.js';
import { DEFAULT_WRITE_BATCH_ROWS } from '../config.js';
import type { SourcePolicy } from './source.js';
import { isDatabentoSource } from '../databento-request.js';
import { MBO_RECORD_LENGTH } from '../dbn/constants.js';
import { quoteDatabento, refuseOverLimit, type Quote } from './databento.js';

export interface IngestProgress {
  /** Input bytes (compressed ones for zstd) behind the records decoded so far. */
  bytes: number;
  totalBytes: number | null;
  records: number;
  /** Snapshot rows written so far (behind the records decoded: writes follow decoding). */
  snapshots: number;
  /** 0-100 when the size is known. */
  percent: number | null;
}

/** Snapshot rows per store write by default: the setting's default (see config.ts for why). */
export { DEFAULT_WRITE_BATCH_ROWS };

export interface IngestOptions {
  store: SnapshotStore;
  sourcePolicy: SourcePolicy;
  snapshotPolicy: SnapshotPolicy;
  /** Snapshot rows per store write (default DEFAULT_WRITE_BATCH_ROWS). */
  batchRows?: number;
  /**
   * The engine thread's heap limit in MB (V8's old generation; default:
   * Node's own). A file whose books outgrow it fails with ENGINE_CRASHED
   * instead of growing the process until the machine kills it.
   */
  engineHeapMb?: number;
  /**
   * Progress, about four times a second and once at the end with the final
   * count. Advisory: a callback that throws or rejects never fails the run.
   */
  onProgress?: (p: IngestProgress) => void | Promise<void>;
  /**
   * Stops the run when aborted (a lost job lock, a shutdown): the engine
   * thread ends, writes under way settle, and the run fails with the
   * signal's reason (an IngestError, else ABORTED).
   */
  signal?: AbortSignal;
  /** The run's id in ingest_runs (default: a new UUID); a job names its run before starting it. */
  runId?: string;
}

/** Why a run was stopped, as the IngestError the caller passed as the signal's reason. */
function abortReason(signal: AbortSignal): IngestError {
  const r: unknown = signal.reason;
  return r instanceof IngestError ? r : new IngestError('ABORTED', 'unavailable', r instanceof Error ? r.message : String(r ?? 'the run was stopped'));
}

async function reportProgress(opts: IngestOptions, p: IngestProgress): Promise<void> {
  try {
    await opts.onProgress?.(p);
  } catch {
    // Progress is advisory: its consumer reports its own failures.
  }
}

export interface IngestSummary {
  runId: string;
  source: string;
  sha256: string;
  bytes: number;
  dataset: string;
  schema: string;
  symbols: string[];
  records: number;
  otherRecords: Record<string, number>;
  /** Snapshot and trade rows written. */
  snapshots: number;
  trades: number;
  /** MBO records and L3 checkpoint rows written (0 when the store keeps no MBO). */
  mboEvents: number;
  checkpointRows: number;
  /** Of those, rows the store already held (a re-ingest); null when the store cannot tell. */
  snapshotsPresent: number | null;
  tradesPresent: number | null;
  books: BookSummary[];
  anomalies: Record<string, number>;
  /** A Databento request: what the service quoted before the download; else null. */
  costUsd: number | null;
  billableBytes: number | null;
  durationMs: number;
  recordsPerSec: number;
  snapshotsPerSec: number;
}

/** A run's cost and size for its record, when it has them. */
const quoted = (q: Quote | undefined) => (q === undefined ? {} : { costUsd: q.costUsd, billableBytes: q.billableBytes });

/**
 * How far a run is, 0-100: the input decoded over its size when the size is
 * known (a file, a download with a length), else, for a Databento download
 * (streamed without one), the records decoded over those its billable size
 * holds. Below 100 until the run is done: decoding runs ahead of writing.
 */
function percentOf(m: { bytes: number; totalBytes: number | null; records: number }, expectedRecords: number | null): number | null {
  const share = m.totalBytes ? m.bytes / m.totalBytes : expectedRecords ? m.records / expectedRecords : null;
  return share === null ? null : Math.min(99.9, Math.round(share * 1000) / 10);
}

/** The engine thread's compiled file (vitest runs sources; the thread needs the build). */
function engineThreadUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/src/pipeline/engine-thread.js', here) : new URL('./engine-thread.js', here);
}

/**
 * Source -> decode -> books -> snapshots -> store, as one run. Decoding and
 * the books run in a worker thread; this thread writes to the store (DuckDB
 * must be used from one thread) and stays free for the job queue. A run that
 * fails part-way can simply be run again: rows are keyed, so the retry ends
 * with the same rows as a clean run.
 */
export async function ingest(source: string, opts: IngestOptions): Promise<IngestSummary> {
  const started = new Date();
  const runId = opts.runId ?? randomUUID();
  let metadata: Extract<EngineMessage, { type: 'metadata' }> | null = null;
  let symbolOf: (id: number) => string | null = () => null;
  // Records behind the rows written so far, and those rows: what a failed run got through.
  let records = 0;
  let snapshots = 0;
  let trades = 0;
  let mboEvents = 0;
  let checkpointRows = 0;
  // Rows the store newly stored; null once a write could not tell (the rest were there already).
  let snapshotsAdded: number | null = 0;
  let tradesAdded: number | null = 0;
  let quote: Quote | undefined;
  const recordFailure = async (e: IngestError, meta: Extract<EngineMessage, { type: 'metadata' }> | null) => {
    await opts.store
      .recordRun({
        runId, source: meta?.name ?? source, sha256: '', dataset: meta?.dataset ?? '', schema: meta?.schema ?? '',
        // What the run got through before it failed: the rows written, and the records behind them.
        symbols: meta?.mappings.map((x) => x.raw_symbol) ?? [], records, snapshots, trades, anomalies: {}, startedAt: started, finishedAt: new Date(),
        status: 'failed', error: `[${e.code}] ${e.message}`, ...quoted(quote),
      })
      .catch(() => undefined); // the store itself may be what failed
  };
  // A Databento request is quoted, and refused over the cost limit, before anything is bought.
  if (isDatabentoSource(source)) {
    try {
      quote = await quoteDatabento(source, opts.sourcePolicy);
      refuseOverLimit(source, quote, opts.sourcePolicy);
    } catch (err) {
      const e = toIngestError(err);
      await recordFailure(e, null);
      throw e;
    }
  }
  const expectedRecords = quote === undefined ? null : quote.billableBytes / MBO_RECORD_LENGTH;
  const request: EngineRequest = {
    source, sourcePolicy: opts.sourcePolicy, snapshotPolicy: opts.snapshotPolicy, batchRows: opts.batchRows ?? DEFAULT_WRITE_BATCH_ROWS,
  };
  const worker = new Worker(engineThreadUrl(), {
    workerData: request,
    ...(opts.engineHeapMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: opts.engineHeapMb } } : {}),
  });
  // Every write issued so far, settled (and counted, if it succeeded).
  let writes: Promise<void> = Promise.resolve();
  let stopOnAbort: (() => void) | undefined;
  try {
    const done = await new Promise<Extract<EngineMessage, { type: 'done' }>>((resolve, reject) => {
      // Messages are handled one at a time, in order. A batch's writes are
      // issued here and complete in that order; 'done' waits for the last.
      let chain = Promise.resolve();
      let finished = false;
      const fail = (err: unknown) => {
        finished = true;
        reject(toIngestError(err));
      };
      if (opts.signal !== undefined) {
        const signal = opts.signal;
        stopOnAbort = () => fail(abortReason(signal));
        if (signal.aborted) stopOnAbort();
        else signal.addEventListener('abort', stopOnAbort, { once: true });
      }
      worker.on('message', (m: EngineMessage) => {
        chain = chain.then(async () => {
          if (finished) return;
          switch (m.type) {
            case 'metadata': {
              metadata = m;
              const map = symbolsByInstrument(m);
              symbolOf = (id) => map.get(id) ?? null;
              return;
            }
            case 'batch': {
              const s = SnapshotBuffer.adopt(m.snapshots);
              const t = TradeBuffer.adopt(m.trades);
              const e = MboEventBuffer.adopt(m.events);
              const c = CheckpointBuffer.adopt(m.checkpoints);
              // Issued without waiting for the previous batch to commit, so
              // this one is prepared meanwhile; stores apply writes in call
              // order, and the ack bounds how many batches are in flight.
              // A batch's events go before its checkpoints: a checkpoint
              // stored is one whose events before it are.
              const written = Promise.all([
                opts.store.writeSnapshots(s, symbolOf), opts.store.writeTrades(t, symbolOf),
                e.length > 0 ? opts.store.writeMboEvents(e, symbolOf) : undefined,
                c.length > 0 ? opts.store.writeCheckpoints(c, symbolOf) : undefined,
              ]).then(([sw, tw]) => {
                records = Math.max(records, m.records);
                snapshots += s.length;
                trades += t.length;
                mboEvents += e.length;
                checkpointRows += c.length;
                snapshotsAdded = sw && snapshotsAdded !== null ? snapshotsAdded + sw.added : null;
                tradesAdded = tw && tradesAdded !== null ? tradesAdded + tw.added : null;
                worker.postMessage({ type: 'ack' });
              });
              written.catch(fail);
              writes = Promise.all([writes, written.catch(() => undefined)]).then(() => undefined);
              return;
            }
            case 'progress':
              // Below 100 until the run is done: the bytes decoded run ahead of the records written.
              await reportProgress(opts, {
                bytes: m.bytes, totalBytes: m.totalBytes, records: m.records, snapshots,
                percent: percentOf(m, expectedRecords),
              });
              return;
            case 'done':
              await writes;
              if (finished) return; // stopped while the last write settled
              records = m.records;
              finished = true;
              await reportProgress(opts, { bytes: m.bytes, totalBytes: m.bytes, records: m.records, snapshots, percent: 100 });
              resolve(m);
              return;
            case 'error':
              fail(IngestError.fromJSON(m.error));
          }
        }).catch(fail);
      });
      // The thread reports its own errors as messages: an 'error' event is
      // one it could not catch (out of memory, a bug).
      worker.on('error', (err) => fail(engineCrash(err, opts.engineHeapMb)));
      worker.on('exit', (code) => {
        // Let queued messages drain first: 'done' may still be in the chain.
        chain.then(() => {
          if (!finished) fail(new IngestError('ENGINE_CRASHED', 'internal', `the engine thread exited (code ${code}) before finishing`));
        });
      });
    });
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    await opts.store.flush();
    const finishedAt = new Date();
    const durationMs = finishedAt.getTime() - started.getTime();
    const meta = metadata as Extract<EngineMessage, { type: 'metadata' }> | null;
    const summary: IngestSummary = {
      runId,
      source: meta?.name ?? source,
      sha256: done.sha256,
      bytes: done.bytes,
      dataset: meta?.dataset ?? '',
      schema: meta?.schema ?? '',
      symbols: meta?.mappings.map((x) => x.raw_symbol) ?? [],
      records: done.records,
      otherRecords: done.otherRecords,
      snapshots,
      trades,
      mboEvents,
      checkpointRows,
      snapshotsPresent: snapshotsAdded === null ? null : snapshots - snapshotsAdded,
      tradesPresent: tradesAdded === null ? null : trades - tradesAdded,
      books: done.books,
      anomalies: done.anomalies,
      costUsd: quote?.costUsd ?? null,
      billableBytes: quote?.billableBytes ?? null,
      durationMs,
      recordsPerSec: Math.round(done.records / (durationMs / 1000)),
      snapshotsPerSec: Math.round(snapshots / (durationMs / 1000)),
    };
    await opts.store.recordRun({
      runId, source: summary.source, sha256: summary.sha256, dataset: summary.dataset, schema: summary.schema,
      symbols: summary.symbols, records: summary.records, snapshots, trades, anomalies: summary.anomalies,
      startedAt: started, finishedAt, status: 'succeeded', error: null, ...quoted(quote),
    });
    return summary;
  } catch (err) {
    const e = toIngestError(err);
    await writes; // no write still running (or uncounted) when the run is recorded and the caller moves on
    await recordFailure(e, metadata as Extract<EngineMessage, { type: 'metadata' }> | null);
    throw e;
  } finally {
    if (stopOnAbort !== undefined) opts.signal?.removeEventListener('abort', stopOnAbort);
    await worker.terminate();
  }
}

/** An engine thread that died, as ENGINE_CRASHED with what to do about it. */
function engineCrash(err: Error & { code?: string }, heapMb: number | undefined): IngestError {
  if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    const limit = heapMb !== undefined ? `its heap limit, BOOKTAPE_ENGINE_HEAP_MB=${heapMb}` : 'Node\'s default heap limit';
    return new IngestError('ENGINE_CRASHED', 'internal', `the engine thread ran out of memory at ${limit}: the books of this file need more; raise BOOKTAPE_ENGINE_HEAP_MB`);
  }
  return new IngestError('ENGINE_CRASHED', 'internal', `the engine thread failed: ${err.message}`);
}
