/**
 * One benchmark case per process (so peak RSS is the case's own):
 *   node dist/bench/cases.js <case> <file>
 * prints one JSON line of figures.
 */
import { readFileSync } from 'node:fs';
import { MboView, RType, decodeBuffer, openDbnFile } from '../src/dbn/index.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { Market, rebuild } from '../src/book/index.js';
import { ingest } from '../src/pipeline/ingest.js';
import { DuckDbStore } from '../src/store/duckdb/store.js';
import { QuestDbStore } from '../src/store/questdb/store.js';
import type { SnapshotStore } from '../src/store/port.js';

export interface CaseResult {
  case: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  peakRssMb: number;
  [extra: string]: number | string;
}

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/**
 * Decode from a buffer: the synchronous hot loop (frame + read the fields a
 * book needs). One untimed warm-up pass, then the median of three timed
 * passes; the cold first pass is reported too.
 */
function decodeFromBuffer(file: string): CaseResult {
  const bytes = readFileSync(file);
  const r = new MboView();
  let checksum = 0;
  const pass = (): [number, number] => {
    const t0 = performance.now();
    const { batch: b } = decodeBuffer(bytes);
    let n = 0;
    for (let o = b.start; o < b.end; o += b.view.getUint8(o) * 4) {
      if (b.view.getUint8(o + 1) !== RType.MBO) continue;
      r.at(b.view, o);
      checksum += r.size + r.action + r.side + r.orderIdLo + r.priceLo + r.flags; // priceNanos is NaN for UNDEF_PRICE
      n++;
    }
    return [n, (performance.now() - t0) / 1000];
  };
  const [n, cold] = pass();
  const timed = [pass()[1], pass()[1], pass()[1]].sort((a, b) => a - b);
  const seconds = timed[1];
  return {
    case: 'decode-buffer', records: n, seconds, recordsPerSec: n / seconds, peakRssMb: peakRssMb(),
    coldRecordsPerSec: n / cold, checksum: checksum % 1000,
  };
}

/** Decode streaming from the file (plain or zstd): what ingestion does. */
async function decodeFromFile(file: string): Promise<CaseResult> {
  const t0 = performance.now();
  const stream = await openDbnFile(file);
  const r = new MboView();
  let n = 0;
  let checksum = 0;
  for await (const b of stream.batches) {
    for (let o = b.start; o < b.end; o += b.view.getUint8(o) * 4) {
      r.at(b.view, o);
      checksum += r.size + r.action;
      n++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { case: 'decode-stream', records: n, seconds, recordsPerSec: n / seconds, peakRssMb: peakRssMb(), checksum: checksum % 1000 };
}

/**
 * Decode + book + an MBP-10 snapshot per F_LAST, streaming from the file,
 * through rebuild(): the loop ingestion runs. Snapshots land in the columnar
 * buffer the stores write from; with `objects`, each is also materialised as a
 * DepthSnapshot object (what JSON output and the API pay).
 */
async function engine(file: string, objects: boolean): Promise<CaseResult> {
  const t0 = performance.now();
  let snapshots = 0;
  let checksum = 0;
  const { market } = await rebuild(await openDbnFile(file), {
    policy: { depth: 10, intervalNs: 0 },
    onCaptured: (buf) => {
      snapshots += buf.length;
      if (objects) for (let i = 0; i < buf.length; i++) checksum += buf.row(i).bids.length;
      else checksum += buf.bidLevels(buf.length - 1);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  let orders = 0;
  for (const book of market.books.values()) orders += book.orders.size;
  return {
    case: objects ? 'engine-objects' : 'engine', records: market.counts.mbo, seconds, recordsPerSec: market.counts.mbo / seconds,
    snapshots, snapshotsPerSec: snapshots / seconds, liveOrders: orders, peakRssMb: peakRssMb(), checksum: checksum % 1000,
  };
}

/**
 * Per-record latency (apply + snapshot capture when F_LAST), one record at a
 * time through the same Market.apply code. Includes ~20-40 ns of timer overhead.
 * A histogram of 10 ns buckets up to 100 µs keeps memory flat.
 */
async function engineLatency(file: string): Promise<CaseResult> {
  const BUCKET_NS = 10;
  const hist = new Float64Array(10_000);
  let over = 0;
  const stream = await openDbnFile(file);
  const market = new Market({ depth: 10, intervalNs: 0 });
  let n = 0;
  const t0 = performance.now();
  for await (const b of stream.batches) {
    // One record at a time: a reused batch window over the current record.
    const one = { ...b };
    for (let o = b.start; o < b.end; ) {
      const end = o + b.view.getUint8(o) * 4;
      one.end = end;
      const s = performance.now();
      market.apply(one, o);
      const ns = (performance.now() - s) * 1e6;
      if (market.snapshots.full) market.snapshots.clear();
      const k = Math.floor(ns / BUCKET_NS);
      if (k < hist.length) hist[k]++;
      else over++;
      n++;
      o = end;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const pct = (p: number) => {
    const target = n * p;
    let acc = 0;
    for (let k = 0; k < hist.length; k++) {
      acc += hist[k];
      if (acc >= target) return (k + 1) * BUCKET_NS;
    }
    return Infinity;
  };
  return {
    case: 'engine-latency', records: n, seconds, recordsPerSec: n / seconds, peakRssMb: peakRssMb(),
    p50Ns: pct(0.5), p99Ns: pct(0.99), p999Ns: pct(0.999), over100us: over,
  };
}

/**
 * The whole pipeline (engine thread + store writes) into a fresh store. The
 * event loop's delay is measured too: it is what an API request waits when
 * `serve` ingests in its own process (the DuckDB store).
 */
async function ingestInto(file: string, kind: 'duckdb' | 'questdb'): Promise<CaseResult> {
  let store: SnapshotStore;
  if (kind === 'duckdb') store = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-bench-')), 'bench.duckdb'));
  else {
    const q = new QuestDbStore(process.env.QDB_CLIENT_CONF!);
    for (const t of ['book_snapshots', 'trades', 'ingest_runs']) await q.exec(`DROP TABLE IF EXISTS ${t}`);
    store = q;
  }
  await store.init();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const s = await ingest(file, {
    store,
    sourcePolicy: { dataRoots: [dirname(file)], allowHosts: [], maxBytes: Infinity, timeoutMs: 10_000, maxRedirects: 0 },
    snapshotPolicy: { depth: 10, intervalNs: 0 },
  });
  loop.disable();
  const rows = await store.countSnapshots();
  await store.close();
  return {
    case: `ingest-${kind}`, records: s.records, seconds: s.durationMs / 1000, recordsPerSec: s.recordsPerSec,
    snapshotsPerSec: s.snapshotsPerSec, peakRssMb: peakRssMb(), rows,
    loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6,
  };
}

const CASES: Record<string, (file: string) => CaseResult | Promise<CaseResult>> = {
  'ingest-duckdb': (f) => ingestInto(f, 'duckdb'),
  'ingest-questdb': (f) => ingestInto(f, 'questdb'),
  'decode-buffer': decodeFromBuffer,
  'decode-stream': decodeFromFile,
  engine: (f) => engine(f, false),
  'engine-objects': (f) => engine(f, true),
  'engine-latency': engineLatency,
};

export async function runCase(name: string, file: string): Promise<CaseResult> {
  const fn = CASES[name];
  if (!fn) throw new Error(`unknown bench case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
  return fn(file);
}

if (process.argv[1]?.endsWith('cases.js')) {
  const [name, file] = process.argv.slice(2);
  runCase(name, file).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err) => { process.stderr.write(String(err) + '\n'); process.exit(1); },
  );
}
