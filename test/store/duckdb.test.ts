import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { DDL, INTEGER_COLUMNS } from '../../src/store/duckdb/schema.js';
import { CHUNK_ROWS } from '../../src/store/duckdb/chunks.js';
import { Market } from '../../src/book/market.js';
import { decodeBuffer } from '../../src/dbn/index.js';
import { CLX5, ROOT } from '../helpers.js';
import { StoreError } from '../../src/store/port.js';
import { clx5FirstBatch, storeContract } from './contract.js';
import { l3Contract } from './l3-contract.js';

/** A path in a new temporary directory (a store's file by default). */
const tempPath = (name = 'store.duckdb') => join(mkdtempSync(join(tmpdir(), 'booktape-duck-')), name);

describe('DuckDB store: the contract', () => {
  storeContract(async () => {
    const store = new DuckDbStore(tempPath());
    await store.init();
    return store;
  });
});

describe('DuckDB store: the L3 contract', () => {
  l3Contract(async () => {
    const store = new DuckDbStore(tempPath());
    await store.init();
    return store;
  });
});

describe('DuckDB store: errors', () => {
  it('an unusable path is a STORE_UNAVAILABLE error that says why', async () => {
    // The parent "directory" is a regular file.
    const file = tempPath('plain-file');
    writeFileSync(file, 'x');
    const path = join(file, 'store.duckdb');
    const err = await new DuckDbStore(path).init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('STORE_UNAVAILABLE');
    expect((err as StoreError).message).toContain(path);
    expect((err as StoreError).message).not.toContain('Another booktape process');
  });

  it('a memory limit too small to open the file is STORE_UNAVAILABLE that names the setting, not a guess about locks', async () => {
    const path = tempPath();
    const store = new DuckDbStore(path);
    await store.init();
    await store.writeSnapshots(clx5FirstBatch(), () => 'CLX5');
    await store.close();
    const err = await new DuckDbStore(path, '100KB').init().catch((e: unknown) => e);
    expect((err as StoreError).code).toBe('STORE_UNAVAILABLE');
    expect((err as StoreError).message).toContain('Out of Memory Error');
    expect((err as StoreError).message).toContain('Raise BOOKTAPE_DUCKDB_MEMORY (now 100KB)');
    expect((err as StoreError).message).not.toContain('Another booktape process');
    expect((err as StoreError).message).not.toContain('\n'); // DuckDB's generic advice is left out
  });

  it('a file another process holds is STORE_UNAVAILABLE that says so', async () => {
    const path = tempPath();
    const holder = spawn(process.execPath, ['-e', `
      const { DuckDBInstance } = require('@duckdb/node-api');
      DuckDBInstance.create(${JSON.stringify(path)}).then(() => { console.log('open'); setInterval(() => {}, 1000); });
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => holder.stdout.once('data', resolve));
      const err = await new DuckDbStore(path).init().catch((e: unknown) => e);
      expect((err as StoreError).code).toBe('STORE_UNAVAILABLE');
      expect((err as StoreError).message).toContain('Another booktape process holds it');
    } finally {
      holder.kill();
    }
  });

  it('a write past the memory limit is STORE_BUSY, and none of its batch lands', async () => {
    const path = tempPath();
    const batch = clx5FirstBatch();
    const tight = new DuckDbStore(path, '2MB');
    await tight.init();
    const err = await tight.writeSnapshots(batch, () => 'CLX5').catch((e: unknown) => e);
    await tight.close();
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('STORE_BUSY');
    expect((err as StoreError).message).toMatch(/write \(limit 2MB\); retry .* raise BOOKTAPE_DUCKDB_MEMORY/);
    const roomy = new DuckDbStore(path);
    await roomy.init();
    expect(await roomy.countSnapshots()).toBe(0);
    await roomy.writeSnapshots(batch, () => 'CLX5');
    expect(await roomy.countSnapshots()).toBe(batch.length);
    await roomy.close();
  });

  it('a statement DuckDB refuses is STORE_READ_FAILED with its reason', async () => {
    const path = tempPath();
    const store = new DuckDbStore(path);
    await store.init();
    // A store whose table was dropped under it (by hand, or by another tool).
    await store.close();
    const byHand = await DuckDBInstance.create(path);
    const c = await byHand.connect();
    await c.run('DROP TABLE book_snapshots');
    c.closeSync();
    byHand.closeSync();
    const again = new DuckDbStore(path);
    const err = await again.listInstruments().catch((e: unknown) => e);
    expect((err as StoreError).code).toBe('STORE_READ_FAILED');
    expect((err as StoreError).message).toContain('book_snapshots');
    await again.close();
  });
});

describe('DuckDB store: reads and writes', () => {
  it('reads answer from what is committed, without waiting behind a write in progress', async () => {
    const store = new DuckDbStore(tempPath());
    await store.init();
    const batch = clx5FirstBatch();
    await store.writeSnapshots(batch, () => 'CLX5');
    const order: string[] = [];
    // A second write of the batch (staged, then anti-joined: the slow path), not awaited.
    const writing = store.writeSnapshots(batch, () => 'CLX5').then(() => order.push('write'));
    const [instruments, count] = await Promise.all([store.listInstruments(), store.countSnapshots()]);
    order.push('reads');
    await writing;
    expect(order).toEqual(['reads', 'write']);
    expect(instruments[0].snapshots).toBe(batch.length);
    expect(count).toBe(batch.length);
    await store.close();
  });
});

describe('DuckDB store: ranges', () => {
  it('a consumer that never waits still lets the window read ahead run: the event loop turns within a window', async () => {
    const store = new DuckDbStore(tempPath());
    await store.init();
    await store.writeSnapshots(clx5FirstBatch(), () => 'CLX5'); // 4,096 rows: windows of ~1,024
    let turns = 0;
    let ticking = true;
    const tick = () => { turns++; if (ticking) setImmediate(tick); };
    setImmediate(tick);
    // Event-loop turns seen by the time each row arrives, for the first window's rows.
    const seen: number[] = [];
    reading: for await (const batch of store.readRange({ symbols: [], pageSize: 1024 })) {
      for (const _ of batch) {
        if (seen.length === 900) break reading;
        seen.push(turns);
      }
    }
    ticking = false;
    // Between the first row and the 900th (all in the first window, as the
    // window reads at most 4 x 1,024 rows), the loop turned: the read ahead
    // was not held back until the consumer ran out of rows.
    expect(seen.at(-1)! - seen[0]).toBeGreaterThan(0);
    await store.close();
  });
});

describe('DuckDB store: book lookups', () => {
  it('answer every instant right with no room for blocks: concurrent lookups share a read, an evicted block is read again', async () => {
    const store = new DuckDbStore(tempPath(), '256MB', 0); // BOOKTAPE_DUCKDB_BOOK_CACHE_MB=0
    await store.init();
    const batch = clx5FirstBatch(); // 4,096 rows: a few blocks of 1,024 instants
    await store.writeSnapshots(batch, () => 'CLX5');
    const rows = Array.from({ length: batch.length }, (_, i) => batch.row(i));
    const lastAt = new Map(rows.map((r) => [r.tsRecv, r])); // rows of one book are in key order
    const instants = [...lastAt.keys()].filter((_, k) => k % 7 === 0);
    // Out of time order and all at once, as concurrent API clients ask.
    const order = instants.map((_, k) => instants[(k * 7919) % instants.length]);
    const got = await Promise.all(order.map((at) => store.bookAt('CLX5', at)));
    order.forEach((at, n) => expect(got[n], `book at ${at}`).toEqual({ ...lastAt.get(at)!, symbol: 'CLX5' }));
    expect(store.bookCache().hits + store.bookCache().misses).toBe(order.length);
    // Then one at a time, between the first instant and the last: each lookup
    // reads its block again. The block kept is the last one loaded, which
    // depends on which concurrent read finished last: start from a known one.
    const [first, last] = [instants[0], instants.at(-1)!];
    await store.bookAt('CLX5', last);
    const before = store.bookCache();
    for (const at of [first, last, first, last]) expect(await store.bookAt('CLX5', at)).toEqual({ ...lastAt.get(at)!, symbol: 'CLX5' });
    const after = store.bookCache();
    expect(after.misses - before.misses).toBe(4);
    // One block of 1,024 instants at depth 10 held (~0.7 MB), no more.
    expect(after.bytes).toBeGreaterThan(0.5 * 2 ** 20);
    expect(after.bytes).toBeLessThan(2 ** 20);
    await store.close();
  });
});

describe('DuckDB store: closing', () => {
  it('reads issued before close() answer in full before the store closes', async () => {
    const store = new DuckDbStore(tempPath());
    await store.init();
    const batch = clx5FirstBatch();
    await store.writeSnapshots(batch, () => 'CLX5');
    const reads = Promise.all([store.countSnapshots(), store.listInstruments(), store.bookAt('CLX5')]);
    await store.close();
    const [count, instruments, book] = await reads;
    expect(count).toBe(batch.length);
    expect(instruments.map((i) => [i.symbol, i.snapshots])).toEqual([['CLX5', batch.length]]);
    expect(book).toEqual({ ...batch.row(batch.length - 1), symbol: 'CLX5' });
  });

  it('closing after a replay stopped early, its read ahead still running, leaves the process alive', async () => {
    // Closing DuckDB connections under a running query was a segfault, which
    // killed the process (in CI, vitest's worker) a few dozen closes in: run
    // in a child process, so a crash fails this test with its signal.
    const path = tempPath();
    const store = new DuckDbStore(path);
    await store.init();
    await store.writeSnapshots(clx5FirstBatch(), () => 'CLX5');
    await store.close();
    const script = `
      const { DuckDbStore } = await import(${JSON.stringify(`${ROOT}dist/src/store/duckdb/store.js`)});
      for (let round = 0; round < 60; round++) {
        const store = new DuckDbStore(${JSON.stringify(path)});
        let seen = 0;
        reading: for await (const rows of store.readRange({ symbols: [], pageSize: 64 + (round % 7) * 100 })) {
          for (const _ of rows) if (++seen === 50 + ((round * 13) % 800)) break reading;
        }
        await store.close();
      }
      console.log('closed 60 times');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect({ code, signal, out: out.trim() }).toEqual({ code: 0, signal: null, out: 'closed 60 times' });
  });
});

describe('DuckDB store: re-opened', () => {
  it('a store opened again on its file still adds nothing when the same batch is written again', async () => {
    const path = tempPath();
    const s = clx5FirstBatch();
    const first = new DuckDbStore(path);
    await first.init();
    await first.writeSnapshots(s, () => 'CLX5');
    await first.close();
    const again = new DuckDbStore(path);
    await again.init();
    await again.writeSnapshots(s, () => 'CLX5');
    await again.flush();
    expect(await again.countSnapshots()).toBe(s.length);
    await again.close();
  });
});

describe('DuckDB store: files from earlier versions', () => {
  it('a store whose sizes and counts are DOUBLE is migrated to integer columns on open, keeping its rows', async () => {
    const path = tempPath('old.duckdb');
    const old = await DuckDBInstance.create(path);
    const c = await old.connect();
    // The tables as booktape created them before sizes and counts were integers.
    const asDouble = (sql: string) => INTEGER_COLUMNS.reduce((s, [col, type]) => s.replace(`${col} ${type}`, `${col} ${type.endsWith('[]') ? 'DOUBLE[]' : 'DOUBLE'}`), sql);
    for (const sql of DDL) await c.run(asDouble(sql));
    const before = await c.runAndReadAll(`SELECT data_type FROM information_schema.columns WHERE table_name = 'book_snapshots' AND column_name = 'bid_sz'`);
    expect(before.getRowObjectsJS()[0].data_type).toBe('DOUBLE[]');
    await c.run(`INSERT INTO book_snapshots VALUES (1000, 999, 7, 1, 5, 0, 'OLD', 'A', 'B', 65.4, 3, 130, 0, 10,
      65.4, 3, 65.5, 2, 0.1, false, false, [65.4, 65.3], [3.0, 4.0], [1.0, 2.0], [65.5], [2.0], [1.0])`);
    c.closeSync();
    old.closeSync();

    const store = new DuckDbStore(path);
    await store.init();
    const book = await store.bookAt('OLD');
    expect(book).toMatchObject({ tsRecv: 1000n, bids: [65_400_000_000, 3, 1, 65_300_000_000, 4, 2], asks: [65_500_000_000, 2, 1] });
    // New batches append with the new column types.
    const s = clx5FirstBatch();
    await store.writeSnapshots(s, () => 'CLX5');
    await store.flush();
    expect((await store.listInstruments()).map((i) => [i.symbol, i.snapshots])).toEqual([['CLX5', s.length], ['OLD', 1]]);
    await store.close();
    const check = await (await DuckDBInstance.create(path)).connect();
    const types = await check.runAndReadAll(`SELECT column_name, data_type FROM information_schema.columns
      WHERE table_name = 'book_snapshots' AND column_name IN ('bid_sz', 'bid_ct', 'best_ask_sz') ORDER BY column_name`);
    expect(types.getRowObjectsJS()).toEqual([
      { column_name: 'best_ask_sz', data_type: 'UBIGINT' }, { column_name: 'bid_ct', data_type: 'UINTEGER[]' }, { column_name: 'bid_sz', data_type: 'UBIGINT[]' },
    ]);
    check.closeSync();
  });

  it('runs recorded before Databento sources keep their rows; new runs record cost and billable bytes', async () => {
    const path = tempPath('runs.duckdb');
    const old = await DuckDBInstance.create(path);
    const c = await old.connect();
    await c.run(`CREATE TABLE ingest_runs (
      run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, dataset VARCHAR,
      schema VARCHAR, symbols VARCHAR, records BIGINT, snapshots BIGINT, trades BIGINT,
      anomalies VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR NOT NULL, error VARCHAR)`);
    await c.run(`INSERT INTO ingest_runs VALUES ('old', '/data/a.dbn', '${'ab'.repeat(32)}', 'GLBX.MDP3', 'mbo', '[]', 1, 1, 0, '{}', now(), now(), 'succeeded', NULL)`);
    c.closeSync();
    old.closeSync();
    const store = new DuckDbStore(path);
    await store.init();
    expect(await store.hasIngested('/data/a.dbn')).toBe(true);
    const now = new Date();
    await store.recordRun({
      runId: 'new', source: 'databento:X', sha256: 'cd'.repeat(32), dataset: 'GLBX.MDP3', schema: 'mbo', symbols: ['CLX5'], records: 1, snapshots: 1,
      trades: 0, anomalies: {}, startedAt: now, finishedAt: now, status: 'succeeded', error: null, costUsd: 0.25, billableBytes: 2_139_872,
    });
    await store.close();
    const check = await (await DuckDBInstance.create(path)).connect();
    const runs = await check.runAndReadAll('SELECT run_id, cost_usd, billable_bytes FROM ingest_runs ORDER BY run_id');
    expect(runs.getRowObjectsJS()).toEqual([{ run_id: 'new', cost_usd: 0.25, billable_bytes: 2_139_872n }, { run_id: 'old', cost_usd: null, billable_bytes: null }]);
    check.closeSync();
  });
});

describe('DuckDB store: writes share the event loop', () => {
  // The appender is synchronous. A batch built and appended in one go held
  // the event loop (and every API request of `serve`, where ingestion runs
  // in the same process) for tens of milliseconds; the store now lets the
  // loop run between chunks. Observed through symbolOf, which each chunk's
  // build calls: counted in event-loop turns, not milliseconds.
  it('a large batch is built chunk by chunk, with the event loop let in between', async () => {
    const market = new Market({ depth: 10, intervalNs: 0 }, 8 * CHUNK_ROWS);
    const { batch } = decodeBuffer(readFileSync(CLX5));
    market.apply(batch, batch.start); // stops when the snapshot buffer is full
    const rows = market.snapshots.length;
    expect(rows).toBe(8 * CHUNK_ROWS);
    const store = new DuckDbStore(tempPath());
    await store.init();
    try {
      let turn = 0;
      let writing = true;
      const tick = () => { if (writing) { turn++; setImmediate(tick); } };
      setImmediate(tick);
      const turnsSeenByBuilds = new Set<number>();
      await store.writeSnapshots(market.snapshots, () => { turnsSeenByBuilds.add(turn); return 'CLX5'; });
      writing = false;
      // Before, every chunk was built in the same turn (2 distinct turns in
      // all, with the instant index's pass after the commit); now each chunk
      // is built in a turn of its own.
      expect(turnsSeenByBuilds.size).toBeGreaterThanOrEqual(rows / CHUNK_ROWS);
      expect(await store.countSnapshots()).toBe(rows);
    } finally {
      await store.close();
    }
  });
});
