/**
 * `npm run bench`: generates synthetic MBO files once (bench/out/, git-ignored)
 * and runs each case in a fresh process, printing a table of figures.
 *   BENCH_RECORDS   records in the synthetic file (default 5,000,000)
 *   BENCH_INGEST_RECORDS  records in the file the store cases ingest (default: BENCH_RECORDS)
 *   BENCH_ONLY      comma-separated case ids to run (default: all)
 * The QuestDB ingest case runs when QDB_CLIENT_CONF is set (it drops and
 * recreates booktape's tables there).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import type { CaseResult } from './cases.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = `${root}bench/out`;
const records = Number(process.env.BENCH_RECORDS ?? 5_000_000);
const only = process.env.BENCH_ONLY?.split(',');
mkdirSync(out, { recursive: true });

function synth(path: string, zstd: boolean): string {
  if (!existsSync(path)) {
    process.stderr.write(`bench: generating ${path}\n`);
    const args = [`${root}dist/src/cli.js`, 'synth', path, '--records', String(records), '--seed', '1', '--instruments', '4'];
    if (zstd) args.push('--zstd');
    execFileSync('node', args, { stdio: 'inherit' });
  }
  return path;
}

const ingestRecords = Number(process.env.BENCH_INGEST_RECORDS ?? records);
const plain = synth(`${out}/synth-${records}.dbn`, false);
const packed = synth(`${out}/synth-${records}.dbn.zst`, true);
function synthSized(n: number): string {
  const path = `${out}/synth-${n}.dbn`;
  if (!existsSync(path)) execFileSync('node', [`${root}dist/src/cli.js`, 'synth', path, '--records', String(n), '--seed', '1', '--instruments', '4'], { stdio: 'inherit' });
  return path;
}

type Row = { id: string; label: string; caseName: string; file: string };
const rows: Row[] = [
  { id: 'decode-buffer', label: 'decode, from a buffer (plain)', caseName: 'decode-buffer', file: plain },
  { id: 'decode-file', label: 'decode, streaming from file (plain)', caseName: 'decode-stream', file: plain },
  { id: 'decode-zstd', label: 'decode, streaming from file (zstd)', caseName: 'decode-stream', file: packed },
  { id: 'engine', label: 'decode + book + MBP-10 snapshot per F_LAST (plain file)', caseName: 'engine', file: plain },
  { id: 'engine-zstd', label: 'decode + book + MBP-10 snapshot per F_LAST (zstd file)', caseName: 'engine', file: packed },
  { id: 'engine-objects', label: 'same, each snapshot also as a JS object (plain file)', caseName: 'engine-objects', file: plain },
  { id: 'engine-latency', label: 'per-record latency, apply + snapshot (plain file)', caseName: 'engine-latency', file: plain },
  { id: 'ingest-duckdb', label: `ingest into DuckDB, ${ingestRecords.toLocaleString('en')} records (plain file)`, caseName: 'ingest-duckdb', file: '' },
];
if (process.env.QDB_CLIENT_CONF) {
  rows.push({ id: 'ingest-questdb', label: `ingest into QuestDB, ${ingestRecords.toLocaleString('en')} records`, caseName: 'ingest-questdb', file: '' });
} else {
  console.log('(ingest into QuestDB: skipped, QDB_CLIENT_CONF is not set)');
}

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
console.log(`booktape bench: ${records.toLocaleString('en')} synthetic records (${(statSync(plain).size / 1e6).toFixed(0)} MB plain, ${(statSync(packed).size / 1e6).toFixed(0)} MB zstd); node ${process.version}; ${cpus().length} cpus (${cpus()[0]?.model ?? '?'})`);
for (const row of rows) {
  if (only && !only.includes(row.id)) continue;
  if (row.file === '') row.file = synthSized(ingestRecords);
  const json = execFileSync('node', [`${root}dist/bench/cases.js`, row.caseName, row.file], { encoding: 'utf8' });
  const r = JSON.parse(json) as CaseResult;
  const extra: string[] = [];
  if (typeof r.snapshotsPerSec === 'number') extra.push(`${fmt(r.snapshotsPerSec)} snapshots/s`);
  if (typeof r.p50Ns === 'number') extra.push(`p50 ${r.p50Ns} ns, p99 ${r.p99Ns} ns, p99.9 ${r.p999Ns} ns`);
  if (typeof r.liveOrders === 'number') extra.push(`${r.liveOrders} live orders at end`);
  if (typeof r.rows === 'number') extra.push(`${r.rows} snapshot rows landed`);
  if (typeof r.loopP99Ms === 'number') extra.push(`event-loop delay p99 ${r.loopP99Ms.toFixed(0)} ms, max ${(r.loopMaxMs as number).toFixed(0)} ms`);
  if (typeof r.coldRecordsPerSec === 'number') extra.push(`median of 3 warm passes; first (cold) pass ${fmt(r.coldRecordsPerSec)} records/s; the whole file is in memory`);
  console.log(`${row.label.padEnd(58)} ${fmt(r.recordsPerSec).padStart(9)} records/s  peak RSS ${r.peakRssMb.toFixed(0).padStart(4)} MB  ${extra.join('; ')}`);
}
