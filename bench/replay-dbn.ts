/**
 * Replay in DBN (format=dbn) and paced replays, against a `booktape serve`
 * child process on the bench store (bench/harness.ts), each figure beside
 * its floor or target and the ratio:
 *  - DBN, one client, unpaced, cold (the first replay) and warm (the next):
 *    records/s against a bare server sending the same bytes (the stream's
 *    metadata, then as many MBP-10 records)
 *  - paced replays (DBN at 50k and 500k records/s, NDJSON at 50k frames/s):
 *    the rate achieved, and each frame's lateness against its schedule
 *    (arrival minus first arrival plus n / rate), p50 / p99 / max
 *   BENCH_PACE_SECONDS   length of each paced run (default 10; the store's frames may end it sooner, which is printed)
 */
import { base, bareServer, ensureStore, ratio, serve } from './harness.js';

const paceSeconds = Number(process.env.BENCH_PACE_SECONDS ?? 10);
const MBP10 = 368;

ensureStore();
await serve();
const instruments = (await (await fetch(`${base}/v1/instruments`)).json()) as Array<{ symbol: string; snapshots: number }>;
const synth = instruments.filter((i) => i.symbol.startsWith('SYN'));
const total = synth.reduce((n, i) => n + i.snapshots, 0);
console.log(`booktape replay bench (DBN and paced): ${base}, ${total.toLocaleString('en')} synthetic snapshots`);

/**
 * Reads a stream; per chunk, calls `count` for the units (records, lines)
 * that completed in it, and records each unit's arrival time.
 */
async function receive(url: string, count: (chunk: Buffer) => number): Promise<{ units: number; bytes: number; seconds: number; arrivals: Float64Array; head: Buffer }> {
  const t0 = performance.now();
  const res = await fetch(url);
  let bytes = 0;
  let units = 0;
  let arrivals = new Float64Array(1 << 16);
  let head = Buffer.alloc(0);
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const now = performance.now();
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (head.length < 4096) head = Buffer.concat([head, buf.subarray(0, 4096 - head.length)]);
    bytes += buf.length;
    const n = count(buf);
    if (units + n > arrivals.length) {
      const grown = new Float64Array(Math.max(arrivals.length * 2, units + n));
      grown.set(arrivals);
      arrivals = grown;
    }
    arrivals.fill(now, units, units + n);
    units += n;
  }
  return { units, bytes, seconds: (performance.now() - t0) / 1000, arrivals: arrivals.subarray(0, units), head };
}

/** Whole MBP-10 records in a DBN stream read chunk by chunk (the metadata first, its length from the prelude). */
function dbnCounter(): (chunk: Buffer) => number {
  let skip = -1;
  let prelude = Buffer.alloc(0);
  let partial = 0;
  return (chunk) => {
    if (skip < 0) {
      prelude = Buffer.concat([prelude, chunk]);
      if (prelude.length < 8) return 0;
      skip = 8 + prelude.readUInt32LE(4);
      chunk = prelude;
    }
    const take = Math.min(skip, chunk.length);
    skip -= take;
    const bytes = partial + chunk.length - take;
    partial = bytes % MBP10;
    return (bytes - partial) / MBP10;
  };
}

/** Lines in an NDJSON stream's chunk. */
function lineCounter(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

// DBN, one client, unpaced, and its floor.
// Every symbol in the store, unnamed: the synthetic ones that trade on two
// publishers would need publisher_id if named.
// The first replay after the server starts reads the store's blocks from disk into DuckDB's
// buffer pool; the second, the one held to the target, finds them there, as a serving server does.
const cold = await receive(`${base}/v1/replay?format=dbn`, dbnCounter());
console.log(`replay format=dbn, 1 client, unpaced, cold`.padEnd(44) + `${(cold.units / cold.seconds / 1e3).toFixed(1)} k records/s  ${(cold.bytes / cold.seconds / 1e6).toFixed(1)} MB/s  (${cold.units} records)`);
const dbn = await receive(`${base}/v1/replay?format=dbn`, dbnCounter());
const dbnRate = dbn.units / dbn.seconds;
console.log(`  the same again, warm`.padEnd(44) + `${(dbnRate / 1e3).toFixed(1)} k records/s  ${(dbn.bytes / dbn.seconds / 1e6).toFixed(1)} MB/s  (${dbn.units} records; target 500 k/s: ${dbnRate >= 500_000 ? 'met' : 'NOT met'})`);
const metaLength = 8 + dbn.head.readUInt32LE(4);
const record = dbn.head.subarray(metaLength, metaLength + MBP10);
const bare = await bareServer(record, dbn.units, false, dbn.head.subarray(0, metaLength));
try {
  const floor = await receive(bare.url, dbnCounter());
  const floorRate = floor.units / floor.seconds;
  console.log(`  floor: a bare server, the same bytes`.padEnd(44) + `${(floorRate / 1e3).toFixed(1)} k records/s  ${(floor.bytes / floor.seconds / 1e6).toFixed(1)} MB/s  -> ${ratio(dbnRate, floorRate, '50%')}`);
} finally {
  await bare.close();
}

/** Lateness of each unit against a schedule of `rate` a second from the first arrival: p50, p99, max in ms. */
function lateness(arrivals: Float64Array, rate: number): string {
  const late = new Float64Array(arrivals.length);
  for (let n = 0; n < arrivals.length; n++) late[n] = arrivals[n] - (arrivals[0] + (n * 1000) / rate);
  late.sort();
  const at = (q: number) => late[Math.min(late.length - 1, Math.floor(q * late.length))].toFixed(1);
  return `lateness p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

for (const [format, rate] of [['dbn', 50_000], ['dbn', 500_000], ['ndjson', 50_000]] as const) {
  const want = Math.min(total, Math.round(rate * paceSeconds));
  const r = await receive(`${base}/v1/replay?format=${format}&rate=${rate}`, format === 'dbn' ? dbnCounter() : lineCounter);
  // NDJSON: the header and end lines are not frames.
  const arrivals = format === 'dbn' ? r.arrivals : r.arrivals.subarray(1, r.arrivals.length - 1);
  const timed = arrivals.subarray(0, want);
  const seconds = (timed[timed.length - 1] - timed[0]) / 1000;
  const achieved = (timed.length - 1) / seconds;
  const off = ((achieved - rate) / rate) * 100;
  const note = timed.length < rate * paceSeconds ? ` (the store holds ${timed.length} frames: a ${seconds.toFixed(1)} s run)` : '';
  console.log(`replay ${format} at rate=${rate}`.padEnd(44) + `${(achieved / 1e3).toFixed(1)} k/s achieved, ${off.toFixed(2)}% off (target within 2%) over ${seconds.toFixed(1)} s${note}; ${lateness(timed, rate)} (target p99 < 10 ms)`);
}
process.exit(0);
