import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI, ROOT } from '../helpers.js';

/**
 * The processes docker-compose.yml starts, started here with the environment
 * compose gives them: a password-protected Redis of our own (as compose's),
 * the worker and the API from the image's command, then the full-stack
 * commands of the docs run against them: enqueue (CLI and HTTP), the job
 * completes, the book, a replay over HTTP and over TCP, SIGTERM.
 *
 * With a QuestDB (BOOKTAPE_TEST_QDB_CLIENT_CONF) the topology is compose's:
 * a worker process and an API process on QuestDB. Without one (CI) the
 * store is the embedded DuckDB, which allows one process per file, so the
 * API process runs the ingest jobs itself and no separate worker starts.
 */
interface Service { command: string[]; environment: Record<string, string> }
const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const qdb = process.env.BOOKTAPE_TEST_QDB_CLIENT_CONF;
const SECRETS = { REDIS_PASSWORD: 'a1'.repeat(16), QUESTDB_PASSWORD: 'b2'.repeat(16), BOOKTAPE_WRITE_TOKEN: 'c3'.repeat(16) };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A service's environment as compose builds it from .env, then moved from compose's network to this machine. */
function envOf(svc: Service, moves: { redisPort: number; inbox: string; duckdb: string; ports: Record<string, number> }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.environment)) {
    env[k] = String(v).replace(/\$\{([A-Z_]+)(?::[?-][^}]*)?\}/g, (_, name: string) => SECRETS[name as keyof typeof SECRETS] ?? '');
  }
  env.REDIS_URL = env.REDIS_URL.replace('@redis:6379', `@127.0.0.1:${moves.redisPort}`);
  if (qdb !== undefined) env.QDB_CLIENT_CONF = qdb;
  else {
    delete env.QDB_CLIENT_CONF;
    env.BOOKTAPE_STORE = 'duckdb';
    env.BOOKTAPE_DUCKDB_PATH = moves.duckdb;
  }
  for (const [k, port] of Object.entries(moves.ports)) if (env[k] !== undefined) env[k] = String(port);
  if (env.BOOKTAPE_DATA_ROOTS) env.BOOKTAPE_DATA_ROOTS = `${ROOT}data,${moves.inbox}`;
  if (env.BOOKTAPE_INBOX) env.BOOKTAPE_INBOX = moves.inbox;
  env.LOG_LEVEL = 'warn';
  return env;
}

/** Starts a compose service's command from the repository root (the image's WORKDIR holds the same dist/). */
function start(svc: Service, env: Record<string, string>): ChildProcess {
  const [program, ...args] = svc.command;
  expect(program).toBe('node');
  const child = spawn(process.execPath, args.map((a) => (a === 'dist/src/cli.js' ? CLI : a)), {
    cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { output.push(s); });
  return child;
}
const output: string[] = [];

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms; processes said:\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

describe(`the compose stack's processes on this machine (${qdb ? 'worker + API on QuestDB' : 'API with in-process jobs on the embedded store: no QuestDB (BOOKTAPE_TEST_QDB_CLIENT_CONF)'})`, () => {
  const dir = mkdtempSync(`${tmpdir()}/booktape-stack-`);
  let redis: ChildProcess;
  let worker: ChildProcess | null = null;
  let api: ChildProcess;
  let base = '';
  let tcpPort = 0;
  let metricsPort = 0;
  let apiEnv: Record<string, string>;
  /** `docker compose exec worker ... enqueue` runs with the worker's environment; the API's when it runs the jobs. */
  let enqueueEnv: Record<string, string>;

  beforeAll(async () => {
    const redisPort = await freePort();
    // compose's Redis: a password, nothing published; here on a free loopback port.
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--requirepass', SECRETS.REDIS_PASSWORD, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const ports = { PORT: await freePort(), BOOKTAPE_TCP_PORT: await freePort(), BOOKTAPE_METRICS_PORT: await freePort() };
    const moves = { redisPort, inbox: `${dir}/inbox`, duckdb: `${dir}/booktape.duckdb`, ports };
    const services = compose.services;
    apiEnv = envOf(services.api, moves);
    const workerEnv = envOf(services.worker, moves);
    if (qdb === undefined) {
      // serve runs the jobs: it needs the worker's data roots and inbox.
      for (const k of ['BOOKTAPE_DATA_ROOTS', 'BOOKTAPE_INBOX', 'BOOKTAPE_WORKER_CONCURRENCY']) apiEnv[k] = workerEnv[k];
    }
    await until('Redis answers', async () => (await redisPing(redisPort)) || undefined, 10_000);
    enqueueEnv = qdb === undefined ? apiEnv : workerEnv;
    if (qdb !== undefined) worker = start(services.worker, workerEnv);
    api = start(services.api, apiEnv);
    base = `http://127.0.0.1:${ports.PORT}`;
    tcpPort = ports.BOOKTAPE_TCP_PORT;
    metricsPort = ports.BOOKTAPE_METRICS_PORT;
    await until('the API is ready', async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined));
  }, 180_000);

  afterAll(async () => {
    for (const child of [api, worker]) if (child && child.exitCode === null) child.kill('SIGKILL');
    redis?.kill('SIGTERM');
    if (redis) await exited(redis);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worker is ready on its metrics port (its compose healthcheck), when it runs apart', async () => {
    if (worker === null) return; // the API runs the jobs: its /readyz above covered it
    await until('the worker is ready', async () => ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok ? true : undefined));
  });

  it('enqueue (CLI, as `docker compose exec worker ... enqueue`, and HTTP); the job completes; the book answers', async () => {
    const sample = `${ROOT}data/CLX5_mbo.dbn`;
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'enqueue', sample], {
      cwd: ROOT, env: { PATH: process.env.PATH, ...enqueueEnv },
    });
    const queued = JSON.parse(stdout) as { job_id: string };
    expect(queued.job_id).toBeTruthy();
    // Without the token, no write.
    const refused = await fetch(`${base}/v1/ingest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source: sample }) });
    expect(refused.status).toBe(401);
    const res = await fetch(`${base}/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.BOOKTAPE_WRITE_TOKEN}` },
      body: JSON.stringify({ source: sample }),
    });
    expect(res.status).toBe(202);
    const job = (await res.json()) as { job_id: string; existing: boolean };
    expect(job).toMatchObject({ job_id: queued.job_id, existing: true }); // one job per source
    const done = await until('the job completes', async () => {
      const j = (await (await fetch(`${base}/v1/jobs/${job.job_id}`)).json()) as { state: string; error?: unknown };
      return j.state === 'completed' || j.state === 'failed' ? j : undefined;
    }, 150_000);
    expect(done.state, JSON.stringify(done)).toBe('completed');
    const book = await fetch(`${base}/v1/books/CLX5?depth=5`);
    expect(book.status).toBe(200);
    const b = (await book.json()) as { symbol: string; bids: unknown[]; asks: unknown[] };
    expect(b.symbol).toBe('CLX5');
    expect(b.bids.length + b.asks.length).toBeGreaterThan(0);
  }, 240_000);

  it('replays over HTTP and over TCP', async () => {
    const http = await fetch(`${base}/v1/replay?symbols=CLX5&rate=1000`);
    expect(http.status).toBe(200);
    const reader = http.body!.getReader();
    let text = '';
    while (text.split('\n').length <= 3) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    await reader.cancel();
    const lines = text.split('\n').slice(0, 3).map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(['header', 'snapshot', 'snapshot']);

    const socket = connect(tcpPort, '127.0.0.1');
    socket.write(JSON.stringify({ symbols: 'CLX5', rate: 1000 }) + '\n');
    const tcpLines: Array<{ type: string }> = [];
    for await (const line of createInterface({ input: socket })) {
      tcpLines.push(JSON.parse(line) as { type: string });
      if (tcpLines.length === 3) break;
    }
    socket.destroy();
    expect(tcpLines.map((l) => l.type)).toEqual(['header', 'snapshot', 'snapshot']);
  }, 60_000);

  it('SIGTERM stops every process, exit code 0', async () => {
    for (const child of [api, worker]) child?.kill('SIGTERM');
    const codes = await Promise.all([api, worker].filter((c): c is ChildProcess => c !== null).map(exited));
    expect(codes.every((c) => c === 0), output.join('')).toBe(true);
  }, 60_000);
});

/** PING with compose's password over plain TCP: PONG means Redis is up and took the password. */
async function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('error', () => resolve(false));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('PONG')) { s.destroy(); resolve(true); }
      if (got.startsWith('-')) { s.destroy(); resolve(false); }
    });
    s.write(`AUTH ${SECRETS.REDIS_PASSWORD}\r\nPING\r\n`);
  });
}
