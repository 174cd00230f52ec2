import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { startServices as startServer, type RunningServices as RunningServer } from '../../src/cli/services.js';
import type { SnapshotStore } from '../../src/store/port.js';
import { CLX5 } from '../helpers.js';
import { tcpExchange } from './tcp-client.js';

/**
 * What clients see when the store fails under them. The failures are real:
 * the CLX5 store is opened again with a DuckDB memory limit too small for any
 * query, so DuckDB itself answers "Out of Memory Error" (the limit a busy
 * embedded store hits). Unexpected errors (bugs) come from a store whose one
 * method throws a TypeError.
 */

/** Log lines written by the server, parsed. */
function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, log: pino({ level: 'warn' }, sink) };
}

let dir: string;
let config: Config;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'booktape-fail-'));
  config = loadConfig({
    PORT: '0', BOOKTAPE_TCP_PORT: '0', BOOKTAPE_DUCKDB_PATH: join(dir, 'clx5.duckdb'), BOOKTAPE_DATA_ROOTS: dir,
    REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent',
  });
  copyFileSync(CLX5, join(dir, 'clx5.dbn'));
  const store = new DuckDbStore(config.duckdbPath);
  await store.init();
  await ingest(join(dir, 'clx5.dbn'), {
    store, snapshotPolicy: { depth: 10, intervalNs: 0 },
    sourcePolicy: { dataRoots: [dir], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 0 },
  });
  await store.close();
}, 120_000);

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return res.json() as Promise<{ status: number; code: string; detail: string }>;
}

const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the API on a store out of memory (DuckDB memory_limit 2MB)', () => {
  let store: DuckDbStore;
  let server: RunningServer;
  let base: string;
  const { lines: logged, log } = capturedLog();

  beforeAll(async () => {
    store = new DuckDbStore(config.duckdbPath, '2MB');
    await store.init();
    server = await startServer(config, store, log);
    base = `http://127.0.0.1:${server.httpPort}`;
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it.each(['/v1/instruments', '/v1/books/CLX5', '/v1/books/CLX5/snapshots?limit=10'])(
    'GET %s is a 503 STORE_BUSY that says which limit to raise',
    async (path) => {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(503);
      const p = await problem(res);
      expect(p.code).toBe('STORE_BUSY');
      expect(p.detail).toContain('BOOKTAPE_DUCKDB_MEMORY');
      expect(p.detail).toContain('2MB');
      expect(p.detail).toContain('Out of Memory Error');
    },
  );

  it('a replay naming a symbol is a 503 STORE_BUSY before it starts: checking the symbol needs the store', async () => {
    const res = await fetch(`${base}/v1/replay?symbols=CLX5`);
    expect(res.status).toBe(503);
    expect((await problem(res)).code).toBe('STORE_BUSY');
    expect(JSON.parse(await tcpExchange(server.tcpPort, '{"symbols":"CLX5"}\n'))).toMatchObject({ type: 'error', status: 503, code: 'STORE_BUSY' });
  });

  it('an HTTP replay gets its header, then an error line in place of the end line; the failure is logged', async () => {
    const res = await fetch(`${base}/v1/replay`);
    expect(res.status).toBe(200);
    const got = lines(await res.text());
    expect(got[0].type).toBe('header');
    expect(got.at(-1)).toMatchObject({ type: 'error', code: 'STORE_BUSY', frames: got.length - 2 });
    expect(String(got.at(-1)!.detail)).toContain('BOOKTAPE_DUCKDB_MEMORY');
    expect(got.some((l) => l.type === 'end')).toBe(false);
    // An outage, not a defect: one warn line with its code, no stack (docs/operations.md).
    const entry = logged.find((l) => l.msg === 'http replay failed');
    expect(entry).toMatchObject({ level: 40, code: 'STORE_BUSY', err: expect.stringContaining('Out of Memory') });
    expect(entry).not.toHaveProperty('stack');
  });

  it('a TCP replay ends the same way (here its symbols\' check already fails: the error line is all it gets)', async () => {
    const got = lines(await tcpExchange(server.tcpPort, '{"symbols":"CLX5"}\n'));
    expect(['header', 'error']).toContain(got[0].type);
    expect(got.at(-1)).toMatchObject({ type: 'error', status: 503, code: 'STORE_BUSY' });
    expect(got.some((l) => l.type === 'end')).toBe(false);
    expect(logged.find((l) => l.msg === 'tcp replay failed')).toMatchObject({ level: 40, code: 'STORE_BUSY' });
    expect(logged.filter((l) => l.level === 50)).toEqual([]);
  });
});

describe('the API when something unexpected fails (a bug)', () => {
  let real: DuckDbStore;
  let server: RunningServer;
  let base: string;
  const { lines: logged, log } = capturedLog();

  beforeAll(async () => {
    real = new DuckDbStore(config.duckdbPath);
    await real.init();
    // The real store, but two of its methods fail as a bug would.
    const broken: SnapshotStore = Object.create(real);
    broken.listInstruments = () => Promise.reject(new TypeError('secret internals: x is undefined'));
    broken.readRange = async function* () { throw new TypeError('secret internals: y is undefined'); };
    server = await startServer(config, broken, log);
    base = `http://127.0.0.1:${server.httpPort}`;
  });

  afterAll(async () => {
    await server?.close();
    await real?.close();
  });

  it('is a 500 INTERNAL with no internals in the body, and the stack in the log', async () => {
    const res = await fetch(`${base}/v1/instruments`);
    expect(res.status).toBe(500);
    const body = await problem(res);
    expect(body.code).toBe('INTERNAL');
    expect(JSON.stringify(body)).not.toContain('secret');
    const entry = logged.find((l) => l.msg === 'request failed');
    expect(entry?.err).toContain('secret internals: x');
    expect(String(entry?.stack)).toContain('TypeError');
  });

  it('a replay ends with an INTERNAL error line that shows no internals', async () => {
    const got = lines(await (await fetch(`${base}/v1/replay`)).text());
    expect(got).toHaveLength(2);
    expect(got[1]).toEqual({ type: 'error', status: 500, code: 'INTERNAL', detail: expect.any(String), frames: 0 });
    expect(JSON.stringify(got)).not.toContain('secret');
    const entry = logged.find((l) => l.msg === 'http replay failed');
    expect(entry).toMatchObject({ level: 50, err: expect.stringContaining('secret internals: y') });
    expect(String(entry?.stack)).toContain('TypeError');
  });

  it('the routes that do not list instruments still answer', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/openapi.json`)).status).toBe(200);
    // A read that names a symbol checks it against the listing, and fails with it.
    const books = await fetch(`${base}/v1/books/CLX5?depth=1`);
    expect(books.status).toBe(500);
    expect(JSON.stringify(await problem(books))).not.toContain('secret');
  });
});
