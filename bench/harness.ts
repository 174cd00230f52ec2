/**
 * What the API benchmarks share: the bench store (built once under
 * bench/out: CLX5 plus a synthetic file), a `booktape serve` child process
 * on it, and the floors: a bare server in another process that answers
 * every request with fixed bytes.
 *   BENCH_API_RECORDS   synthetic records ingested for the store (default 700,000: ~540k frames)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const out = `${root}bench/out`;
export const cli = `${root}dist/src/cli.js`;
const records = Number(process.env.BENCH_API_RECORDS ?? 700_000);
export const dbPath = `${out}/api-${records}.duckdb`;
export const PORT = 18_181;
export const TCP_PORT = 18_182;
/** The bare servers' port. */
const BARE_PORT = PORT + 10;
export const base = `http://127.0.0.1:${PORT}`;
const env = {
  // The embedded store, whatever the shell's QDB_CLIENT_CONF says (the QuestDB benches name it themselves).
  ...process.env, BOOKTAPE_STORE: 'duckdb', BOOKTAPE_DUCKDB_PATH: dbPath, BOOKTAPE_DATA_ROOTS: out, PORT: String(PORT), BOOKTAPE_TCP_PORT: String(TCP_PORT),
  LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:1', // reads only: the bench needs no jobs
  BOOKTAPE_MAX_STREAMS: '64', // the 50-client replay: none refused
};
const require = createRequire(import.meta.url);

/** Builds the bench store unless it is there. */
export function ensureStore(): void {
  mkdirSync(out, { recursive: true });
  if (existsSync(dbPath)) return;
  process.stderr.write(`bench: building ${dbPath}\n`);
  ingestBenchFiles();
}

/** The bench store's files (CLX5 and the synthetic file, made if missing), ingested with `settings` over the bench's environment. */
export function ingestBenchFiles(settings: Record<string, string> = {}): void {
  mkdirSync(out, { recursive: true });
  const synth = `${out}/synth-${records}.dbn`;
  if (!existsSync(synth)) execFileSync('node', [cli, 'synth', synth, '--records', String(records), '--seed', '1'], { stdio: 'inherit' });
  copyFileSync(`${root}data/CLX5_mbo.dbn`, `${out}/CLX5_mbo.dbn`);
  for (const f of [`${out}/CLX5_mbo.dbn`, synth]) execFileSync('node', [cli, 'ingest', f], { env: { ...env, ...settings }, stdio: ['ignore', 'ignore', 'inherit'] });
}

let server: ChildProcess | null = null;

/** Starts `booktape serve` on the bench store (with `settings` over the bench's); the last one must have stopped (stopped()). */
export async function serve(settings: Record<string, string> = {}): Promise<void> {
  server = await startServer(base, settings);
}

/** A `booktape serve` child at `url` (its PORT), with `settings` over the bench's, once /healthz answers. */
export async function startServer(url: string, settings: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn('node', [cli, 'serve'], { env: { ...env, PORT: new URL(url).port, ...settings }, stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', () => child.kill('SIGTERM'));
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) return child; } catch { /* not yet */ }
    if (i > 300 || child.exitCode !== null) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const stop = () => server?.kill('SIGTERM');

/** The serve process's pid, for cpuMs. */
export const serverPid = (): number => server!.pid!;

/**
 * CPU time (user + system, ms) a process has used so far, from
 * /proc/<pid>/stat (in clock ticks of 10 ms): what a request costs the server
 * whatever else the machine is doing, where latency under load swings with it.
 */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Stops the server and waits for it to exit: DuckDB lets one process open the store, this one or the next server. */
export async function stopped(): Promise<void> {
  if (server === null || server.exitCode !== null) return;
  const exit = once(server, 'exit');
  stop();
  await exit;
}
process.on('exit', stop);

/** Reads a response, counting its bytes and lines (newlines); an answer other than 2xx is an error, not a figure. */
export async function readLines(url: string): Promise<{ lines: number; bytes: number; seconds: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
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

/**
 * A bare server in another process, as the API is: it answers every request
 * with `head` (if any) and then `reply` written `times` times over (in
 * chunks of about 64 KB, waiting for 'drain'), and does nothing else. The
 * same load against it gives this machine's floor: with node:http, no
 * server here does better; with `express`, no Express app (as the API is)
 * does better.
 */
export async function bareServer(
  reply: Buffer, times = 1, express = false, head: Buffer = Buffer.alloc(0),
): Promise<{ url: string; pid: number; close: () => Promise<void> }> {
  const handler = `async (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': head.length + reply.length * times });
      if (head.length > 0) res.write(head);
      for (let left = times; left > 0; left -= per) {
        if (!res.write(left >= per ? chunk : chunk.subarray(0, left * reply.length))) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    }`;
  const app = express ? `require(${JSON.stringify(require.resolve('express'))})().use(${handler})` : handler;
  const bare = spawn('node', ['-e', `
    const reply = Buffer.from(process.argv[1], 'base64');
    const times = Number(process.argv[2]);
    const head = Buffer.from(process.argv[3], 'base64');
    const per = Math.max(1, Math.min(times, Math.floor(65536 / reply.length)));
    const chunk = Buffer.concat(Array(per).fill(reply));
    require('node:http').createServer(${app}).listen(${BARE_PORT}, '127.0.0.1', () => process.stdout.write('up'));`,
  reply.toString('base64'), String(times), head.toString('base64')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const gone = once(bare, 'exit');
  const exited = gone.then(([code]) => { throw new Error(`the bare server exited (${code}) before it listened`); });
  await Promise.race([once(bare.stdout, 'data'), exited]);
  exited.catch(() => undefined); // killed later, on purpose
  // Closed once it has exited, so that the next bare server can take the port.
  return { url: `http://127.0.0.1:${BARE_PORT}`, pid: bare.pid!, close: async () => { bare.kill(); await gone; } };
}

/** "x of floor" as a percentage, with the target it is held to. */
export function ratio(value: number, floor: number, target: string): string {
  return `${((value / floor) * 100).toFixed(0)}% of floor (target ${target})`;
}

/**
 * Reads a stream; per chunk, calls `count` for the units (records, lines)
 * that completed in it, and records each unit's arrival time.
 */
export async function receive(url: string, count: (chunk: Buffer) => number): Promise<{ units: number; bytes: number; seconds: number; arrivals: Float64Array; head: Buffer }> {
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

/** Whole records of `recordBytes` in a DBN stream read chunk by chunk (the metadata first, its length from the prelude). */
export function dbnCounter(recordBytes: number): (chunk: Buffer) => number {
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
    partial = bytes % recordBytes;
    return (bytes - partial) / recordBytes;
  };
}

/** Lines in an NDJSON stream's chunk. */
export function lineCounter(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

/** Lateness of each unit against a schedule of `rate` a second from the first arrival: p50, p99, max in ms. */
export function lateness(arrivals: Float64Array, rate: number): string {
  const late = new Float64Array(arrivals.length);
  for (let n = 0; n < arrivals.length; n++) late[n] = arrivals[n] - (arrivals[0] + (n * 1000) / rate);
  late.sort();
  const at = (q: number) => late[Math.min(late.length - 1, Math.floor(q * late.length))].toFixed(1);
  return `lateness p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

/** A lookup load's figures. */
export interface Load { p50: number; p99: number; rps: number; errors: number; total: number; cpuUs: number }
export const described = (r: Load) => `p50 ${r.p50} ms  p99 ${r.p99} ms  ${r.rps.toFixed(0)} req/s  errors ${r.errors}/${r.total}  server CPU ${r.cpuUs.toFixed(0)} µs/req`;

/** 100 connections (autocannon: one request in flight on each, as 100 concurrent clients), `amount` requests in all: `pathOf(connection, its request number)` for each; latency, rate, errors and the server's CPU per request. */
export async function load(target: string, pid: number, amount: number, pathOf: (client: number, k: number) => string): Promise<Load> {
  let clients = 0;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  let last = t0;
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const run = autocannon({
      url: target, connections: 100, amount, timeout: 30,
      requests: [{
        setupRequest: (req, context: { client?: number; k?: number }) => {
          if (context.client === undefined) [context.client, context.k] = [clients++, 0];
          return { ...req, path: pathOf(context.client, context.k!++) };
        },
      }],
    }, (err, result) => (err ? reject(err) : resolve(result)));
    // autocannon ends a run on its next 1-second tick: the rate is taken up to the last reply.
    run.on('response', () => { last = performance.now(); });
  });
  const errors = r.errors + r.timeouts + r.non2xx;
  const cpuUs = ((cpuMs(pid) - cpu0) * 1000) / r.requests.total;
  return { p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.total / ((last - t0) / 1000), errors, total: r.requests.total, cpuUs };
}

