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
import { base, bareServer, dbnCounter, ensureStore, lateness, lineCounter, ratio, receive, serve } from './harness.js';

const paceSeconds = Number(process.env.BENCH_PACE_SECONDS ?? 10);
const MBP10 = 368;

ensureStore();
await serve();
const instruments = (await (await fetch(`${base}/v1/instruments`)).json()) as Array<{ symbol: string; snapshots: number }>;
const synth = instruments.filter((i) => i.symbol.startsWith('SYN'));
const total = synth.reduce((n, i) => n + i.snapshots, 0);
console.log(`booktape replay bench (DBN and paced): ${base}, ${total.toLocaleString('en')} synthetic snapshots`);

// DBN, one client, unpaced, and its floor.
// Every symbol in the store, unnamed: the synthetic ones that trade on two
// publishers would need publisher_id if named.
// The first replay after the server starts reads the store's blocks from disk into DuckDB's
// buffer pool; the second, the one held to the target, finds them there, as a serving server does.
const cold = await receive(`${base}/v1/replay?format=dbn`, dbnCounter(MBP10));
console.log(`replay format=dbn, 1 client, unpaced, cold`.padEnd(44) + `${(cold.units / cold.seconds / 1e3).toFixed(1)} k records/s  ${(cold.bytes / cold.seconds / 1e6).toFixed(1)} MB/s  (${cold.units} records)`);
const dbn = await receive(`${base}/v1/replay?format=dbn`, dbnCounter(MBP10));
const dbnRate = dbn.units / dbn.seconds;
console.log(`  the same again, warm`.padEnd(44) + `${(dbnRate / 1e3).toFixed(1)} k records/s  ${(dbn.bytes / dbn.seconds / 1e6).toFixed(1)} MB/s  (${dbn.units} records; target 500 k/s: ${dbnRate >= 500_000 ? 'met' : 'NOT met'})`);
const metaLength = 8 + dbn.head.readUInt32LE(4);
const record = dbn.head.subarray(metaLength, metaLength + MBP10);
const bare = await bareServer(record, dbn.units, false, dbn.head.subarray(0, metaLength));
try {
  const floor = await receive(bare.url, dbnCounter(MBP10));
  const floorRate = floor.units / floor.seconds;
  console.log(`  floor: a bare server, the same bytes`.padEnd(44) + `${(floorRate / 1e3).toFixed(1)} k records/s  ${(floor.bytes / floor.seconds / 1e6).toFixed(1)} MB/s  -> ${ratio(dbnRate, floorRate, '50%')}`);
} finally {
  await bare.close();
}

for (const [format, rate] of [['dbn', 50_000], ['dbn', 500_000], ['ndjson', 50_000]] as const) {
  const want = Math.min(total, Math.round(rate * paceSeconds));
  const r = await receive(`${base}/v1/replay?format=${format}&rate=${rate}`, format === 'dbn' ? dbnCounter(MBP10) : lineCounter);
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
