import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reconstructedBooks } from '../../src/cli/book.js';
import { openDbnFile } from '../../src/dbn/index.js';
import { rebuild } from '../../src/book/rebuild.js';
import { ZSTD_THREAD_MIN_BYTES } from '../../src/dbn/reader.js';
import { packedLevelsJson } from '../../src/encode/book-json.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { IngestError, toIngestError } from '../../src/pipeline/errors.js';
import { SourceError } from '../../src/pipeline/source.js';
import { DbnError } from '../../src/dbn/errors.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { StoreError, rowsOf } from '../../src/store/port.js';
import { CLI, CLX5 } from '../helpers.js';
import { duckdbRuns, failingWrites } from '../store/runs.js';
import { add, encode } from '../book/records.js';

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-ingest-'));
  const store = new DuckDbStore(join(dir, 'store.duckdb'));
  await store.init();
  const policy = { dataRoots: [dir], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 3 };
  const file = join(dir, 'clx5.dbn');
  copyFileSync(CLX5, file);
  return { dir, store, policy, file };
}

describe('ingest: file -> books -> snapshots in the store', () => {
  it('lands every snapshot and trade; the book read back at the last instant equals the engine\'s, level for level', async () => {
    const { store, policy, file } = await setup();
    const progress: number[] = [];
    const s = await ingest(file, {
      store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 },
      onProgress: (p) => { progress.push(p.records); },
    });
    expect(s.records).toBe(38_212);
    expect(s.snapshots).toBe(32_053);
    expect(s.trades).toBe(1_599);
    expect(s.dataset).toBe('GLBX.MDP3');
    expect(s.symbols).toEqual(['CLX5']);
    expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(s.anomalies.cancel_unknown).toBeGreaterThan(0);
    expect(await store.countSnapshots()).toBe(32_053);

    const engine = (await reconstructedBooks(await openDbnFile(CLX5), { depth: 10 })).books[0];
    const stored = await store.bookAt('CLX5');
    expect(packedLevelsJson(stored!.bids)).toEqual(engine.bids);
    expect(packedLevelsJson(stored!.asks)).toEqual(engine.asks);
    expect(stored!.tsRecv.toString()).toBe(engine.ts_recv);
    await store.close();
  });

  it('with L3 stored, every MBO record and a checkpoint row per resting order land too, once however often the file is ingested; without, none', async () => {
    const { store, policy, file } = await setup();
    const l3 = { depth: 10, intervalNs: 0, l3: { everyNs: 60e9, events: 1000 } };
    const first = await ingest(file, { store, sourcePolicy: policy, snapshotPolicy: l3, batchRows: 4096 });
    expect([first.mboEvents, first.checkpointRows]).toEqual([38_212, 31_066]);
    expect(await store.countL3()).toEqual({ events: 38_212, checkpointRows: 31_066 });
    await ingest(file, { store, sourcePolicy: policy, snapshotPolicy: l3, batchRows: 1000 }); // other batches, the same rows
    expect(await store.countL3()).toEqual({ events: 38_212, checkpointRows: 31_066 });
    await store.close();
    const off = await setup();
    const depthOnly = await ingest(off.file, { store: off.store, sourcePolicy: off.policy, snapshotPolicy: { depth: 10, intervalNs: 0 } });
    expect([depthOnly.mboEvents, depthOnly.checkpointRows, depthOnly.snapshots]).toEqual([0, 0, 32_053]);
    expect(await off.store.countL3()).toEqual({ events: 0, checkpointRows: 0 });
    await off.store.close();
  });

  it('progress is advisory: a callback that throws every time fails nothing; the last report is the final count at 100%', async () => {
    const { store, policy, file } = await setup();
    const reports: Array<{ records: number; percent: number | null }> = [];
    const s = await ingest(file, {
      store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 }, batchRows: 4096,
      onProgress: async (p) => {
        reports.push({ records: p.records, percent: p.percent });
        throw new Error('Missing key for job ingest-x. updateProgress'); // what BullMQ says once Redis lost the job
      },
    });
    expect(s.snapshots).toBe(32_053);
    expect(await store.countSnapshots()).toBe(32_053);
    expect(reports.at(-1)).toEqual({ records: 38_212, percent: 100 });
    expect(reports.slice(0, -1).every((r) => r.percent === null || r.percent < 100)).toBe(true);
    await store.close();
  });

  it('an aborted run stops with the signal\'s reason, and a rerun lands exactly the clean rows', async () => {
    const { store, policy, file } = await setup();
    const stop = new AbortController();
    let batches = 0;
    const writeSnapshots = store.writeSnapshots.bind(store);
    store.writeSnapshots = async (...args) => {
      if (++batches === 2) stop.abort(new IngestError('LOCK_LOST', 'unavailable', 'lost the lock'));
      return writeSnapshots(...args);
    };
    const run = ingest(file, { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 }, batchRows: 4096, signal: stop.signal });
    await expect(run).rejects.toMatchObject({ code: 'LOCK_LOST' });
    expect(await store.countSnapshots()).toBeLessThan(32_053);
    store.writeSnapshots = writeSnapshots;
    await ingest(file, { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } });
    expect(await store.countSnapshots()).toBe(32_053);
    await store.close();
  });

  // Large .zst inputs decompress in a thread of their own, started from the
  // engine's worker thread: the path real Databento downloads take.
  it('a zstd file large enough for the decompression thread lands exactly what its plain file lands', async () => {
    const { dir, store, policy } = await setup();
    const plain = join(dir, 'synth.dbn');
    const packed = join(dir, 'synth.dbn.zst');
    for (const [out, extra] of [[plain, []], [packed, ['--zstd']]] as const) {
      execFileSync('node', [CLI, 'synth', out, '--records', '500000', '--seed', '3', ...extra], { stdio: 'ignore' });
    }
    expect(statSync(packed).size).toBeGreaterThanOrEqual(ZSTD_THREAD_MIN_BYTES);
    const packedStore = new DuckDbStore(join(dir, 'packed.duckdb'));
    await packedStore.init();
    const opts = { sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } };
    const a = await ingest(plain, { ...opts, store });
    const reports: Array<{ records: number; percent: number | null }> = [];
    const b = await ingest(packed, { ...opts, store: packedStore, onProgress: (p) => { reports.push({ records: p.records, percent: p.percent }); } });
    expect(b.records).toBe(500_000);
    // The percent follows the records decoded, not the compressed bytes read ahead of them.
    const along = reports.slice(0, -1);
    expect(along.length).toBeGreaterThanOrEqual(3);
    for (const r of along) expect(Math.abs(r.percent! - (100 * r.records) / 500_000)).toBeLessThan(10);
    expect(reports.at(-1)).toEqual({ records: 500_000, percent: 100 });
    for (const k of ['records', 'snapshots', 'trades', 'anomalies', 'symbols', 'books'] as const) expect(b[k]).toEqual(a[k]);
    expect(await packedStore.countSnapshots()).toBe(a.snapshots);
    for (const symbol of a.symbols) expect(await packedStore.bookAt(symbol)).toEqual(await store.bookAt(symbol));
    await store.close();
    await packedStore.close();
  }, 120_000);

  it('re-ingesting the same file leaves exactly the same rows', async () => {
    const { store, policy, file } = await setup();
    const opts = { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } };
    await ingest(file, opts);
    const first = [];
    for await (const r of rowsOf(store.readRange({ symbols: [] }))) first.push(r);
    const again = await ingest(file, opts);
    expect(again.snapshots).toBe(32_053);
    const second = [];
    for await (const r of rowsOf(store.readRange({ symbols: [] }))) second.push(r);
    expect(second.length).toBe(first.length);
    expect(second).toEqual(first);
    expect(await store.hasSucceeded(again.sha256)).toBe(true);
    await store.close();
  });

  it('a truncated file fails with a typed error, records a failed run, and a retry of the whole file ends with the clean rows', async () => {
    const { dir, store, policy } = await setup();
    const whole = readFileSync(CLX5);
    const cut = join(dir, 'cut.dbn');
    writeFileSync(cut, whole.subarray(0, whole.length - 30));
    const err = await ingest(cut, { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as IngestError).code).toBe('TRUNCATED_RECORD');
    expect((err as IngestError).offset).toBe(whole.length - 56);
    expect((err as IngestError).permanent).toBe(true);
    // Partial rows may have landed; a clean run over them ends with exactly the clean rows.
    const full = join(dir, 'full.dbn');
    copyFileSync(CLX5, full);
    await ingest(full, { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } });
    expect(await store.countSnapshots()).toBe(32_053);
    await store.close();
  });

  it('a run that fails part-way records what it got through: the rows written and the records behind them, its symbols and error', async () => {
    const { dir, store, policy, file } = await setup();
    // What the engine captures in its first two batches of 4,096 rows, and the records applied by then.
    const captured: Array<{ rows: number; records: number }> = [];
    await rebuild(await openDbnFile(file), {
      policy: { depth: 10, intervalNs: 0, trades: true }, capacity: 4096,
      onCaptured: (s, _t, _l3, market) => { captured.push({ rows: s.length, records: market.counts.mbo }); },
    });
    // The third write fails: two batches are written.
    const err = await ingest(file, { store: failingWrites(store, (n) => n === 3), sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 }, batchRows: 4096 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORE_WRITE_FAILED' });
    const written = captured[0].rows + captured[1].rows;
    expect(await store.countSnapshots()).toBe(written);
    await store.close();
    expect(await duckdbRuns(join(dir, 'store.duckdb'))).toEqual([expect.objectContaining({
      status: 'failed', records: captured[1].records, snapshots: written, symbols: '["CLX5"]', error: '[STORE_WRITE_FAILED] injected failure',
    })]);
  });

  it('refuses paths outside the data roots (no traversal), and non-MBO files, with clear codes', async () => {
    const { dir, store, policy } = await setup();
    const outside = await ingest(`${dir}/../../etc/passwd`, { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } }).catch((e: unknown) => e);
    expect((outside as IngestError).code).toBe('SOURCE_NOT_ALLOWED');
    expect((outside as IngestError).message).toContain('BOOKTAPE_DATA_ROOTS');
    const missing = await ingest(join(dir, 'nope.dbn'), { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } }).catch((e: unknown) => e);
    expect((missing as IngestError).code).toBe('SOURCE_NOT_FOUND');
    const trades = join(dir, 'trades.dbn');
    copyFileSync(new URL('../fixtures/test_data.trades.dbn', import.meta.url), trades);
    const notMbo = await ingest(trades, { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } }).catch((e: unknown) => e);
    expect((notMbo as IngestError).code).toBe('NOT_MBO');
    expect(await store.countSnapshots()).toBe(0);
    await store.close();
  });

  it('an engine thread that outgrows BOOKTAPE_ENGINE_HEAP_MB fails as ENGINE_CRASHED, retryable, saying what to raise', async () => {
    const { dir, store, policy } = await setup();
    // 300,000 resting orders, none ever cancelled: the books hold them all.
    const file = join(dir, 'deep.dbn');
    writeFileSync(file, encode(Array.from({ length: 300_000 }, (_, i) => add(i + 1, i % 2 ? 'A' : 'B', 50 + (i % 500) / 100 * (i % 2 ? 1 : -1), 1, 0))));
    const opts = { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } };
    const err = await ingest(file, { ...opts, engineHeapMb: 16 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as IngestError).code).toBe('ENGINE_CRASHED');
    expect((err as IngestError).message).toContain('BOOKTAPE_ENGINE_HEAP_MB=16');
    expect((err as IngestError).permanent).toBe(false);
    // The same file under Node's default limit: the limit was the cause.
    const summary = await ingest(file, opts);
    expect(summary.books[0].orders).toBe(300_000);
    await store.close();
  }, 60_000);
});


describe('IngestError.permanent: what a job retries', () => {
  // Each failure as the code that raises it raises it, so the kinds come from where the errors arise.
  const failures: Record<string, unknown> = {
    STORE_UNAVAILABLE: new StoreError('STORE_UNAVAILABLE', 'x'),
    STORE_BUSY: new StoreError('STORE_BUSY', 'x'),
    STORE_READ_FAILED: new StoreError('STORE_READ_FAILED', 'x'),
    STORE_WRITE_FAILED: new StoreError('STORE_WRITE_FAILED', 'x'),
    SOURCE_TIMEOUT: new SourceError('SOURCE_TIMEOUT', 'x'),
    SOURCE_HTTP_ERROR: new SourceError('SOURCE_HTTP_ERROR', 'x'),
    ENGINE_CRASHED: new IngestError('ENGINE_CRASHED', 'internal', 'x'),
    INTERNAL: new Error('x'),
    TRUNCATED_RECORD: new DbnError('TRUNCATED_RECORD', 'x', 0),
    NOT_MBO: new DbnError('NOT_MBO', 'x', 0),
    SOURCE_NOT_ALLOWED: new SourceError('SOURCE_NOT_ALLOWED', 'x'),
    SOURCE_NOT_FOUND: new SourceError('SOURCE_NOT_FOUND', 'x'),
  };
  it('retries every store failure and failures of the moment; not bad files or refused sources', () => {
    for (const code of ['STORE_UNAVAILABLE', 'STORE_BUSY', 'STORE_READ_FAILED', 'STORE_WRITE_FAILED', 'SOURCE_TIMEOUT', 'SOURCE_HTTP_ERROR', 'ENGINE_CRASHED', 'INTERNAL']) {
      expect(toIngestError(failures[code]).code, code).toBe(code);
      expect(toIngestError(failures[code]).permanent, code).toBe(false);
    }
    for (const code of ['TRUNCATED_RECORD', 'NOT_MBO', 'SOURCE_NOT_ALLOWED', 'SOURCE_NOT_FOUND']) {
      expect(toIngestError(failures[code]).code, code).toBe(code);
      expect(toIngestError(failures[code]).permanent, code).toBe(true);
    }
  });
});
