import { copyFileSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { startServices as startServer, type RunningServices as RunningServer } from '../../src/cli/services.js';
import { referenceFrame } from './frame-reference.js';
import { rowsOf, type StoredSnapshot } from '../../src/store/port.js';
import { CLX5 } from '../helpers.js';
import { tcpExchange } from './tcp-client.js';

const TOKEN = 'test-write-token-0123456789';
let server: RunningServer;
let store: DuckDbStore;
let base: string;
let stored: StoredSnapshot[];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'booktape-api-'));
  const config = loadConfig({
    PORT: '0', BOOKTAPE_TCP_PORT: '0', BOOKTAPE_DUCKDB_PATH: join(dir, 'api.duckdb'), BOOKTAPE_DATA_ROOTS: dir,
    BOOKTAPE_QUEUE_PREFIX: `bt-api-${randomBytes(6).toString('hex')}`, BOOKTAPE_WRITE_TOKEN: TOKEN, LOG_LEVEL: 'silent',
  });
  copyFileSync(CLX5, join(dir, 'clx5.dbn'));
  store = new DuckDbStore(config.duckdbPath);
  await store.init();
  await ingest(join(dir, 'clx5.dbn'), {
    store, snapshotPolicy: { depth: 10, intervalNs: 0 },
    sourcePolicy: { dataRoots: [dir], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 0 },
  });
  stored = [];
  for await (const s of rowsOf(store.readRange({ symbols: ['CLX5'] }))) stored.push(s);
  server = await startServer(config, store, pino({ level: 'silent' }));
  base = `http://127.0.0.1:${server.httpPort}`;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await store?.close();
});

const ndjson = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l));

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return res.json() as Promise<{ status: number; code: string; detail: string; field?: string }>;
}

describe('HTTP API on the DuckDB store', () => {
  it('GET /v1/instruments', async () => {
    const list = await (await fetch(`${base}/v1/instruments`)).json();
    expect(list).toEqual([{ symbol: 'CLX5', instrument_id: 432669, publisher_id: 1, first_ts_recv: '1758742200001385399', last_ts_recv: '1758751199999903747', snapshots: 32_053, depth: 10 }]);
  });

  it('GET /v1/books/{symbol}: latest by default, at an instant, depth', async () => {
    const latest = await (await fetch(`${base}/v1/books/CLX5?depth=1`)).json();
    expect(latest).toMatchObject({ symbol: 'CLX5', ts_recv: '1758751199999903747', crossed: true, bids: [{ price: '65.400000000', size: 1, count: 1 }], asks: [{ price: '64.780000000', size: 3, count: 1 }] });
    const at = await (await fetch(`${base}/v1/books/CLX5?at=2025-09-24T20:00:00Z&depth=3`)).json();
    expect(BigInt(at.ts_recv) <= 1758744000000000000n).toBe(true);
    expect(at.bids).toHaveLength(3);
    const want = stored.filter((s) => s.tsRecv <= 1758744000000000000n).at(-1)!;
    expect(at.ts_recv).toBe(want.tsRecv.toString());
  });

  it('/metrics reports the book cache: a lookup in a block not yet read is a miss, the next in that block a hit', async () => {
    const cache = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1]);
      return {
        bytes: value(/^booktape_book_cache_bytes (\d+)$/m),
        hits: value(/^booktape_book_cache_lookups_total\{result="hit"\} (\d+)$/m),
        misses: value(/^booktape_book_cache_lookups_total\{result="miss"\} (\d+)$/m),
      };
    };
    const before = await cache();
    // The first two instants lie in the first block, which no earlier test read (they asked for 20:00 and the latest).
    for (const s of [stored[0], stored[1]]) {
      expect((await fetch(`${base}/v1/books/CLX5?at=${s.tsRecv}`)).status).toBe(200);
    }
    const after = await cache();
    expect([after.misses - before.misses, after.hits - before.hits]).toEqual([1, 1]);
    expect(after.bytes).toBeGreaterThan(before.bytes);
  });

  it('404s say what is wrong: unknown symbol, instant before the data', async () => {
    const unknown = await fetch(`${base}/v1/books/NOPE`);
    expect(unknown.status).toBe(404);
    expect(await problem(unknown)).toMatchObject({ code: 'UNKNOWN_SYMBOL', field: 'symbol' });
    const early = await fetch(`${base}/v1/books/CLX5?at=2020-01-01T00:00:00Z`);
    expect(early.status).toBe(404);
    expect(await problem(early)).toMatchObject({ code: 'NO_DATA_AT_INSTANT', field: 'at' });
    const route = await fetch(`${base}/v2/nothing`);
    expect(route.status).toBe(404);
  });

  it.each([
    ['/v1/books/CLX5?depth=0', 'depth'],
    ['/v1/books/CLX5?at=yesterday', 'at'],
    ['/v1/books/CLX5?at=2025-02-30T00:00:00Z', 'at'],
    ['/v1/replay?from=1969-12-31T23:00:00Z', 'from'],
    ['/v1/books/CLX5?bogus=1', ''],
    ['/v1/books/CLX5/snapshots?format=xml', 'format'],
    ['/v1/replay?rate=-5', 'rate'],
    ['/v1/replay?rate=10&speed=2', 'rate'],
    ['/v1/replay?symbols=a;drop', 'symbols'],
    ['/v1/books/CLX5?depth=abc', 'depth'],
    ['/v1/replay?rate=fast', 'rate'],
    ['/v1/replay?from=2025-09-24T21:00:00Z&to=2025-09-24T20:00:00Z', 'to'],
    ['/v1/books/CLX5/snapshots?from=1758747600000000000&to=1758747599999999999', 'to'],
    ['/v1/books/CLX5/snapshots?after=1758747600000000000', 'after'],
    ['/v1/replay?after=1758747600000000000,432669,1,7,65536', 'after'],
    ['/v1/replay?after=18446744073709551616,432669,1,7,0', 'after'],
  ])('validation: %s -> 400 naming the field', async (path, field) => {
    const res = await fetch(base + path);
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.code).toBe('INVALID_PARAMETER');
    if (field) expect(p.field).toBe(field);
    expect(p.detail.length).toBeGreaterThan(5);
    // Says what to send, not how the parser failed.
    expect(p.detail).not.toMatch(/NaN|Invalid input/);
  });

  it('GET /v1/books/{symbol}/snapshots exports ndjson, json and csv with limits', async () => {
    const nd = ndjson(await (await fetch(`${base}/v1/books/CLX5/snapshots?limit=5&depth=2`)).text());
    expect(nd).toEqual(stored.slice(0, 5).map((s) => referenceFrame(s, 2)));
    const json = await (await fetch(`${base}/v1/books/CLX5/snapshots?limit=3&format=json`)).json();
    expect(json).toEqual(stored.slice(0, 3).map((s) => referenceFrame(s, 10)));
    const csv = (await (await fetch(`${base}/v1/books/CLX5/snapshots?limit=2&format=csv&depth=1`)).text()).trim().split('\n');
    expect(csv[0]).toBe('symbol,instrument_id,publisher_id,ts_recv,ts_event,sequence,sub_sequence,action,side,price,size,flags,crossed,locked,bid_px_00,bid_sz_00,bid_ct_00,ask_px_00,ask_sz_00,ask_ct_00');
    expect(csv).toHaveLength(3);
  });

  it('an export pages with after=<the last row\'s key>: every row once, even where a page ends among rows sharing a ts_recv', async () => {
    const keyOf = (f: Record<string, unknown>) => [f.ts_recv, f.instrument_id, f.publisher_id, f.sequence, f.sub_sequence].join(',');
    const pages: unknown[][] = [];
    let after = '';
    for (;;) {
      const page = ndjson(await (await fetch(`${base}/v1/books/CLX5/snapshots?limit=4000&depth=3${after}`)).text());
      pages.push(page);
      if (page.length < 4000) break;
      after = `&after=${keyOf(page.at(-1))}`;
    }
    expect(pages.length).toBe(Math.ceil(stored.length / 4000));
    expect(pages.flat()).toEqual(stored.map((s) => referenceFrame(s, 3)));
    // A page that ends inside a group of rows at one ts_recv: the next starts at the group's next row.
    const i = stored.findIndex((s, k) => k + 2 < stored.length && stored[k + 2].tsRecv === s.tsRecv);
    expect(i).toBeGreaterThanOrEqual(0);
    const s = stored[i];
    const next = ndjson(await (await fetch(`${base}/v1/books/CLX5/snapshots?limit=2&depth=3&after=${s.tsRecv},${s.instrumentId},${s.publisherId},${s.sequence},${s.subSequence}`)).text());
    expect(next).toEqual(stored.slice(i + 1, i + 3).map((x) => referenceFrame(x, 3)));
  });

  it('csv export rows hold the stored values: decimal prices, empty cells for missing levels', async () => {
    const [, ...rows] = (await (await fetch(`${base}/v1/books/CLX5/snapshots?limit=500&format=csv&depth=3`)).text()).trim().split('\n');
    const want = stored.slice(0, 500).map((s) => {
      const f = referenceFrame(s, 3) as { bids: Array<[string, number, number]>; asks: Array<[string, number, number]> } & Record<string, unknown>;
      const cells = [f.symbol, f.instrument_id, f.publisher_id, f.ts_recv, f.ts_event, f.sequence, f.sub_sequence, f.action, f.side, f.price ?? '', f.size, f.flags, f.crossed, f.locked];
      for (let k = 0; k < 3; k++) cells.push(...(f.bids[k] ?? ['', '', '']), ...(f.asks[k] ?? ['', '', '']));
      return cells.map(String).join(',');
    });
    expect(want.some((r) => r.endsWith(',,,'))).toBe(true); // some rows have missing levels
    expect(rows).toEqual(want);
  });

  it('replay over HTTP: chunked NDJSON, every frame equals the stored snapshot in order, end marker with counts', async () => {
    const res = await fetch(`${base}/v1/replay?symbols=CLX5`);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const lines = ndjson(await res.text());
    expect(lines[0]).toMatchObject({ type: 'header', symbols: ['CLX5'], depth: 10 });
    const end = lines.at(-1);
    expect(end).toEqual({ type: 'end', complete: true, frames: 32_053, first_ts_recv: '1758742200001385399', last_ts_recv: '1758751199999903747' });
    const frames = lines.slice(1, -1);
    expect(frames).toHaveLength(stored.length);
    expect(frames).toEqual(stored.map((s) => referenceFrame(s, 10)));
  });

  it('a cut replay resumes with after=<the last frame\'s key>, over HTTP and TCP', async () => {
    const s = stored[20_000];
    const after = `${s.tsRecv},${s.instrumentId},${s.publisherId},${s.sequence},${s.subSequence}`;
    const lines = ndjson(await (await fetch(`${base}/v1/replay?symbols=CLX5&after=${after}`)).text());
    expect(lines[0]).toMatchObject({ type: 'header', after });
    expect(lines.slice(1, -1)).toEqual(stored.slice(20_001).map((x) => referenceFrame(x, 10)));
    expect(lines.at(-1)).toMatchObject({ type: 'end', complete: true, frames: stored.length - 20_001 });
    const tcp = await tcpExchange(server.tcpPort, `${JSON.stringify({ symbols: 'CLX5', after })}\n`);
    expect(ndjson(tcp).slice(1)).toEqual(lines.slice(1));
  });

  it('replay over TCP: one JSON request line, the same NDJSON lines', async () => {
    const text = await tcpExchange(server.tcpPort, '{"symbols":"CLX5"}\n'); // half-closed, as `echo ... | nc` does
    const lines = ndjson(text);
    expect(lines.at(-1)).toMatchObject({ type: 'end', complete: true, frames: 32_053 });
    expect(lines.slice(1, -1)).toEqual(stored.map((s) => referenceFrame(s, 10)));
  });

  it('replay over TCP: a bad request gets one error line', async () => {
    const text = await tcpExchange(server.tcpPort, '{"rate": -1}\n', { halfClose: false });
    expect(JSON.parse(text)).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER' });
  });

  it('replay over TCP: a line that is not JSON, or a request line too long, gets one error line', async () => {
    const ask = (payload: string) => tcpExchange(server.tcpPort, payload, { halfClose: false });
    expect(JSON.parse(await ask('symbols=CLX5\n'))).toMatchObject({ type: 'error', code: 'INVALID_JSON' });
    const long = JSON.parse(await ask(`{"symbols":"${'X'.repeat(20_000)}`)); // no newline yet: the server stops waiting for one
    expect(long).toMatchObject({ type: 'error', status: 413, code: 'REQUEST_TOO_LARGE' });
    expect(long.detail).toContain('16384 bytes');
  });

  it('a client that disconnects stops the database reads at once', async () => {
    let rowsRead = 0;
    const original = store.readRange.bind(store);
    store.readRange = (q, signal) => { const g = original({ ...q, pageSize: 100 }, signal); return (async function* () { for await (const batch of g) { rowsRead += batch.length; yield batch; } })(); };
    try {
      const controller = new AbortController();
      const res = await fetch(`${base}/v1/replay?symbols=CLX5&rate=2000`, { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      await new Promise((r) => setTimeout(r, 300));
      controller.abort();
      await new Promise((r) => setTimeout(r, 500));
      const after = rowsRead;
      await new Promise((r) => setTimeout(r, 500));
      expect(rowsRead).toBe(after); // nothing more read
      expect(after).toBeLessThan(5_000); // ~2000 frames/s for under a second, not the whole range
    } finally {
      store.readRange = original;
    }
  });

  it('a slow client holds server memory bounded (backpressure, no unbounded buffering)', async () => {
    const before = process.memoryUsage().rss;
    const sock = connect(server.tcpPort, '127.0.0.1');
    sock.write('{"symbols":"CLX5"}\n');
    sock.pause(); // reads nothing for a while
    await new Promise((r) => setTimeout(r, 1500));
    const queued = sock.readableLength;
    const growth = process.memoryUsage().rss - before;
    sock.destroy();
    // The whole replay is ~20 MB of JSON: the server stopped at socket buffers plus one chunk.
    expect(queued).toBeLessThan(4 * 1024 * 1024);
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  });

  it('rate paces the stream', async () => {
    const t0 = performance.now();
    const lines = ndjson(await (await fetch(`${base}/v1/replay?symbols=CLX5&rate=2000&to=${stored[599].tsRecv}`)).text());
    const seconds = (performance.now() - t0) / 1000;
    expect(lines.at(-1)).toMatchObject({ type: 'end', frames: 600 });
    expect(seconds).toBeGreaterThan(0.25); // 600 frames at 2000/s cannot arrive faster than ~0.3 s
  });

  it('POST /v1/ingest needs the write token; with it, 202 and the job; GET /v1/jobs/{id}', async () => {
    const post = (source: string, auth = true) => fetch(`${base}/v1/ingest`, {
      method: 'POST', body: JSON.stringify({ source }), headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}) },
    });
    const notDbn = join(dir, 'not-dbn.dbn');
    writeFileSync(notDbn, 'this is no DBN file');
    const anon = await post(notDbn, false);
    expect(anon.status).toBe(401);
    expect(await problem(anon)).toMatchObject({ code: 'UNAUTHORIZED' });
    const bad = await fetch(`${base}/v1/ingest`, { method: 'POST', body: '{"src":1}', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    expect(bad.status).toBe(400);
    // What no worker would fetch is refused now, not queued to fail: a URL not allowed, a path
    // outside the data roots (after .. and symlinks), a file that is not there (this server sees the workers' files).
    const refusals: Array<[string, string]> = [
      ['https://evil.example/x.dbn', 'SOURCE_NOT_ALLOWED'], ['http://', 'SOURCE_NOT_ALLOWED'],
      ['/etc/passwd', 'SOURCE_NOT_ALLOWED'], ['/nowhere/x.dbn', 'SOURCE_NOT_ALLOWED'], [`${dir}/../../etc/passwd`, 'SOURCE_NOT_ALLOWED'],
      [join(dir, 'missing.dbn'), 'SOURCE_NOT_FOUND'], [dir, 'SOURCE_NOT_FOUND'],
    ];
    for (const [source, code] of refusals) {
      const refused = await post(source);
      expect(refused.status, source).toBe(400);
      expect(await problem(refused), source).toMatchObject({ code, field: 'source' });
    }
    // A Databento request: queued under its one text form, once; a request Databento would refuse is refused now, naming the field.
    const postBody = (b: unknown) => fetch(`${base}/v1/ingest`, { method: 'POST', body: JSON.stringify(b), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    const request = { dataset: 'GLBX.MDP3', symbols: ['ES.FUT'], stype_in: 'parent', start: '2024-06-03', end: '2024-06-04' };
    const queued = await postBody({ databento: request });
    expect(queued.status).toBe(202);
    const dbJob = await queued.json();
    expect((await (await postBody({ databento: { ...request, start: '2024-06-03T00:00:00Z' } })).json()).job_id).toBe(dbJob.job_id);
    const viewed = await (await fetch(`${base}/v1/jobs/${dbJob.job_id}`)).json();
    expect(viewed.source).toBe('databento:GLBX.MDP3/mbo?stype_in=parent&symbols=ES.FUT&start=2024-06-03T00:00:00Z&end=2024-06-04T00:00:00Z');
    expect(await problem(await postBody({ databento: { ...request, end: '2024-06-02' } }))).toMatchObject({ code: 'INVALID_PARAMETER', field: 'databento.end' });
    expect(await problem(await postBody({ databento: { ...request, stype_in: 'isin' } }))).toMatchObject({ code: 'INVALID_PARAMETER', field: 'databento.stype_in' });
    expect(await problem(await postBody({ databento: request, source: 'x.dbn' }))).toMatchObject({ code: 'INVALID_PARAMETER', field: 'source' });
    expect(await problem(await postBody({ source: 'databento:GLBX.MDP3/mbo?symbols=ES' }))).toMatchObject({ code: 'BAD_DATABENTO_REQUEST', field: 'source' });
    const ok = await post(notDbn);
    expect(ok.status).toBe(202);
    const { job_id, existing } = await ok.json();
    expect(existing).toBe(false);
    const again = await (await post(notDbn)).json();
    expect(again.job_id).toBe(job_id);
    // The in-process worker fails it: the file is no DBN. Its progress is an object all along, never a bare number.
    let job: { state: string; error: string | null; progress: unknown } = { state: '', error: null, progress: null };
    const seen: unknown[] = [];
    for (let i = 0; i < 100 && job.state !== 'failed'; i++) {
      const res = await fetch(`${base}/v1/jobs/${job_id}`);
      if (res.status !== 503) { // 503: Redis slower than the route's 1 s bound on a loaded machine
        job = await res.json();
        seen.push(job.progress);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(job.state).toBe('failed');
    expect(job.error).toContain('BAD_MAGIC');
    for (const p of seen) expect(p).toEqual({ records: expect.any(Number), bytes: expect.any(Number), total_bytes: expect.toBeOneOf([expect.any(Number), null]), percent: expect.toBeOneOf([expect.any(Number), null]) });
    expect(job.progress).toEqual({ records: 0, bytes: 0, total_bytes: null, percent: 0 });
    const unknown = await fetch(`${base}/v1/jobs/nope`);
    expect(unknown.status).toBe(404);
    expect(await problem(unknown)).toMatchObject({ code: 'UNKNOWN_JOB', field: 'id' });
  });

  it('a completed job\'s progress is its final record count at 100%', async () => {
    const copy = join(dir, 'clx5-again.dbn');
    copyFileSync(CLX5, copy);
    const ok = await fetch(`${base}/v1/ingest`, { method: 'POST', body: JSON.stringify({ source: copy }), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(202);
    const { job_id } = await ok.json();
    let job: { state: string; progress: unknown; summary: { records: number } | null } = { state: '', progress: null, summary: null };
    for (let i = 0; i < 600 && job.state !== 'completed' && job.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${base}/v1/jobs/${job_id}`);
      if (res.status === 503) continue; // Redis slower than the route's 1 s bound on a loaded machine: ask again
      job = await res.json();
      expect(typeof job.progress, JSON.stringify(job)).toBe('object');
    }
    expect(job.state).toBe('completed');
    expect(job.progress).toEqual({ records: 38_212, bytes: statSync(CLX5).size, total_bytes: statSync(CLX5).size, percent: 100 });
  }, 90_000);

  it('Bull Board needs the token; docs, OpenAPI, metrics, health and readiness answer', async () => {
    expect((await fetch(`${base}/admin/queues`)).status).toBe(401);
    const basic = Buffer.from(`admin:${TOKEN}`).toString('base64');
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: `Basic ${basic}` } })).status).toBe(200);
    const spec = await (await fetch(`${base}/openapi.json`)).json();
    for (const p of ['/v1/instruments', '/v1/books/{symbol}', '/v1/books/{symbol}/snapshots', '/v1/replay', '/v1/ingest', '/v1/jobs/{id}']) {
      expect(Object.keys(spec.paths)).toContain(p);
    }
    expect((await fetch(`${base}/docs/`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('booktape_http_request_duration_seconds_bucket');
    expect(metrics).toMatch(/booktape_replay_frames_total\{transport="http"\} \d+/);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ status: 'ready', checks: { store: 'ok', redis: 'ok' } });
  });
});
