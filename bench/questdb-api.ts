/**
 * The API on QuestDB beside the API on the embedded store, the same rows in
 * both (the bench store's files: CLX5 and the synthetic file), measured in
 * one run against the server QDB_CLIENT_CONF names (it empties booktape's
 * tables there when they hold other rows). Prints "skipped" without it.
 *
 * - replays and exports, NDJSON and DBN, 1 client and 50: QuestDB's rate as
 *   a ratio of the embedded store's (target >= 1.0x);
 * - the read floor: the same rows as one PostgreSQL-wire query, framed and
 *   discarded in this process (what QuestDB itself hands over, nothing
 *   decoded): the share of it a replay keeps (target >= 60%);
 * - book lookups from 100 clients, both stores (target: QuestDB's rate at
 *   least the embedded store's, p50 and p99 within 1.5x, no errors), and
 *   the lookup floor: the same statements on the pool's connections, rows
 *   discarded (QuestDB's own rate for them);
 * - 10 whole-store replays at once: lookup latency and the event loop's
 *   longest stall meanwhile (targets: p99 <= 500 ms, stall <= 100 ms);
 * - the server's RSS through a whole-store replay and through 50 at once.
 */
import autocannon from 'autocannon';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DuckDbStore } from '../src/store/duckdb/store.js';
import { DEFAULT_LIMITS, pgOptions } from '../src/store/questdb/connection.js';
import { PgConnection } from '../src/store/questdb/pg-wire.js';
import { SNAPSHOT_SELECT } from '../src/store/questdb/rows.js';
import { SNAPSHOTS, COL } from '../src/store/questdb/schema.js';
import { QuestDbStore } from '../src/store/questdb/store.js';
import { base, dbPath, ensureStore, ingestBenchFiles, readLines, startServer, TCP_PORT } from './harness.js';

const conf = process.env.QDB_CLIENT_CONF;
if (!conf) {
  console.log('QuestDB API cases (replays, exports, lookups, replays under load): skipped: no QDB_CLIENT_CONF');
  process.exit(0);
}
const QDB_BASE = 'http://127.0.0.1:18185';
const qdbEnv = { BOOKTAPE_STORE: 'questdb', QDB_CLIENT_CONF: conf, BOOKTAPE_TCP_PORT: String(TCP_PORT + 4) };
const line = (label: string, text: string) => console.log(`${label.padEnd(52)} ${text}`);
const k = (n: number) => `${(n / 1e3).toFixed(1)} k`;

/** The same rows in both stores: QuestDB is filled from the bench files unless it holds exactly the embedded store's rows. */
async function sameRows(): Promise<number> {
  ensureStore();
  const duck = new DuckDbStore(dbPath);
  const want = await duck.countSnapshots();
  await duck.close();
  const q = new QuestDbStore(conf!);
  await q.init();
  if ((await q.countSnapshots()) !== want) {
    process.stderr.write(`bench: filling QuestDB with the bench files (${want} snapshots)\n`);
    for (const t of ['book_snapshots', 'trades', 'ingest_runs']) await q.exec(`TRUNCATE TABLE ${t}`);
    ingestBenchFiles(qdbEnv);
    await q.flush();
    const got = await q.countSnapshots();
    if (got !== want) throw new Error(`QuestDB holds ${got} snapshots after ingest, the embedded store ${want}`);
  }
  await q.close();
  return want;
}

/** Rows a second over `clients` concurrent reads of `path`; `rowsOf` counts a response's rows. */
async function rate(origin: string, path: string, clients: number, rowsOf: (r: { bytes: number; lines: number }) => number): Promise<number> {
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: clients }, () => readLines(`${origin}${path}`)));
  return all.reduce((n, r) => n + rowsOf(r), 0) / ((performance.now() - t0) / 1000);
}

/** RSS of a process now, in MB. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Runs `work` while sampling `pid`'s RSS every 200 ms: before, the most, after. */
async function rssThrough<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; before: number; peak: number; after: number }> {
  const before = rssMb(pid);
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, rssMb(pid)); }, 200);
  try {
    const result = await work();
    return { result, before, peak, after: rssMb(pid) };
  } finally {
    clearInterval(timer);
  }
}

/** The server's longest event-loop stall since the last scrape (prom-client resets it at each). */
async function loopMaxMs(origin: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const m = /^booktape_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

interface Load { p50: number; p99: number; rps: number; errors: number }
/** The n-th lookup's instant: 997 instants spread over CLX5's range. */
const lookupAt = (n: number) => 1758742200001385399n + (9_000_000_000_000n * BigInt((n * 7919) % 997)) / 997n;

/** 100 connections asking books of CLX5 at instants spread over its range (autocannon). */
function lookups(origin: string, amount: number): Promise<Load> {
  let n = 0;
  return new Promise((resolve, reject) => {
    autocannon({
      url: origin, connections: 100, amount, timeout: 30,
      requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/books/CLX5?at=${lookupAt(n++)}&depth=10` }) }],
    }, (err, r) => (err ? reject(err) : resolve({ p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, errors: r.errors + r.timeouts + r.non2xx })));
  });
}

/**
 * The lookup floor: the statement a lookup runs, at the same instants, on as
 * many PostgreSQL-wire connections as the API's pool, its rows framed and
 * discarded here: lookups a second QuestDB itself answers.
 */
async function lookupFloor(amount: number): Promise<number> {
  const connections = await Promise.all(Array.from({ length: DEFAULT_LIMITS.readConnections }, () => PgConnection.connect(pgOptions(conf!, process.env.BOOKTAPE_QDB_PG_ADDR, 10_000))));
  let n = 0;
  const t0 = performance.now();
  await Promise.all(connections.map(async (c) => {
    while (n < amount) {
      const stmt = QuestDbStore.lookupSql('CLX5', lookupAt(n++), undefined, 8);
      await c.query(stmt.sql, () => undefined, 10_000, undefined, stmt.params);
    }
  }));
  const rps = amount / ((performance.now() - t0) / 1000);
  await Promise.all(connections.map((c) => c.close()));
  return rps;
}

/** The read floor: the whole store's rows as one query on QuestDB's PostgreSQL wire, framed and discarded here. */
async function floor(): Promise<{ rows: number; mb: number; seconds: number }> {
  const c = await PgConnection.connect(pgOptions(conf!, process.env.BOOKTAPE_QDB_PG_ADDR, 10_000));
  let mb = 0;
  const t0 = performance.now();
  const rows = await c.query(`SELECT ${SNAPSHOT_SELECT} FROM ${SNAPSHOTS} ORDER BY ${COL.tsRecv}`, (r) => { mb += r.length(16) + r.length(17); }, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  await c.close();
  return { rows, mb: mb / 1e6, seconds };
}

const rows = await sameRows();
const duck = await startServer(base);
const quest: ChildProcess = await startServer(QDB_BASE, qdbEnv);
console.log(`QuestDB API bench: ${rows.toLocaleString('en')} snapshots in each store; QuestDB at ${conf.replace(/(password|token)=[^;]*/g, '$1=***')}`);

const frames = (r: { lines: number }) => r.lines - 2; // NDJSON replay: header and end lines
const records = (bytes: number) => (r: { bytes: number }) => Math.floor(r.bytes / bytes);
const exported = (r: { lines: number }) => r.lines - 1; // CSV: a header row
const dbnRecord = 368;
const cases: Array<[string, string, number, (r: { bytes: number; lines: number }) => number]> = [
  ['replay NDJSON, 1 client, whole store', '/v1/replay', 1, frames],
  ['replay NDJSON, 50 clients, CLX5 each', '/v1/replay?symbols=CLX5', 50, frames],
  ['replay DBN, 1 client, whole store', '/v1/replay?format=dbn', 1, records(dbnRecord)],
  ['replay DBN, 50 clients, CLX5 each', '/v1/replay?symbols=CLX5&format=dbn', 50, records(dbnRecord)],
  ['export CSV, 1 client, CLX5', '/v1/books/CLX5/snapshots?format=csv', 1, exported],
  ['export NDJSON, 50 clients, CLX5 each', '/v1/books/CLX5/snapshots?format=ndjson', 50, (r) => r.lines],
];
// A cold pass of each server first: the embedded store's buffer pool and QuestDB's page cache filled, as on a serving server.
await rate(base, '/v1/replay?format=dbn', 1, records(dbnRecord));
await rate(QDB_BASE, '/v1/replay?format=dbn', 1, records(dbnRecord));
let wholeReplay = 0;
for (const [label, path, clients, count] of cases) {
  const d = await rate(base, path, clients, count);
  const q = await rate(QDB_BASE, path, clients, count);
  if (path === '/v1/replay?format=dbn') wholeReplay = q;
  line(label, `QuestDB ${k(q)} rows/s, embedded ${k(d)} rows/s: ${(q / d).toFixed(2)}x (target >= 1.0x)`);
}
const f = await floor();
const floorRate = f.rows / f.seconds;
line('read floor: the rows over the PostgreSQL wire, discarded', `${k(floorRate)} rows/s (${(f.mb / f.seconds).toFixed(0)} MB/s of level arrays); the DBN replay keeps ${((wholeReplay / floorRate) * 100).toFixed(0)}% (target >= 60%)`);

await lookups(base, 1000); // warm-up, both
await lookups(QDB_BASE, 1000);
const dl = await lookups(base, 4000);
const ql = await lookups(QDB_BASE, 4000);
const show = (l: Load) => `p50 ${l.p50} ms, p99 ${l.p99} ms, ${l.rps.toFixed(0)}/s, ${l.errors} errors`;
line('book lookups, 100 clients, embedded store', show(dl));
line('book lookups, 100 clients, QuestDB', `${show(ql)}: rate ${(ql.rps / dl.rps).toFixed(2)}x, p50 ${(ql.p50 / dl.p50).toFixed(2)}x, p99 ${(ql.p99 / dl.p99).toFixed(2)}x`);
const lf = await lookupFloor(4000);
line('lookup floor: the statement on the pool\'s connections', `${lf.toFixed(0)}/s; the API keeps ${((ql.rps / lf) * 100).toFixed(0)}%`);

// Memory: one whole-store replay, then 50 at once.
const one = await rssThrough(quest.pid!, () => rate(QDB_BASE, '/v1/replay', 1, frames));
line('RSS through a whole-store NDJSON replay (QuestDB)', `${one.before.toFixed(0)} -> peak ${one.peak.toFixed(0)} -> ${one.after.toFixed(0)} MB`);
const fifty = await rssThrough(quest.pid!, () => rate(QDB_BASE, '/v1/replay?symbols=CLX5', 50, frames));
line('RSS through 50 replays at once (QuestDB)', `${fifty.before.toFixed(0)} -> peak ${fifty.peak.toFixed(0)} -> ${fifty.after.toFixed(0)} MB`);

// 10 whole-store replays at once; meanwhile 10 clients look books up one after another, and the event loop is watched.
for (const replays of [10, 20]) {
  await loopMaxMs(QDB_BASE);
  let stall = 0;
  let running = true;
  const watch = setInterval(() => { void loopMaxMs(QDB_BASE).then((ms) => { stall = Math.max(stall, ms); }); }, 1000);
  const streams = Promise.all(Array.from({ length: replays }, () => readLines(`${QDB_BASE}/v1/replay`))).finally(() => { running = false; });
  const times: number[] = [];
  let errors = 0;
  await Promise.all(Array.from({ length: 10 }, async (_, c) => {
    for (let n = 0; running; n++) {
      const t0 = performance.now();
      const res = await fetch(`${QDB_BASE}/v1/books/CLX5?at=${1758742200001385399n + BigInt(((c * 101 + n * 7919) % 9000)) * 1_000_000_000n}`);
      if (!res.ok) errors++;
      await res.arrayBuffer();
      times.push(performance.now() - t0);
    }
  }));
  await streams;
  clearInterval(watch);
  stall = Math.max(stall, await loopMaxMs(QDB_BASE));
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0);
  line(`${replays} whole-store replays at once (QuestDB): lookups`, `p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms over ${times.length}, ${errors} errors; event loop's longest stall ${stall.toFixed(0)} ms (targets p99 <= 500, stall <= 100)`);
}

duck.kill('SIGTERM');
quest.kill('SIGTERM');
process.exit(0);
