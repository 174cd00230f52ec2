/**
 * API benchmarks against a `booktape serve` child process on the embedded store:
 *  - unpaced replay throughput, 1 client and 50 concurrent clients
 *  - pacing accuracy at several rates
 *  - book export latency at 100 concurrent clients
 * The store is built once under bench/out (CLX5 plus a synthetic file).
 *   BENCH_API_RECORDS     synthetic records ingested for the replay store (default 700,000:
 *                         ~540k frames, so the rate=50000 pacing run lasts its full 10 s)
 *   BENCH_PACE_SECONDS    length of each pacing run (default 10)
 *   BENCH_API_ONLY        comma-separated groups to run: replay, pace, export (default all)
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = `${root}bench/out`;
const cli = `${root}dist/src/cli.js`;
const records = Number(process.env.BENCH_API_RECORDS ?? 700_000);
const paceSeconds = Number(process.env.BENCH_PACE_SECONDS ?? 10);
const dbPath = `${out}/api-${records}.duckdb`;
const PORT = 18_181;
const env = {
  ...process.env, BOOKTAPE_DUCKDB_PATH: dbPath, BOOKTAPE_DATA_ROOTS: out, PORT: String(PORT), BOOKTAPE_TCP_PORT: '18182',
  LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:1', // reads only: the bench needs no jobs
};
const base = `http://127.0.0.1:${PORT}`;

mkdirSync(out, { recursive: true });
if (!existsSync(dbPath)) {
  const synth = `${out}/synth-${records}.dbn`;
  if (!existsSync(synth)) execFileSync('node', [cli, 'synth', synth, '--records', String(records), '--seed', '1'], { stdio: 'inherit' });
  copyFileSync(`${root}data/CLX5_mbo.dbn`, `${out}/CLX5_mbo.dbn`);
  process.stderr.write(`bench: building ${dbPath}\n`);
  for (const f of [`${out}/CLX5_mbo.dbn`, synth]) execFileSync('node', [cli, 'ingest', f], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

const server = spawn('node', [cli, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => server.kill('SIGTERM');
process.on('exit', stop);
for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
  if (i > 100) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 100));
}

/** Reads a replay, counting frames (lines minus header and end) and bytes. */
async function replay(query: string): Promise<{ frames: number; bytes: number; seconds: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/replay?${query}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    // memchr, not a JS loop over every byte: the client shares the server's cores.
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
  }
  return { frames: lines - 2, bytes, seconds: (performance.now() - t0) / 1000 };
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
 * 100 clients, 20 requests each, for the book of `symbol` at 997 distinct
 * instants spread evenly over [first, first + span]. Client c's k-th request
 * asks for instant number ((20c + k) * stride) mod 997: stride 1 keeps each
 * client near one point in time, as a user stepping through a chart does;
 * a large stride makes consecutive requests far apart.
 */
async function exportLatency(label: string, symbol: string, first: bigint, span: bigint, stride = 1): Promise<void> {
  if (!runs('export')) return;
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 100 }, async (_, c) => {
    for (let k = 0; k < 20; k++) {
      const at = first + (span * BigInt(((c * 20 + k) * stride) % 997)) / 997n;
      const t = performance.now();
      const res = await fetch(`${base}/v1/books/${symbol}?at=${at}&depth=10`);
      await res.arrayBuffer();
      lat.push(performance.now() - t);
      if (!res.ok) errors++;
    }
  }));
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  console.log(`${label.padEnd(35)}p50 ${pct(0.5).toFixed(1)} ms  p99 ${pct(0.99).toFixed(1)} ms  ${(lat.length / ((performance.now() - t0) / 1000)).toFixed(0)} req/s  errors ${errors}/${lat.length}`);
}

// CLX5's first 2.5 hours (~32k snapshots): after the first reads, the blocks that hold these instants are in memory.
await exportLatency('book export, 100 concurrent', 'CLX5', 1758742200001385399n, 9_000_000_000_000n);
// A synthetic symbol's whole range (~135k snapshots in 132 blocks of 1,024 instants, twice what bookAt keeps).
const syn = instruments.find((i) => i.symbol.startsWith('SYN')) as unknown as { symbol: string; first_ts_recv: string; last_ts_recv: string };
const synFirst = BigInt(syn.first_ts_recv);
const synSpan = BigInt(syn.last_ts_recv) - synFirst;
await exportLatency('  same, a larger book', syn.symbol, synFirst, synSpan);
// Consecutive requests ~5 blocks apart, cycling through all of them, at
// instants half a step from the previous case's (none cached by it).
await exportLatency('  same, scattered', syn.symbol, synFirst + synSpan / 1994n, synSpan, 37);
stop();
process.exit(0);
