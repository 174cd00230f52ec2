/**
 * The L3 side's benchmarks (issue 33), each figure beside its floor or
 * target, measured in one run:
 *  - ingest with MBO stored against without, into the embedded store (the
 *    whole pipeline on a synthetic file): it may lose at most a third;
 *  - with QDB_CLIENT_CONF: the QuestDB store writing every row of that file
 *    (snapshots, trades, MBO events, checkpoints) against the server's own
 *    rate for the same rows pre-encoded and POSTed to /write (60%); orders
 *    lookups against depth lookups at 100 concurrent clients, in process;
 *  - bytes a stored MBO event and a checkpoint take, each store;
 *  - over HTTP, against a `booktape serve` on the bench store (harness.ts):
 *    orders lookups against depth lookups at 100 connections (p99 within
 *    3x), MBO replay unpaced against the snapshot replay of the same store
 *    (NDJSON and DBN), and paced at 50,000 records/s (within 2%, p99
 *    lateness under 10 ms).
 *   BENCH_L3_RECORDS   records of the synthetic file the ingest cases use (default 1,000,000)
 *   BENCH_LOOKUPS      requests in each lookup run (default 2,000)
 *   BENCH_PACE_SECONDS length of the paced runs (default 10)
 *   BENCH_L3_ONLY      comma-separated groups: ingest, bytes, http (default all)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Agent } from 'undici';
import { Market } from '../src/book/market.js';
import { SnapshotBuffer } from '../src/book/snapshot-buffer.js';
import { TradeBuffer } from '../src/book/trade-buffer.js';
import { MboEventBuffer } from '../src/book/event-buffer.js';
import { CheckpointBuffer } from '../src/book/checkpoint-buffer.js';
import { decodeBuffer } from '../src/dbn/index.js';
import { ingest } from '../src/pipeline/ingest.js';
import { DuckDbStore } from '../src/store/duckdb/store.js';
import { ordersAt } from '../src/store/l3.js';
import type { SymbolOf } from '../src/store/port.js';
import { execEndpoint } from '../src/store/questdb/connection.js';
import { IlpRequest, appendSnapshots, appendTrades, symbolTags } from '../src/store/questdb/ilp.js';
import { appendCheckpoints, appendMboEvents } from '../src/store/questdb/mbo.js';
import { DEFAULT_REQUEST_BYTES, QuestDbStore } from '../src/store/questdb/store.js';
import { symbolsByInstrument } from '../src/dbn/metadata.js';
import { storedOrdersJson } from '../src/encode/book-json.js';
import {
  base, cli, dbnCounter, described, ensureStore, lateness, lineCounter, load, out, receive, serve, serverPid, stop,
} from './harness.js';

const conf = process.env.QDB_CLIENT_CONF;
const records = Number(process.env.BENCH_L3_RECORDS ?? 1_000_000);
const lookups = Number(process.env.BENCH_LOOKUPS ?? 2000);
const paceSeconds = Number(process.env.BENCH_PACE_SECONDS ?? 10);
const only = process.env.BENCH_L3_ONLY?.split(',');
const runs = (group: string) => only === undefined || only.includes(group);
/** The checkpoint policy of the defaults (BOOKTAPE_CHECKPOINT_EVERY, BOOKTAPE_CHECKPOINT_EVENTS). */
const L3 = { everyNs: 60e9, events: 1000 };
const TABLES = ['book_snapshots', 'trades', 'ingest_runs', 'mbo_events', 'order_checkpoints'];

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
const line = (label: string, text: string) => console.log(`${label.padEnd(60)} ${text}`);
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

const file = `${out}/synth-${records}.dbn`;
mkdirSync(out, { recursive: true });
if (!existsSync(file)) execFileSync('node', [cli, 'synth', file, '--records', String(records), '--seed', '1', '--instruments', '4'], { stdio: 'inherit' });
const symbols = symbolsByInstrument(decodeBuffer(readFileSync(file)).metadata);
const symbolOf: SymbolOf = (id) => symbols.get(id) ?? null;
console.log(`booktape L3 bench: ${records.toLocaleString('en')} synthetic records (${file}); checkpoints every ${L3.everyNs / 1e9} s or ${L3.events} events`);

const policy = (l3: boolean) => ({ depth: 10, intervalNs: 0, ...(l3 ? { l3: L3 } : {}) });
const sourcePolicy = { dataRoots: [dirname(file)], allowHosts: [], maxBytes: Infinity, timeoutMs: 10_000, maxRedirects: 0 };
const freshDuck = async () => {
  const s = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-l3-bench-')), 'bench.duckdb'));
  await s.init();
  return s;
};

/** Everything the engine captures from the file with L3 on, in batches of 8,192 rows, as ingest writes them. */
function captured() {
  const market = new Market({ ...policy(true), trades: true }, 8192);
  const { batch } = decodeBuffer(readFileSync(file));
  const batches = [];
  for (let o = batch.start; o < batch.end; ) {
    o = market.apply(batch, o);
    batches.push({
      snapshots: SnapshotBuffer.adopt(market.snapshots.exportRows()),
      trades: TradeBuffer.adopt(market.trades.exportRows()),
      events: MboEventBuffer.adopt(market.events.exportEvents()),
      checkpoints: CheckpointBuffer.adopt(market.checkpoints.exportRows()),
    });
    market.clearCaptured();
  }
  return batches;
}
type Batches = ReturnType<typeof captured>;
const count = (b: Batches, k: keyof Batches[number]) => b.reduce((n, x) => n + x[k].length, 0);

/** Every row of the batches as ILP requests of the store's size. */
function encodeAll(batches: Batches): Buffer[] {
  const tags = symbolTags(symbolOf);
  const requests: Buffer[] = [];
  const all = (length: number, append: (req: IlpRequest, from: number) => number) => {
    for (let from = 0; from < length;) {
      const req = new IlpRequest(DEFAULT_REQUEST_BYTES);
      from += append(req, from);
      requests.push(Buffer.from(req.bytes));
    }
  };
  for (const b of batches) {
    all(b.snapshots.length, (req, from) => appendSnapshots(req, b.snapshots, from, Infinity, tags));
    all(b.trades.length, (req, from) => appendTrades(req, b.trades, from, Infinity, tags));
    all(b.events.length, (req, from) => appendMboEvents(req, b.events, from, Infinity, tags));
    all(b.checkpoints.length, (req, from) => appendCheckpoints(req, b.checkpoints, from, Infinity, tags));
  }
  return requests;
}

async function emptied(q: QuestDbStore): Promise<void> {
  for (const t of TABLES) await q.exec(`TRUNCATE TABLE ${t}`);
}

/** 100 concurrent in-process clients, each asking `each` lookups of `ask` at instants spread over the range; latency percentiles. */
async function inProcess(instants: bigint[], each: number, ask: (at: bigint) => Promise<unknown>) {
  const times: number[] = [];
  let errors = 0;
  await Promise.all(Array.from({ length: 100 }, async (_, c) => {
    for (let k = 0; k < each; k++) {
      const s = performance.now();
      try {
        if ((await ask(instants[(c * 7919 + k * 104_729) % instants.length])) === null) errors++;
      } catch {
        errors++;
      }
      times.push(performance.now() - s);
    }
  }));
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { p50: pct(0.5), p99: pct(0.99), errors };
}

if (runs('ingest')) {
  // The embedded store: the whole pipeline, without and with MBO stored (each in a fresh store).
  const rate = async (l3: boolean) => {
    const store = await freshDuck();
    const s = await ingest(file, { store, sourcePolicy, snapshotPolicy: policy(l3) });
    await store.close();
    return s;
  };
  const without = await rate(false);
  const withL3 = await rate(true);
  line('ingest into DuckDB, depth only (BOOKTAPE_STORE_MBO=false)', `${fmt(without.recordsPerSec)} records/s`);
  line('ingest into DuckDB, with MBO events and checkpoints', `${fmt(withL3.recordsPerSec)} records/s = ${((withL3.recordsPerSec / without.recordsPerSec) * 100).toFixed(0)}% of depth only (target >= 67%: ${met(withL3.recordsPerSec >= (2 / 3) * without.recordsPerSec)}); ${withL3.mboEvents.toLocaleString('en')} events, ${withL3.checkpointRows.toLocaleString('en')} checkpoint rows`);

  if (conf) {
    const batches = captured();
    const rows = count(batches, 'snapshots') + count(batches, 'trades') + count(batches, 'events') + count(batches, 'checkpoints');
    const q = new QuestDbStore(conf);
    await q.init();
    // The floor: every row pre-encoded, POSTed one request after another on one connection, then applied.
    const requests = encodeAll(batches);
    await emptied(q);
    const { base: origin, headers } = execEndpoint(conf);
    const agent = new Agent({ connections: 1 });
    let t0 = performance.now();
    for (const body of requests) {
      const res = await agent.request({ origin, path: '/write?precision=n', method: 'POST', headers, body });
      await res.body.dump();
      if (res.statusCode !== 204) throw new Error(`raw POST answered ${res.statusCode}`);
    }
    await q.flush();
    const floor = rows / ((performance.now() - t0) / 1000);
    await agent.close();
    await emptied(q);
    t0 = performance.now();
    await Promise.all(batches.flatMap((b) => [
      q.writeSnapshots(b.snapshots, symbolOf), q.writeTrades(b.trades, symbolOf), q.writeMboEvents(b.events, symbolOf), q.writeCheckpoints(b.checkpoints, symbolOf),
    ]));
    await q.flush();
    const store = rows / ((performance.now() - t0) / 1000);
    line('QuestDB, all rows pre-encoded, POSTed to /write (floor)', `${fmt(floor)} rows/s (${rows.toLocaleString('en')} rows: snapshots, trades, events, checkpoints)`);
    line('QuestDB store writing the same rows (encode + write + WAL)', `${fmt(store)} rows/s = ${((store / floor) * 100).toFixed(0)}% of the floor (target >= 60%: ${met(store >= 0.6 * floor)})`);
    await emptied(q);
    const s = await ingest(file, { store: q, sourcePolicy, snapshotPolicy: policy(true) });
    line('ingest into QuestDB with MBO stored (the pipeline)', `${fmt(s.recordsPerSec)} records/s, ${fmt((s.snapshots + s.trades + s.mboEvents + s.checkpointRows) / (s.durationMs / 1000))} rows/s`);
    // Lookups at 100 concurrent clients, in process: orders (checkpoint + events) against depth.
    const sym = 'SYN0';
    const info = (await q.listInstruments()).find((i) => i.symbol === sym)!;
    const instants = Array.from({ length: 997 }, (_, k) => info.firstTsRecv + ((info.lastTsRecv - info.firstTsRecv) * BigInt(k)) / 997n);
    const each = Math.ceil(lookups / 100);
    await inProcess(instants, each, (at) => q.bookAt(sym, at, info.publisherId)); // warm-up
    const depth = await inProcess(instants, each, (at) => q.bookAt(sym, at, info.publisherId));
    const orders = await inProcess(instants, each, async (at) => {
      const r = await ordersAt(q.l3, sym, at, info.publisherId);
      return r === null ? null : JSON.stringify(storedOrdersJson(r.book, sym, 10));
    });
    line(`QuestDB depth lookups, 100 clients, ${sym}`, `p50 ${depth.p50.toFixed(1)} ms, p99 ${depth.p99.toFixed(1)} ms, ${depth.errors} errors`);
    line(`QuestDB orders lookups, 100 clients, ${sym}`, `p50 ${orders.p50.toFixed(1)} ms, p99 ${orders.p99.toFixed(1)} ms, ${orders.errors} errors = p99 ${(orders.p99 / depth.p99).toFixed(2)}x depth (target <= 3x: ${met(orders.p99 <= 3 * depth.p99)})`);
    await q.close();
  }
}

if (runs('bytes')) {
  const batches = captured();
  const events = count(batches, 'events');
  const checkpointRows = count(batches, 'checkpoints');
  const checkpoints = batches.reduce((n, b) => n + (b.checkpoints.length === 0 ? 0 : Array.from({ length: b.checkpoints.length }, (_, i) => b.checkpoints.rank(i)).filter((r) => r === 0).length), 0);
  // DuckDB: one table at a time in a fresh file, checkpointed; the bytes over an empty store's.
  const fileBytes = async (write: (s: DuckDbStore) => Promise<unknown>) => {
    const s = await freshDuck();
    await write(s);
    await s.flush();
    const size = statSync(s.path).size;
    await s.close();
    return size;
  };
  const empty = await fileBytes(async () => undefined);
  const eventBytes = (await fileBytes((s) => Promise.all(batches.map((b) => s.writeMboEvents(b.events, symbolOf))))) - empty;
  const cpBytes = (await fileBytes((s) => Promise.all(batches.map((b) => s.writeCheckpoints(b.checkpoints, symbolOf))))) - empty;
  const snapshotBytes = (await fileBytes((s) => Promise.all(batches.map((b) => s.writeSnapshots(b.snapshots, symbolOf))))) - empty;
  const snapshots = count(batches, 'snapshots');
  line('DuckDB bytes per stored MBO event', `${(eventBytes / events).toFixed(1)} B (${events.toLocaleString('en')} events; a DBN record is 56 B)`);
  line('DuckDB bytes per checkpoint row / per checkpoint', `${(cpBytes / checkpointRows).toFixed(1)} B / ${fmt(cpBytes / checkpoints)} B (${checkpoints.toLocaleString('en')} checkpoints, ${(checkpointRows / checkpoints).toFixed(0)} rows each)`);
  line('DuckDB bytes per depth snapshot (depth 10), for scale', `${(snapshotBytes / snapshots).toFixed(1)} B`);
  if (conf) {
    // QuestDB: the growth of each table's partitions from writing the second half of the rows
    // after the first (a table's files are allocated ahead in pages: a first write's size is mostly that).
    const q = new QuestDbStore(conf);
    await q.init();
    await emptied(q);
    const disk = async (table: string) => Number((await q.exec(`SELECT sum(diskSize) FROM table_partitions('${table}')`)).dataset[0][0]);
    const sizes = async () => Promise.all(['mbo_events', 'order_checkpoints', 'book_snapshots'].map(disk));
    const half = batches.length >> 1;
    const write = async (part: Batches) => {
      await Promise.all(part.flatMap((b) => [q.writeMboEvents(b.events, symbolOf), q.writeCheckpoints(b.checkpoints, symbolOf), q.writeSnapshots(b.snapshots, symbolOf)]));
      await q.flush();
    };
    await write(batches.slice(0, half));
    const before = await sizes();
    const rest = batches.slice(half);
    await write(rest);
    const after = await sizes();
    const restCheckpoints = rest.reduce((n, b) => n + Array.from({ length: b.checkpoints.length }, (_, i) => b.checkpoints.rank(i)).filter((r) => r === 0).length, 0);
    line('QuestDB bytes per stored MBO event', `${((after[0] - before[0]) / count(rest, 'events')).toFixed(1)} B (the second half's ${count(rest, 'events').toLocaleString('en')} events)`);
    const qcp = after[1] - before[1];
    line('QuestDB bytes per checkpoint row / per checkpoint', `${(qcp / count(rest, 'checkpoints')).toFixed(1)} B / ${fmt(qcp / restCheckpoints)} B`);
    line('QuestDB bytes per depth snapshot (depth 10), for scale', `${((after[2] - before[2]) / count(rest, 'snapshots')).toFixed(1)} B`);
    await q.close();
  }
}

if (runs('http')) {
  ensureStore();
  await serve();
  const instruments = (await (await fetch(`${base}/v1/instruments`)).json()) as Array<{ symbol: string; publisher_id: number; first_ts_recv: string; last_ts_recv: string; snapshots: number }>;
  // Orders lookups against depth lookups, the same instants, 100 connections; a warm-up pass of each first.
  for (const symbol of ['CLX5', 'SYN0']) {
    const i = instruments.find((x) => x.symbol === symbol)!;
    const first = BigInt(i.first_ts_recv);
    const span = BigInt(i.last_ts_recv) - first;
    const at = (client: number, k: number) => first + (span * BigInt(((client * 20 + k) * 37) % 997)) / 997n;
    const depthPath = (c: number, k: number) => `/v1/books/${symbol}?at=${at(c, k)}&depth=10`;
    const ordersPath = (c: number, k: number) => `/v1/books/${symbol}/orders?at=${at(c, k)}&depth=10`;
    await load(base, serverPid(), lookups, depthPath);
    const depth = await load(base, serverPid(), lookups, depthPath);
    await load(base, serverPid(), lookups, ordersPath);
    const orders = await load(base, serverPid(), lookups, ordersPath);
    line(`depth lookups, 100 connections, ${symbol}`, described(depth));
    line(`orders lookups, 100 connections, ${symbol}`, `${described(orders)}  -> p99 ${(orders.p99 / depth.p99).toFixed(2)}x depth (target <= 3x: ${met(orders.p99 <= 3 * depth.p99)})`);
  }
  // Unpaced replays of the whole store: the snapshots, then the MBO records; cold (the first after start) then warm.
  const rateOf = (r: { units: number; seconds: number }, less = 0) => (r.units - less) / r.seconds;
  const replays: Array<[string, string, (chunk: Buffer) => number, number]> = [
    ['snapshot replay, NDJSON', 'format=ndjson', lineCounter, 2],
    ['MBO replay, NDJSON', 'schema=mbo', lineCounter, 2],
    ['snapshot replay, DBN (MBP-10)', 'format=dbn', dbnCounter(368), 0],
    ['MBO replay, DBN', 'schema=mbo&format=dbn', dbnCounter(56), 0],
  ];
  const warm: number[] = [];
  for (const [label, query, counter, framing] of replays) {
    const cold = await receive(`${base}/v1/replay?${query}`, counter);
    // A counter per run: a DBN counter keeps its place in its stream.
    const again = await receive(`${base}/v1/replay?${query}`, query.includes('dbn') ? dbnCounter(query.includes('mbo') ? 56 : 368) : lineCounter);
    warm.push(rateOf(again, framing));
    line(`${label}, 1 client, unpaced`, `warm ${fmt(rateOf(again, framing))} records/s (cold ${fmt(rateOf(cold, framing))}), ${(again.units - framing).toLocaleString('en')} records`);
  }
  line('MBO replay against the snapshot replay, warm', `NDJSON ${(warm[1] / warm[0]).toFixed(2)}x, DBN ${(warm[3] / warm[2]).toFixed(2)}x (target >= 1x: ${met(warm[1] >= warm[0] && warm[3] >= warm[2])})`);
  for (const format of ['dbn', 'ndjson'] as const) {
    const rate = 50_000;
    const r = await receive(`${base}/v1/replay?schema=mbo&format=${format}&rate=${rate}`, format === 'dbn' ? dbnCounter(56) : lineCounter);
    const arrivals = format === 'dbn' ? r.arrivals : r.arrivals.subarray(1, r.arrivals.length - 1);
    const timed = arrivals.subarray(0, Math.round(rate * paceSeconds));
    const seconds = (timed[timed.length - 1] - timed[0]) / 1000;
    const achieved = (timed.length - 1) / seconds;
    const off = ((achieved - rate) / rate) * 100;
    line(`MBO replay ${format} at rate=${rate}`, `${fmt(achieved)}/s, ${off.toFixed(2)}% off over ${seconds.toFixed(1)} s (target within 2%); ${lateness(timed, rate)} (target p99 < 10 ms)`);
  }
  stop();
}
process.exit(0);
