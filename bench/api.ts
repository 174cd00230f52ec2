/**
 * API benchmarks against a `booktape serve` child process on the embedded store:
 *  - unpaced replay throughput, 1 client and 50 concurrent clients
 *  - pacing accuracy at several rates
 *  - book export latency at 100 concurrent clients (autocannon)
 * Replay and book lookups are each followed by a floor: the same load against
 * a bare HTTP server that only sends fixed bytes (for lookups, also a bare
 * Express app).
 * The store is built once under bench/out (CLX5 plus a synthetic file).
 *   BENCH_API_RECORDS     synthetic records ingested for the replay store (default 700,000:
 *                         ~540k frames, so the rate=50000 pacing run lasts its full 10 s)
 *   BENCH_PACE_SECONDS    length of each pacing run (default 10)
 *   BENCH_LOOKUPS         requests in each book-lookup run (default 2,000)
 *   BENCH_API_ONLY        comma-separated groups to run: replay, pace, export (default all)
 * The replay group also reads the same frames in this process, with the
 * server stopped (DuckDB lets one process open the file): the store's read
 * path and the frame writer without HTTP, and DuckDB alone, each with the
 * CPU it costs a row.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbStore } from '../src/store/duckdb/store.js';
import { SELECT_SNAPSHOT } from '../src/store/duckdb/snapshot-rows.js';
import { FrameWriter } from '../src/encode/frames.js';
import { bareServer, base, dbPath, described, ensureStore, load, ratio, readLines, serve, serverPid, stop, stopped, type Load } from './harness.js';

const paceSeconds = Number(process.env.BENCH_PACE_SECONDS ?? 10);
const lookups = Number(process.env.BENCH_LOOKUPS ?? 2000);

ensureStore();
await serve();

/** Reads a replay, counting frames (lines minus header and end) and bytes. */
async function replay(query: string): Promise<{ frames: number; bytes: number; seconds: number }> {
  const r = await readLines(`${base}/v1/replay?${query}`);
  return { frames: r.lines - 2, bytes: r.bytes, seconds: r.seconds };
}

const instruments = (await (await fetch(`${base}/v1/instruments`)).json()) as Array<{ symbol: string; snapshots: number }>;
const synthSymbols = instruments.filter((i) => i.symbol.startsWith('SYN')).map((i) => i.symbol).join(',');
const total = instruments.filter((i) => i.symbol.startsWith('SYN')).reduce((n, i) => n + i.snapshots, 0);
console.log(`booktape API bench: ${base}, embedded DuckDB store with ${total.toLocaleString('en')} synthetic snapshots + CLX5`);

const only = process.env.BENCH_API_ONLY?.split(',');
const runs = (group: string) => only === undefined || only.includes(group);

if (runs('replay')) {
  // Every symbol in the store, unnamed: the synthetic ones that trade on two
  // publishers would need publisher_id if named.
  // The first replay after the server starts reads the store into DuckDB's buffer pool (cold); the next is held to the target.
  const cold = await replay('');
  console.log(`replay, 1 client, unpaced, cold   ${(cold.frames / cold.seconds / 1e3).toFixed(1)} k frames/s  ${(cold.bytes / cold.seconds / 1e6).toFixed(1)} MB/s  (${cold.frames} frames)`);
  const one = await replay('');
  console.log(`  the same again, warm            ${(one.frames / one.seconds / 1e3).toFixed(1)} k frames/s  ${(one.bytes / one.seconds / 1e6).toFixed(1)} MB/s  (${one.frames} frames)`);

  const t50 = performance.now();
  const many = await Promise.all(Array.from({ length: 50 }, () => replay('symbols=CLX5')));
  const s50 = (performance.now() - t50) / 1000;
  const f50 = many.reduce((n, r) => n + r.frames, 0);
  const b50 = many.reduce((n, r) => n + r.bytes, 0);
  console.log(`replay, 50 clients, unpaced       ${(f50 / s50 / 1e3).toFixed(1)} k frames/s total  ${(b50 / s50 / 1e6).toFixed(1)} MB/s  (${many.every((r) => r.frames === 32_053) ? 'all complete' : 'INCOMPLETE'})`);

  // The floors: as many frames, one real frame (the stream's mean size) repeated, from a bare server; 50 clients as above.
  const lines = (await (await fetch(`${base}/v1/books/SYN0/snapshots?limit=1000&format=ndjson`)).text()).trimEnd().split('\n');
  const mean = one.bytes / (one.frames + 2);
  const frame = Buffer.from(lines.reduce((a, b) => (Math.abs(b.length + 1 - mean) < Math.abs(a.length + 1 - mean) ? b : a)) + '\n');
  for (const [clients, frames, achieved] of [[1, one.frames, one.frames / one.seconds], [50, 32_053, f50 / s50]]) {
    const bare = await bareServer(frame, frames);
    try {
      const t0 = performance.now();
      const r = await Promise.all(Array.from({ length: clients }, () => readLines(bare.url)));
      const rate = r.reduce((n, x) => n + x.lines, 0) / ((performance.now() - t0) / 1000);
      console.log(`  floor: a bare server, ${clients} client${clients > 1 ? 's' : ''}, ${frame.length} B`.padEnd(44) + `${(rate / 1e3).toFixed(1)} k frames/s  -> ${ratio(achieved, rate, '40%')}`);
    } finally {
      await bare.close();
    }
  }

  await stopped();
  const symbols = synthSymbols.split(',');
  const read = await readInProcess(symbols, false);
  const framed = await readInProcess(symbols, true);
  const scan = await duckdbAlone(symbols);
  console.log(`  in process, no HTTP: read ${perSecond(read)} k rows/s, read and framed ${perSecond(framed)} k frames/s; CPU ${cpuPerRow(read)} and ${cpuPerRow(framed)} µs a row (medians of 3 passes)`);
  console.log(`  DuckDB alone, the same rows: ${perSecond(scan)} k rows/s, CPU ${cpuPerRow(scan)} µs a row (unordered, no rows built)`);
  await serve();
}

/** A timed pass: rows, wall seconds, and CPU seconds of this process (every thread, DuckDB's included). */
interface Pass { rows: number; seconds: number; cpuSeconds: number }
function perSecond(p: Pass): string { return (p.rows / p.seconds / 1e3).toFixed(1); }
function cpuPerRow(p: Pass): string { return ((p.cpuSeconds / p.rows) * 1e6).toFixed(2); }

/** Times 3 passes of `pass` (which returns the rows it read) and returns the one of median rate. */
async function medianOf3(pass: () => Promise<number>): Promise<Pass> {
  const passes: Pass[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const rows = await pass();
    const c = process.cpuUsage(c0);
    passes.push({ rows, seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 });
  }
  return passes.sort((a, b) => a.rows / a.seconds - b.rows / b.seconds)[1];
}

/** Reads the rows of `symbols` through readRange (and the frame writer, when `frames`) in this process. */
async function readInProcess(symbols: string[], frames: boolean): Promise<Pass> {
  const store = new DuckDbStore(dbPath);
  try {
    return await medianOf3(async () => {
      const writer = new FrameWriter(80 * 1024);
      let rows = 0;
      for await (const batch of store.readRange({ symbols })) {
        rows += batch.length;
        if (!frames) continue;
        for (const s of batch) {
          writer.frame(s, 10, true);
          if (writer.length >= 64 * 1024) writer.take();
        }
      }
      return rows;
    });
  } finally {
    await store.close();
  }
}

/**
 * The same rows as one DuckDB query of the columns readRange selects,
 * fetched chunk by chunk and not read: DuckDB's own share of a replay.
 */
async function duckdbAlone(symbols: string[]): Promise<Pass> {
  const db = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const c = await db.connect();
  try {
    return await medianOf3(async () => {
      const result = await c.stream(`${SELECT_SNAPSHOT} WHERE symbol IN (${symbols.map((_, k) => `$${k + 1}`).join(', ')})`, symbols);
      let rows = 0;
      for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) rows += chunk.rowCount;
      return rows;
    });
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

if (runs('pace')) for (const rate of [50_000, 200_000, 500_000]) {
  const want = Math.min(total, Math.round(rate * paceSeconds));
  const r = await replay(`rate=${rate}`);
  const frames = Math.min(r.frames, want);
  const achieved = r.frames / r.seconds;
  const note = r.frames < rate * paceSeconds ? ` (the store holds ${r.frames} frames: a ${(r.frames / rate).toFixed(1)} s run)` : '';
  console.log(`replay at rate=${rate}`.padEnd(35) + `${(achieved / 1e3).toFixed(1)} k frames/s achieved, ${(((achieved - rate) / rate) * 100).toFixed(1)}% off target over ${r.seconds.toFixed(1)} s${note}; ${frames} frames`);
}

/**
 * 100 connections (autocannon: one request in flight on each, as 100
 * concurrent clients), `lookups` requests in all, for the book of `symbol` at 997
 * distinct instants spread evenly over [first, first + span]. Connection c's
 * k-th request asks for instant number ((20c + k) * stride) mod 997: stride 1
 * keeps each connection near one point in time, as a user stepping through a
 * chart does; a large stride makes consecutive requests far apart. `pid`:
 * the server's process, whose CPU time per request the load reports.
 */
function bookLoad(target: string, pid: number, symbol: string, first: bigint, span: bigint, stride = 1): Promise<Load> {
  return load(target, pid, lookups, (client, k) => {
    const n = ((client * 20 + k) * stride) % 997;
    return `/v1/books/${symbol}?at=${first + (span * BigInt(n)) / 997n}&depth=10`;
  });
}

/**
 * A lookup floor: the same load, with `symbol`'s latest book as one fixed
 * reply, from a bare node:http server or a bare Express app, after an
 * untimed pass of the same load.
 */
async function bookFloor(symbol: string, express: boolean): Promise<{ load: Load; bytes: number }> {
  const reply = Buffer.from(await (await fetch(`${base}/v1/books/${symbol}?depth=10`)).arrayBuffer());
  const bare = await bareServer(reply, 1, express);
  try {
    await bookLoad(bare.url, bare.pid, symbol, 0n, 0n);
    return { load: await bookLoad(bare.url, bare.pid, symbol, 0n, 0n), bytes: reply.length };
  } finally {
    await bare.close();
  }
}

if (runs('export')) {
  const [syn, other] = ['SYN0', 'SYN2'].map((symbol) => {
    const i = instruments.find((x) => x.symbol === symbol) as unknown as { first_ts_recv: string; last_ts_recv: string };
    return { symbol, first: BigInt(i.first_ts_recv), span: BigInt(i.last_ts_recv) - BigInt(i.first_ts_recv) };
  });
  const cases = [
    // CLX5's 2.5 hours (~32k snapshots, 32 blocks of 1,024 instants).
    { label: 'book lookup, 100 concurrent, CLX5', symbol: 'CLX5', first: 1758742200001385399n, span: 9_000_000_000_000n, stride: 1 },
    // A synthetic symbol's whole range (~90k snapshots: 88 blocks, ~60 MB as counted, in a 256 MB cache).
    { label: '  a larger book (SYN0)', ...syn, stride: 1 },
    // Another symbol, consecutive requests ~5 blocks apart, cycling through all of them.
    { label: '  scattered (SYN2)', ...other, stride: 37 },
  ];
  for (const c of cases) {
    // Warm-up, stated: the same load once, untimed; it reads each block the timed pass asks for.
    await bookLoad(base, serverPid(), c.symbol, c.first, c.span, c.stride);
    const r = await bookLoad(base, serverPid(), c.symbol, c.first, c.span, c.stride);
    console.log(`${c.label}, warmed`.padEnd(44) + described(r));
    const floor = await bookFloor(c.symbol, true);
    console.log(`  floor: bare Express, ${floor.bytes} B`.padEnd(44) + described(floor.load)
      + `  -> p50 ${(r.p50 / floor.load.p50).toFixed(2)}x (target <= 1.5x), p99 ${(r.p99 / floor.load.p99).toFixed(2)}x (target <= 2x)`);
  }
  // What any request costs this app before its route's own work: the cheapest route, under the same load.
  await load(base, serverPid(), lookups, () => '/healthz');
  console.log('  the API\'s /healthz, the same load'.padEnd(44) + described(await load(base, serverPid(), lookups, () => '/healthz')));
  // The first pass on a cold cache, in a fresh server whose cache holds fewer blocks (~45) than the 100 clients step through.
  await stopped();
  await serve({ BOOKTAPE_DUCKDB_BOOK_CACHE_MB: '32' });
  console.log('  a larger book, 32 MB cache, cold'.padEnd(44) + described(await bookLoad(base, serverPid(), syn.symbol, syn.first, syn.span)));
  const bare = await bookFloor('CLX5', false);
  console.log(`  floor: a bare server, ${bare.bytes} B`.padEnd(44) + described(bare.load));
}
stop();
process.exit(0);
