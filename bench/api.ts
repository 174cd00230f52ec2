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
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbStore } from '../src/store/duckdb/store.js';
import { SELECT_SNAPSHOT } from '../src/store/duckdb/snapshot-rows.js';
import { FrameWriter } from '../src/encode/frames.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = `${root}bench/out`;
const cli = `${root}dist/src/cli.js`;
const records = Number(process.env.BENCH_API_RECORDS ?? 700_000);
const paceSeconds = Number(process.env.BENCH_PACE_SECONDS ?? 10);
const lookups = Number(process.env.BENCH_LOOKUPS ?? 2000);
const dbPath = `${out}/api-${records}.duckdb`;
const PORT = 18_181;
const env = {
  ...process.env, BOOKTAPE_DUCKDB_PATH: dbPath, BOOKTAPE_DATA_ROOTS: out, PORT: String(PORT), BOOKTAPE_TCP_PORT: '18182',
  LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:1', // reads only: the bench needs no jobs
};
const base = `http://127.0.0.1:${PORT}`;
const require = createRequire(import.meta.url);

mkdirSync(out, { recursive: true });
if (!existsSync(dbPath)) {
  const synth = `${out}/synth-${records}.dbn`;
  if (!existsSync(synth)) execFileSync('node', [cli, 'synth', synth, '--records', String(records), '--seed', '1'], { stdio: 'inherit' });
  copyFileSync(`${root}data/CLX5_mbo.dbn`, `${out}/CLX5_mbo.dbn`);
  process.stderr.write(`bench: building ${dbPath}\n`);
  for (const f of [`${out}/CLX5_mbo.dbn`, synth]) execFileSync('node', [cli, 'ingest', f], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

let server: ChildProcess | null = null;
/** Starts `booktape serve` on the bench store (with `settings` over the bench's); the last one must have stopped (stopped()). */
async function serve(settings: Record<string, string> = {}): Promise<void> {
  server = spawn('node', [cli, 'serve'], { env: { ...env, ...settings }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    if (i > 100) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}
const stop = () => server?.kill('SIGTERM');
/** Stops the server and waits for it to exit: DuckDB lets one process open the store, this one or the next server. */
async function stopped(): Promise<void> {
  if (server === null || server.exitCode !== null) return;
  const exit = once(server, 'exit');
  stop();
  await exit;
}
process.on('exit', stop);
await serve();

/** Reads an NDJSON stream, counting its lines and bytes. */
async function readLines(url: string): Promise<{ lines: number; bytes: number; seconds: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    // memchr, not a JS loop over every byte: the client shares the server's cores.
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
  }
  return { lines, bytes, seconds: (performance.now() - t0) / 1000 };
}

/** Reads a replay, counting frames (lines minus header and end) and bytes. */
async function replay(query: string): Promise<{ frames: number; bytes: number; seconds: number }> {
  const r = await readLines(`${base}/v1/replay?${query}`);
  return { frames: r.lines - 2, bytes: r.bytes, seconds: r.seconds };
}

/**
 * A bare server in another process, as the API is: it answers every request
 * with `reply` written `times` times over (in chunks of about 64 KB, waiting
 * for 'drain'), and does nothing else. The same load against it gives this
 * machine's floor: with node:http, no server here does better; with
 * `express`, no Express app (as the API is) does better.
 */
async function bareServer(reply: Buffer, times = 1, express = false): Promise<{ url: string; close: () => Promise<void> }> {
  const port = PORT + 10;
  const handler = `async (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': reply.length * times });
      for (let left = times; left > 0; left -= per) {
        if (!res.write(left >= per ? chunk : chunk.subarray(0, left * reply.length))) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    }`;
  const app = express ? `require(${JSON.stringify(require.resolve('express'))})().use(${handler})` : handler;
  const bare = spawn('node', ['-e', `
    const reply = Buffer.from(process.argv[1], 'base64');
    const times = Number(process.argv[2]);
    const per = Math.max(1, Math.min(times, Math.floor(65536 / reply.length)));
    const chunk = Buffer.concat(Array(per).fill(reply));
    require('node:http').createServer(${app}).listen(${port}, '127.0.0.1', () => process.stdout.write('up'));`, reply.toString('base64'), String(times)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const gone = once(bare, 'exit');
  const exited = gone.then(([code]) => { throw new Error(`the bare server exited (${code}) before it listened`); });
  await Promise.race([once(bare.stdout, 'data'), exited]);
  exited.catch(() => undefined); // killed later, on purpose
  // Closed once it has exited, so that the next bare server can take the port.
  return { url: `http://127.0.0.1:${port}`, close: async () => { bare.kill(); await gone; } };
}

const instruments = (await (await fetch(`${base}/v1/instruments`)).json()) as Array<{ symbol: string; snapshots: number }>;
const synthSymbols = instruments.filter((i) => i.symbol.startsWith('SYN')).map((i) => i.symbol).join(',');
const total = instruments.filter((i) => i.symbol.startsWith('SYN')).reduce((n, i) => n + i.snapshots, 0);
console.log(`booktape API bench: ${base}, embedded DuckDB store with ${total.toLocaleString('en')} synthetic snapshots + CLX5`);

const only = process.env.BENCH_API_ONLY?.split(',');
const runs = (group: string) => only === undefined || only.includes(group);

if (runs('replay')) {
  const one = await replay(`symbols=${synthSymbols}`);
  console.log(`replay, 1 client, unpaced         ${(one.frames / one.seconds / 1e3).toFixed(1)} k frames/s  ${(one.bytes / one.seconds / 1e6).toFixed(1)} MB/s  (${one.frames} frames)`);

  const t50 = performance.now();
  const many = await Promise.all(Array.from({ length: 50 }, () => replay('symbols=CLX5')));
  const s50 = (performance.now() - t50) / 1000;
  const f50 = many.reduce((n, r) => n + r.frames, 0);
  const b50 = many.reduce((n, r) => n + r.bytes, 0);
  console.log(`replay, 50 clients, unpaced       ${(f50 / s50 / 1e3).toFixed(1)} k frames/s total  ${(b50 / s50 / 1e6).toFixed(1)} MB/s  (${many.every((r) => r.frames === 32_053) ? 'all complete' : 'INCOMPLETE'})`);

  // The floor: as many frames, one real frame (the stream's mean size) repeated, from a bare server.
  const lines = (await (await fetch(`${base}/v1/books/SYN0/snapshots?limit=1000&format=ndjson`)).text()).trimEnd().split('\n');
  const mean = one.bytes / (one.frames + 2);
  const frame = Buffer.from(lines.reduce((a, b) => (Math.abs(b.length + 1 - mean) < Math.abs(a.length + 1 - mean) ? b : a)) + '\n');
  const bare = await bareServer(frame, one.frames);
  try {
    const r = await readLines(bare.url);
    console.log(`  floor: a bare server, ${frame.length} B`.padEnd(35) + `${(r.lines / r.seconds / 1e3).toFixed(1)} k frames/s  ${(r.bytes / r.seconds / 1e6).toFixed(1)} MB/s`);
  } finally {
    await bare.close();
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
  const r = await replay(`symbols=${synthSymbols}&rate=${rate}`);
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
 * chart does; a large stride makes consecutive requests far apart.
 */
async function bookLoad(target: string, symbol: string, first: bigint, span: bigint, stride = 1): Promise<string> {
  let clients = 0;
  const t0 = performance.now();
  let last = t0;
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const run = autocannon({
      url: target, connections: 100, amount: lookups, timeout: 30,
      requests: [{
        setupRequest: (req, context: { client?: number; k?: number }) => {
          if (context.client === undefined) [context.client, context.k] = [clients++, 0];
          const n = ((context.client * 20 + context.k!++) * stride) % 997;
          return { ...req, path: `/v1/books/${symbol}?at=${first + (span * BigInt(n)) / 997n}&depth=10` };
        },
      }],
    }, (err, result) => (err ? reject(err) : resolve(result)));
    // autocannon ends a run on its next 1-second tick: the rate is taken up to the last reply.
    run.on('response', () => { last = performance.now(); });
  });
  const errors = r.errors + r.timeouts + r.non2xx;
  return `p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  ${(r.requests.total / ((last - t0) / 1000)).toFixed(0)} req/s  errors ${errors}/${r.requests.total}`;
}

/**
 * The floors of the lookups: the same load, with one fixed book reply, from
 * a bare node:http server and from a bare Express app (each after an
 * untimed pass).
 */
async function bookFloor(symbol: string): Promise<void> {
  const reply = Buffer.from(await (await fetch(`${base}/v1/books/${symbol}?depth=10`)).arrayBuffer());
  for (const express of [false, true]) {
    const bare = await bareServer(reply, 1, express);
    try {
      await bookLoad(bare.url, symbol, 0n, 0n);
      const label = `  floor: ${express ? 'bare Express' : 'a bare server'}, ${reply.length} B`;
      console.log(label.padEnd(35) + (await bookLoad(bare.url, symbol, 0n, 0n)));
    } finally {
      await bare.close();
    }
  }
}

if (runs('export')) {
  // CLX5's first 2.5 hours (~32k snapshots): after the first reads, the blocks that hold these instants are in memory.
  console.log('book export, 100 concurrent'.padEnd(35) + (await bookLoad(base, 'CLX5', 1758742200001385399n, 9_000_000_000_000n)));
  // A synthetic symbol's whole range (~90k snapshots: 88 blocks of 1,024 instants, ~60 MB as counted, in a 256 MB cache).
  const [syn, other] = ['SYN0', 'SYN2'].map((symbol) => {
    const i = instruments.find((x) => x.symbol === symbol) as unknown as { first_ts_recv: string; last_ts_recv: string };
    return { symbol, first: BigInt(i.first_ts_recv), span: BigInt(i.last_ts_recv) - BigInt(i.first_ts_recv) };
  });
  console.log('  same, a larger book'.padEnd(35) + (await bookLoad(base, syn.symbol, syn.first, syn.span)));
  // Another symbol (none of its blocks read before), consecutive requests ~5 blocks apart, cycling through all of them.
  console.log('  same, scattered'.padEnd(35) + (await bookLoad(base, other.symbol, other.first, other.span, 37)));
  // The larger book again, in a fresh server whose cache holds fewer blocks (~45) than the 100 clients step through.
  await stopped();
  await serve({ BOOKTAPE_DUCKDB_BOOK_CACHE_MB: '32' });
  console.log('  a larger book, 32 MB cache'.padEnd(35) + (await bookLoad(base, syn.symbol, syn.first, syn.span)));
  await bookFloor('CLX5');
}
stop();
process.exit(0);
