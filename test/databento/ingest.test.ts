import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { databentoSource, dayRequest } from '../../src/databento-request.js';
import { ingest, type IngestOptions } from '../../src/pipeline/ingest.js';
import { IngestError } from '../../src/pipeline/errors.js';
import type { SourcePolicy } from '../../src/pipeline/source.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { decodeBuffer } from '../../src/dbn/index.js';
import { rowsOf, type StoredSnapshot } from '../../src/store/port.js';
import { CLX5 } from '../helpers.js';
import { archiveOf, startFakeDatabento, type FakeDatabento } from './service.js';

/**
 * Databento requests through the whole pipeline into the embedded store,
 * against the local service (docs/databento.md lists what each test pins).
 * The service holds CLX5 on its own day, 2025-09-24, and a copy of it a day
 * later.
 */
const KEY = 'db-PipelineTestKeyNeverShown00003';
let service: FakeDatabento;
const day = (d: string, symbols = ['CLX5']) => databentoSource(dayRequest({ dataset: 'GLBX.MDP3', symbols, stype_in: 'raw_symbol' }, d));

beforeAll(async () => {
  service = await startFakeDatabento({ key: KEY, archive: archiveOf(CLX5, [0, 1]) });
});
afterAll(async () => service?.close());

async function freshStore(): Promise<DuckDbStore> {
  const store = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-databento-')), 'store.duckdb'));
  await store.init();
  return store;
}

const policy = (over: Partial<NonNullable<SourcePolicy['databento']>> = {}): SourcePolicy => ({
  dataRoots: [CLX5.replace(/[^/]+$/, '')], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 0,
  databento: { baseUrl: service.url, apiKey: KEY, maxCostUsd: 10, ...over },
});

const options = (store: DuckDbStore, p = policy()): IngestOptions => ({ store, sourcePolicy: p, snapshotPolicy: { depth: 10, intervalNs: 0 } });

async function allRows(store: DuckDbStore): Promise<StoredSnapshot[]> {
  const rows: StoredSnapshot[] = [];
  for await (const r of rowsOf(store.readRange({ symbols: [] }))) rows.push(r);
  return rows;
}

async function runsOf(store: DuckDbStore): Promise<Array<Record<string, unknown>>> {
  await store.close();
  const c = await (await DuckDBInstance.create(store.path)).connect();
  const r = await c.runAndReadAll('SELECT source, status, error, cost_usd, billable_bytes FROM ingest_runs ORDER BY finished_at');
  c.closeSync();
  return r.getRowObjectsJS();
}

const getRanges = () => service.requests.filter((r) => r.path === 'timeseries.get_range').length;

describe('ingest from Databento (timeseries.get_range) into DuckDB', () => {
  it('one day lands the same rows as ingesting the same file directly, with the quoted cost and size recorded; the same request again adds no row', async () => {
    const direct = await freshStore();
    const file = await ingest(CLX5, options(direct));
    const store = await freshStore();
    const percents: Array<number | null> = [];
    const s = await ingest(day('2025-09-24'), { ...options(store), onProgress: (p) => { percents.push(p.percent); } });
    expect(s).toMatchObject({
      source: day('2025-09-24'), dataset: 'GLBX.MDP3', schema: 'mbo', symbols: ['CLX5'],
      records: file.records, snapshots: file.snapshots, trades: file.trades, anomalies: file.anomalies,
      billableBytes: 38_212 * 56, snapshotsPresent: 0,
    });
    expect(s.costUsd).toBeCloseTo((38_212 * 56 / 1e9) * service.pricePerGb, 9);
    expect(await allRows(store)).toEqual(await allRows(direct));
    // Streamed without a length: the percent comes from the billable size, and ends at 100.
    expect(percents.at(-1)).toBe(100);
    expect(percents.every((p) => p !== null)).toBe(true);

    const again = await ingest(day('2025-09-24'), options(store));
    expect(again).toMatchObject({ snapshots: file.snapshots, snapshotsPresent: file.snapshots, tradesPresent: file.trades });
    expect(await store.countSnapshots()).toBe(file.snapshots);
    expect(await store.hasIngested(day('2025-09-24'))).toBe(true);
    expect(await store.hasIngested(day('2025-09-25'))).toBe(false);
    const runs = await runsOf(store);
    expect(runs).toMatchObject([
      { source: day('2025-09-24'), status: 'succeeded', cost_usd: s.costUsd, billable_bytes: BigInt(38_212 * 56) },
      { source: day('2025-09-24'), status: 'succeeded' },
    ]);
    await direct.close();
  }, 240_000);

  it('cost over the limit: refused before any download, naming the cost and the setting; recorded as a failed run with its quote', async () => {
    const store = await freshStore();
    const before = getRanges();
    const err = await ingest(day('2025-09-24'), options(store, policy({ maxCostUsd: 0.1 }))).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect(err).toMatchObject({ code: 'DATABENTO_COST_LIMIT', kind: 'invalid' });
    expect((err as IngestError).permanent).toBe(true);
    expect((err as IngestError).message).toMatch(/would cost \$0\.21 .*over BOOKTAPE_DATABENTO_MAX_COST_USD=0\.1/);
    expect(getRanges()).toBe(before);
    expect(await store.countSnapshots()).toBe(0);
    expect(await runsOf(store)).toMatchObject([{ status: 'failed', error: expect.stringMatching(/^\[DATABENTO_COST_LIMIT\]/), billable_bytes: BigInt(38_212 * 56) }]);
  });

  it('a day with no data: DATABENTO_NO_DATA before any download; a symbol that does not resolve: the service\'s own 422 message, for good', async () => {
    const store = await freshStore();
    const before = getRanges();
    await expect(ingest(day('2025-09-23'), options(store))).rejects.toMatchObject({ code: 'DATABENTO_NO_DATA', kind: 'not-found' });
    expect(getRanges()).toBe(before);
    const bad = await ingest(day('2025-09-24', ['NOPE5']), options(store)).then(() => null, (e: unknown) => e as IngestError);
    expect(bad).toMatchObject({ code: 'DATABENTO_BAD_REQUEST', kind: 'invalid', message: expect.stringContaining('None of the symbols could be resolved') });
    expect(bad!.permanent).toBe(true);
    await expect(ingest(day('2025-09-24'), options(store, policy({ apiKey: undefined })))).rejects.toMatchObject({ code: 'DATABENTO_NO_KEY' });
    await store.close();
  });

  it('429 and 5xx from the download are retryable and carry the Retry-After wait across the engine thread', async () => {
    const store = await freshStore();
    service.script('timeseries.get_range', { status: 429, body: { detail: 'Too many requests' }, headers: { 'retry-after': '3' } });
    const limited = await ingest(day('2025-09-24'), options(store)).then(() => null, (e: unknown) => e as IngestError);
    expect(limited).toMatchObject({ code: 'DATABENTO_RATE_LIMITED', kind: 'unavailable', retryAfterMs: 3000 });
    expect(limited!.permanent).toBe(false);
    service.script('metadata.get_cost', { status: 500, body: { detail: 'Unexpected condition' } });
    await expect(ingest(day('2025-09-24'), options(store))).rejects.toMatchObject({ code: 'DATABENTO_UNAVAILABLE', kind: 'unavailable' });
    expect(await store.countSnapshots()).toBe(0);
    await store.close();
  });

  it('a download cut mid-stream (the service destroys the socket) fails as retryable, and the rerun ends with the rows of a clean run; only a complete download is kept', async () => {
    const store = await freshStore();
    const keepDir = join(mkdtempSync(join(tmpdir(), 'booktape-keep-')), 'downloads');
    const keeping = policy({ keepDir });
    // The cut waits until rows of the download are in the store: a socket destroyed at once can take the
    // bytes the client still held with it, and this test is about a rerun over a partial day.
    const rowsLanded = async (): Promise<void> => {
      for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
        if ((await store.countSnapshots()) > 0) return;
      }
    };
    service.script('timeseries.get_range', { cutAfterBytes: 200_000, cutWhen: rowsLanded });
    const cut = await ingest(day('2025-09-25'), { ...options(store, keeping), batchRows: 2048 }).then(() => null, (e: unknown) => e as IngestError);
    expect(cut).toMatchObject({ code: 'SOURCE_HTTP_ERROR', kind: 'unavailable' });
    const partial = await store.countSnapshots();
    expect(partial).toBeGreaterThan(0);
    expect(readdirSync(keepDir)).toEqual([]); // no copy of a cut download, not even a .part
    const rerun = await ingest(day('2025-09-25'), options(store, keeping));
    expect(rerun.snapshots).toBe(32_053);
    // The copy is the download as sent (the run's content hash is of those bytes), and a DBN file booktape reads.
    const [kept] = readdirSync(keepDir);
    expect(kept).toMatch(/^GLBX\.MDP3_2025-09-25T00-00-00Z_2025-09-26T00-00-00Z_[0-9a-f]{8}\.mbo\.dbn\.zst$/);
    const bytes = readFileSync(join(keepDir, kept));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(rerun.sha256);
    expect(decodeBuffer(bytes).metadata).toMatchObject({ dataset: 'GLBX.MDP3', symbols: ['CLX5'] });
    expect(await store.countSnapshots()).toBe(32_053);
    const clean = await freshStore();
    await ingest(day('2025-09-25'), options(clean));
    expect(await allRows(store)).toEqual(await allRows(clean));
    await store.close();
    await clean.close();
  }, 240_000);
});
