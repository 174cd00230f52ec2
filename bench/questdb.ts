/**
 * QuestDB's cases of `npm run bench`, each beside its floor, measured in one
 * run against the server QDB_CLIENT_CONF names (it empties booktape's tables
 * there). Prints "skipped" without it.
 *   BENCH_QDB_ROWS  snapshot rows written (default 200,000: CLX5's 32,053 rows repeated later in time)
 *
 * - ingest: the store's writeSnapshots + flush, against the same rows
 *   pre-encoded and POSTed to /write on one connection (the server's own
 *   rate for this shape: the floor), and against the embedded store;
 * - book lookups from 100 concurrent clients: p50/p99 and errors, QuestDB
 *   and the embedded store on the same rows;
 * - range reads (what a replay or an export reads): rows/s for one reader and
 *   for 50 at once, QuestDB and the embedded store.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { Market } from '../src/book/market.js';
import { KeyField } from '../src/book/row-buffer.js';
import { SnapshotBuffer } from '../src/book/snapshot-buffer.js';
import { decodeBuffer } from '../src/dbn/index.js';
import { DuckDbStore } from '../src/store/duckdb/store.js';
import { rowsOf, type SnapshotStore } from '../src/store/port.js';
import { execEndpoint } from '../src/store/questdb/connection.js';
import { encodeSnapshots } from '../src/store/questdb/ilp.js';
import { DEFAULT_REQUEST_BYTES, QuestDbStore } from '../src/store/questdb/store.js';

const conf = process.env.QDB_CLIENT_CONF;
const root = new URL('../..', import.meta.url).pathname;
const symbolOf = (id: number) => (id === 432669 ? 'CLX5' : null);
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
const line = (label: string, text: string) => console.log(`${label.padEnd(58)} ${text}`);

/** CLX5's snapshots as the engine captures them, repeated (each copy 3 h later) to `want` rows, in batches of 8,192. */
function snapshotBatches(want: number): SnapshotBuffer[] {
  const market = new Market({ depth: 10, intervalNs: 0, trades: false }, 8192);
  const { batch } = decodeBuffer(readFileSync(`${root}data/CLX5_mbo.dbn`));
  const base: SnapshotBuffer[] = [];
  for (let o = batch.start; o < batch.end; ) {
    o = market.apply(batch, o);
    base.push(SnapshotBuffer.adopt(market.snapshots.exportRows()));
    market.snapshots.clear();
  }
  const out: SnapshotBuffer[] = [];
  let rows = 0;
  for (let copy = 0; rows < want; copy++) {
    const shift = copy * 3 * 3600 * 1e9;
    for (const b of base) {
      if (rows >= want) break;
      const c = SnapshotBuffer.adopt({ depth: b.depth, length: Math.min(b.length, want - rows), rows: b.rows.slice(0, Math.min(b.length, want - rows) * b.stride) });
      for (let i = 0; i < c.length; i++) {
        const ts = c.tsRecv(i) + BigInt(shift);
        c.rows[c.at(i) + KeyField.tsRecvHi] = Number(ts >> 32n);
        c.rows[c.at(i) + KeyField.tsRecvLo] = Number(ts & 0xffffffffn);
      }
      rows += c.length;
      out.push(c);
    }
  }
  return out;
}

async function emptied(store: QuestDbStore): Promise<void> {
  for (const t of ['book_snapshots', 'trades', 'ingest_runs']) await store.exec(`TRUNCATE TABLE ${t}`);
}

/** The floor: the same rows, encoded beforehand, POSTed one request after another on one connection, then applied. */
async function rawPost(store: QuestDbStore, batches: SnapshotBuffer[]): Promise<number> {
  const requests: Buffer[] = [];
  for (const b of batches) for (let from = 0; from < b.length; ) {
    const c = encodeSnapshots(b, from, DEFAULT_REQUEST_BYTES, symbolOf);
    requests.push(c.bytes);
    from += c.rows;
  }
  const { base, headers } = execEndpoint(conf!);
  const agent = new Agent({ connections: 1 });
  const t0 = performance.now();
  for (const body of requests) {
    const res = await agent.request({ origin: base, path: '/write?precision=n', method: 'POST', headers, body });
    await res.body.dump();
    if (res.statusCode !== 204) throw new Error(`raw POST answered ${res.statusCode}`);
  }
  await store.flush();
  const seconds = (performance.now() - t0) / 1000;
  await agent.close();
  return seconds;
}

async function storeWrite(store: SnapshotStore, batches: SnapshotBuffer[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(batches.map((b) => store.writeSnapshots(b, symbolOf)));
  await store.flush();
  return (performance.now() - t0) / 1000;
}

/** `clients` concurrent clients, each asking `each` books at instants spread over the rows; latency percentiles and errors. */
async function lookups(store: SnapshotStore, instants: bigint[], clients: number, each: number) {
  const times: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let k = 0; k < each; k++) {
      const at = instants[(c * 7919 + k * 104_729) % instants.length];
      const s = performance.now();
      try {
        if ((await store.bookAt('CLX5', at)) === null) errors++;
      } catch {
        errors++;
      }
      times.push(performance.now() - s);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { p50: pct(0.5), p99: pct(0.99), errors, perSec: times.length / seconds };
}

/** `readers` concurrent range reads of `rows` rows each from spread-out starts; rows/s in all. */
async function ranges(store: SnapshotStore, starts: bigint[], readers: number, rows: number): Promise<number> {
  const t0 = performance.now();
  let total = 0;
  await Promise.all(Array.from({ length: readers }, async (_, r) => {
    for await (const _row of rowsOf(store.readRange({ symbols: ['CLX5'], from: starts[(r * 7919) % starts.length], limit: rows }))) total++;
  }));
  return total / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  if (!conf) {
    console.log('QuestDB cases (ingest, lookups, range reads): skipped: no QDB_CLIENT_CONF');
    return;
  }
  const want = Number(process.env.BENCH_QDB_ROWS ?? 200_000);
  const batches = snapshotBatches(want);
  const rows = batches.reduce((n, b) => n + b.length, 0);
  const q = new QuestDbStore(conf, { readConnections: 16 });
  await q.init();
  const [[build]] = (await q.exec('SELECT build()')).dataset;
  console.log(`QuestDB cases: ${rows.toLocaleString('en')} snapshot rows at depth 10 (~${Math.round(encodeSnapshots(batches[0], 0, 64 << 20, symbolOf).bytes.length / batches[0].length)} B a row in ILP); ${String(build).split(',')[0]}`);

  await emptied(q);
  const floor = rawPost(q, batches);
  const floorRate = rows / (await floor);
  await emptied(q);
  const qdbRate = rows / (await storeWrite(q, batches));
  const duck = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-bench-')), 'bench.duckdb'));
  await duck.init();
  const duckRate = rows / (await storeWrite(duck, batches));
  line('ingest, raw pre-encoded POST to /write (floor)', `${fmt(floorRate)} rows/s`);
  line('ingest, QuestDB store (encode + write + WAL applied)', `${fmt(qdbRate)} rows/s = ${((qdbRate / floorRate) * 100).toFixed(0)}% of the floor`);
  line('ingest, embedded store', `${fmt(duckRate)} rows/s`);
  if ((await q.countSnapshots()) !== rows) throw new Error('QuestDB holds a different number of rows than were written');

  const instants = batches.flatMap((b) => Array.from({ length: Math.ceil(b.length / 16) }, (_, k) => b.tsRecv(k * 16)));
  const clients = 100;
  const each = 20;
  const qLook = await lookups(q, instants, clients, each);
  const dLook = await lookups(duck, instants, clients, each);
  const look = (r: typeof qLook) => `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${fmt(r.perSec)} lookups/s, ${r.errors} errors`;
  line(`book lookups, ${clients} concurrent clients, QuestDB`, `${look(qLook)}; p99 ${(qLook.p99 / dLook.p99).toFixed(2)}x the embedded store's`);
  line(`book lookups, ${clients} concurrent clients, embedded store`, look(dLook));

  for (const [readers, each] of [[1, rows], [50, Math.min(20_000, rows)]] as const) {
    const qr = await ranges(q, instants, readers, each);
    const dr = await ranges(duck, instants, readers, each);
    line(`range reads, ${readers} reader${readers > 1 ? 's' : ''} of ${fmt(each)} rows, QuestDB`, `${fmt(qr)} rows/s = ${(qr / dr).toFixed(2)}x the embedded store`);
    line(`range reads, ${readers} reader${readers > 1 ? 's' : ''} of ${fmt(each)} rows, embedded store`, `${fmt(dr)} rows/s`);
  }
  await q.close();
  await duck.close();
}

main().catch((err) => {
  console.error(`bench/questdb: ${(err as Error).message}`);
  process.exit(1);
});
