import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLX5, recordsOf } from '../helpers.js';
import { httpRequest, rawRequest, type RawResponse } from './raw-http.js';
import { READ_TOKEN, WRITE_TOKEN, serve, variantOfClx5, type Served } from './served.js';
import { tcpExchange } from './tcp-client.js';

/**
 * Issue 23, HTTP side: every bad request gets a typed 4xx answer in bounded
 * time, before anything is read that the client is not allowed to send.
 * CLX5 is stored from one publisher; CLZ5 (the same book under another
 * instrument id) from two: a lookup never picks one silently, and a range
 * read streams both books, each frame naming its publisher.
 */
let s: Served;
const read = { authorization: `Bearer ${READ_TOKEN}` };
const write = { authorization: `Bearer ${WRITE_TOKEN}`, 'content-type': 'application/json' };

beforeAll(async () => {
  s = await serve({
    'clx5.dbn': CLX5,
    'clz5-p1.dbn': variantOfClx5({ symbol: 'CLZ5', instrumentId: 432670, publisherId: 1 }),
    'clz5-p2.dbn': variantOfClx5({ symbol: 'CLZ5', instrumentId: 432670, publisherId: 2 }),
  });
}, 180_000);

afterAll(async () => {
  await s?.close();
});

const port = () => s.server.httpPort;
const ask = (method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer, timeoutMs = 10_000) =>
  rawRequest(port(), httpRequest(method, target, headers, body), { timeoutMs });

function expectProblem(res: RawResponse, status: number, code?: string): { code: string; detail: string; field?: string } {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  const p = JSON.parse(res.body) as { code: string; detail: string; field?: string; status: number };
  expect(p.status).toBe(status);
  if (code !== undefined) expect(p.code).toBe(code);
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  return p;
}

const errorsLogged = () => s.logged.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);

describe('authentication', () => {
  it('a 401 asks for what its body says to send: a write Basic (a browser\'s prompt) or Bearer, a read Bearer only', async () => {
    for (const [target, init] of [['/admin/queues', {}], ['/v1/ingest', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }]] as const) {
      const res = await fetch(`${s.base}${target}`, init);
      expect(res.status).toBe(401);
      const challenges = res.headers.get('www-authenticate')!;
      expect(challenges).toMatch(/^Basic realm="booktape"/);
      expect(challenges).toContain('Bearer realm="booktape"');
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).toBe('UNAUTHORIZED');
      expect(body.detail).toMatch(/"Authorization: Bearer <token>".*password of HTTP Basic/);
    }
    const read = await fetch(`${s.base}/v1/instruments`);
    expect(read.status).toBe(401);
    expect(read.headers.get('www-authenticate')).toBe('Bearer realm="booktape"');
    const body = (await read.json()) as { detail: string };
    expect(body.detail).toContain('"Authorization: Bearer <token>"');
    expect(body.detail).not.toContain('Basic');
  });

  it('auth schemes are case-insensitive (RFC 9110): bearer, BEARER, basic', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      const res = await ask('GET', '/v1/instruments', { authorization: `${scheme} ${READ_TOKEN}` });
      expect(res.status, scheme).toBe(200);
    }
    const basic = Buffer.from(`admin:${WRITE_TOKEN}`).toString('base64');
    for (const scheme of ['basic', 'BASIC', 'Basic']) {
      expect((await ask('GET', '/admin/queues', { authorization: `${scheme} ${basic}` })).status, scheme).toBe(200);
    }
    // A right scheme with a wrong token, or the token under another scheme, is still refused.
    expectProblem(await ask('GET', '/v1/instruments', { authorization: `bearer ${READ_TOKEN}x` }), 401, 'UNAUTHORIZED');
    expectProblem(await ask('GET', '/v1/instruments', { authorization: `Token ${READ_TOKEN}` }), 401, 'UNAUTHORIZED');
    expectProblem(await ask('GET', '/v1/instruments', { authorization: `bearer${READ_TOKEN}` }), 401, 'UNAUTHORIZED');
  });

  it('an unauthenticated write gets its 401 before the body is read', async () => {
    // Headers promise a megabyte that never comes: a server that read the body first would wait.
    const head = httpRequest('POST', '/v1/ingest', { 'content-type': 'application/json', 'content-length': '1000000' });
    const res = await rawRequest(port(), Buffer.concat([head, Buffer.from('{"source":')]), { timeoutMs: 3000 });
    expectProblem(res, 401, 'UNAUTHORIZED');
    // The same with a body the server could not decode or would find too large: still 401, not 413/415.
    expectProblem(await ask('POST', '/v1/ingest', { 'content-type': 'application/json', 'content-encoding': 'bogus' }, '{}'), 401, 'UNAUTHORIZED');
    expectProblem(await ask('POST', '/v1/ingest', { 'content-type': 'application/json' }, `{"source":"${'x'.repeat(20_000)}"}`), 401, 'UNAUTHORIZED');
    expectProblem(await ask('POST', '/v1/ingest', { 'content-type': 'application/json; charset=klingon' }, '{}'), 401, 'UNAUTHORIZED');
  });
});

describe('hostile transport input gets a 4xx problem, never a 500', () => {
  it('malformed % encoding in the path: 400', async () => {
    for (const path of ['/v1/books/%E0%A4%A', '/v1/books/%', '/v1/books/%ZZ/snapshots', '/v1/jobs/%C0%AF']) {
      expectProblem(await ask('GET', path, read), 400, 'INVALID_PATH');
    }
  });

  it('a body over 16 KB: 413', async () => {
    const p = expectProblem(await ask('POST', '/v1/ingest', write, JSON.stringify({ source: 'x'.repeat(17 * 1024) })), 413, 'BODY_TOO_LARGE');
    expect(p.detail).toContain('16384 bytes');
    // Announced by its length only: refused without waiting for it.
    const head = httpRequest('POST', '/v1/ingest', { ...write, 'content-length': String(1 << 30) });
    expectProblem(await rawRequest(port(), head, { timeoutMs: 3000 }), 413, 'BODY_TOO_LARGE');
  });

  it('an unsupported charset: 415', async () => {
    const p = expectProblem(await ask('POST', '/v1/ingest', { ...write, 'content-type': 'application/json; charset=klingon' }, '{"source":"x.dbn"}'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(p.detail).toMatch(/charset/i);
  });

  it('an unknown or undecodable content-encoding: 415 or 400', async () => {
    const unknown = expectProblem(await ask('POST', '/v1/ingest', { ...write, 'content-encoding': 'x-klingon' }, '{"source":"x.dbn"}'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(unknown.detail).toMatch(/encoding/i);
    expectProblem(await ask('POST', '/v1/ingest', { ...write, 'content-encoding': 'gzip' }, 'not gzip at all'), 400, 'INVALID_BODY');
    // A real gzip body is taken (its source a file under the data roots, which the job then finds is no DBN).
    writeFileSync(join(s.dir, 'gz.dbn'), 'not DBN');
    const ok = await ask('POST', '/v1/ingest', { ...write, 'content-encoding': 'gzip' }, gzipSync(JSON.stringify({ source: join(s.dir, 'gz.dbn') })));
    expect(ok.status, ok.body).toBe(202);
  });

  it('a body that is not JSON: 415 saying JSON is required', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const headers: Record<string, string> = { authorization: write.authorization, ...(type ? { 'content-type': type } : {}) };
      const p = expectProblem(await ask('POST', '/v1/ingest', headers, 'source=x.dbn'), 415, 'JSON_REQUIRED');
      expect(p.detail).toContain('application/json');
    }
  });

  it('what Node\'s parser refuses (bad request line, headers over 16 KB, bad framing) is problem+json too, and the connection closes', async () => {
    const raw = (request: string) => rawRequest(port(), request, { timeoutMs: 3000 });
    for (const request of [
      'GARBAGE\r\n\r\n',
      'GET /v1/instruments HTTP/9.9.9\r\n\r\n',
      'GET /v1/instruments HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n',
      'POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]) {
      const res = await raw(request);
      expectProblem(res, 400, 'MALFORMED_REQUEST');
      expect(res.headers.connection).toBe('close');
    }
    const big = await raw(`GET /v1/instruments HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    expect(expectProblem(big, 431, 'HEADERS_TOO_LARGE').detail).toContain('16 KB');
  });

  it('none of these were logged as errors', () => {
    expect(errorsLogged()).toEqual([]);
  });
});

describe('ingest sources: only http(s) to allowed hosts', () => {
  it.each([
    'ftp://example.com/x.dbn', 'file:///etc/passwd', 'FILE:///etc/passwd', 'gopher://127.0.0.1:6379/_FLUSHALL', 'data:,hello',
    'http://127.0.0.1/x.dbn', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:6379/', 'http://localhost/x.dbn',
    'http://2130706433/x.dbn', 'http://0x7f.1/x.dbn', 'https://allowed.example@127.0.0.1/x.dbn',
  ])('%s: 400 SOURCE_NOT_ALLOWED', async (source) => {
    const res = await ask('POST', '/v1/ingest', write, JSON.stringify({ source }));
    expect(expectProblem(res, 400, 'SOURCE_NOT_ALLOWED').field).toBe('source');
  });
});

describe('unknown symbols and empty ranges', () => {
  it('an unknown symbol is 404 UNKNOWN_SYMBOL on every route', async () => {
    for (const path of ['/v1/books/NOPE', '/v1/books/NOPE/snapshots', '/v1/books/NOPE/snapshots?format=csv', '/v1/replay?symbols=NOPE', '/v1/replay?symbols=CLX5,NOPE']) {
      const p = expectProblem(await ask('GET', path, read), 404, 'UNKNOWN_SYMBOL');
      expect(p.detail).toContain('NOPE');
      expect(p.detail).not.toContain('CLX5,');
    }
  });

  it('over TCP, an unknown symbol is one UNKNOWN_SYMBOL error line', async () => {
    const text = await tcpExchange(s.server.tcpPort, JSON.stringify({ symbols: 'CLX5,NOPE', token: READ_TOKEN }) + '\n');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string; detail?: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'error', status: 404, code: 'UNKNOWN_SYMBOL' });
    expect(lines[0].detail).toContain('NOPE');
  });

  it('an empty range of a known symbol is a valid empty answer', async () => {
    const range = 'from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z';
    const nd = await ask('GET', `/v1/books/CLX5/snapshots?${range}`, read);
    expect([nd.status, nd.body]).toEqual([200, '']);
    const json = await ask('GET', `/v1/books/CLX5/snapshots?${range}&format=json`, read);
    expect([json.status, json.body]).toEqual([200, '[]']);
    const replay = await ask('GET', `/v1/replay?symbols=CLX5&${range}`, read);
    expect(replay.status).toBe(200);
    const lines = replay.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ type: 'end', complete: true, frames: 0 });
  });
});

describe('publishers: never mixed or picked silently', () => {
  it('a lookup of a symbol with several publishers needs publisher_id, and the answer names them', async () => {
    const p = expectProblem(await ask('GET', '/v1/books/CLZ5', read), 400, 'PUBLISHER_REQUIRED');
    expect(p.field).toBe('publisher_id');
    expect(p.detail).toMatch(/1, 2/);
  });

  it('a replay or export of a symbol with several publishers streams every book, interleaved in key order', async () => {
    type Frame = { ts_recv: string; instrument_id: number; publisher_id: number; sequence: number; sub_sequence: number };
    type Key = readonly [bigint, number, number, number, number];
    const keyOf = (f: Frame): Key => [BigInt(f.ts_recv), f.instrument_id, f.publisher_id, f.sequence, f.sub_sequence];
    const compareKey = (a: Key, b: Key) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] - b[1] || a[2] - b[2] || a[3] - b[3] || a[4] - b[4]);
    const inKeyOrder = (keys: Key[]) => keys.every((k, i) => i === 0 || compareKey(keys[i - 1], k) < 0);
    // Each book alone, then both together: the union of the two, in key order.
    const get = async (path: string) => {
      const res = await fetch(`${s.base}${path}`, { headers: read });
      const body = await res.text();
      expect(res.status, body).toBe(200);
      return body.trim().split('\n');
    };
    const [p1, p2] = [await get('/v1/books/CLZ5/snapshots?publisher_id=1&limit=400'), await get('/v1/books/CLZ5/snapshots?publisher_id=2&limit=400')];
    const both = (await get('/v1/books/CLZ5/snapshots?limit=800')).map((l) => JSON.parse(l) as Frame);
    expect(new Set(both.map((f) => f.publisher_id))).toEqual(new Set([1, 2]));
    expect(inKeyOrder(both.map(keyOf))).toBe(true);
    const union = [...p1, ...p2].map((l) => JSON.parse(l) as Frame).sort((a, b) => compareKey(keyOf(a), keyOf(b))).slice(0, 800);
    expect(both).toEqual(union);

    // The replay, over HTTP and TCP, carries both books, each frame naming its publisher (five minutes of them).
    const window = 'from=2025-09-24T20:00:00Z&to=2025-09-24T20:05:00Z';
    const linesOf = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; publisher_id?: number; frames?: number; complete?: boolean });
    const oneBook = linesOf(await (await fetch(`${s.base}/v1/replay?symbols=CLZ5&publisher_id=1&${window}`, { headers: read })).text());
    const perBook = oneBook.at(-1)!.frames!;
    expect(perBook).toBeGreaterThan(100);
    const replay = await (await fetch(`${s.base}/v1/replay?symbols=CLZ5&${window}`, { headers: read })).text();
    const frames = linesOf(replay);
    expect(frames.at(-1)).toMatchObject({ type: 'end', complete: true, frames: 2 * perBook });
    const snapshots = frames.filter((f) => f.type !== 'header' && f.type !== 'end') as unknown as Frame[];
    expect(snapshots.filter((f) => f.publisher_id === 1)).toHaveLength(perBook);
    expect(inKeyOrder(snapshots.map(keyOf))).toBe(true);
    const tcp = await tcpExchange(s.server.tcpPort, JSON.stringify({ symbols: 'CLZ5', from: '2025-09-24T20:00:00Z', to: '2025-09-24T20:05:00Z', token: READ_TOKEN }) + '\n');
    expect(tcp).toBe(replay);

    // DBN: both publishers' records, in the same order.
    const dbn = Buffer.from(await (await fetch(`${s.base}/v1/replay?symbols=CLZ5&format=dbn&${window}`, { headers: read })).arrayBuffer());
    const records = recordsOf(dbn);
    const publishers: number[] = [];
    for (let at = 0; at < records.length; at += records[at] * 4) publishers.push(records.readUInt16LE(at + 2));
    expect(publishers).toEqual(snapshots.map((f) => f.publisher_id));
  }, 120_000);

  it('publisher_id selects one publisher on the book, snapshots and replay', async () => {
    const book = await ask('GET', '/v1/books/CLZ5?publisher_id=2', read);
    expect(book.status).toBe(200);
    expect(JSON.parse(book.body)).toMatchObject({ symbol: 'CLZ5', publisher_id: 2, instrument_id: 432670 });
    const rows = (await ask('GET', '/v1/books/CLZ5/snapshots?publisher_id=2&limit=50', read)).body.trim().split('\n').map((l) => JSON.parse(l) as { publisher_id: number });
    expect(rows).toHaveLength(50);
    expect(new Set(rows.map((r) => r.publisher_id))).toEqual(new Set([2]));
    const replay = await (await fetch(`${s.base}/v1/replay?symbols=CLZ5&publisher_id=1`, { headers: read })).text();
    const lines = replay.trim().split('\n').map((l) => JSON.parse(l) as { type: string; publisher_id?: number; frames?: number });
    expect(lines.at(-1)).toMatchObject({ type: 'end', complete: true, frames: 32_053 });
    expect(new Set(lines.filter((l) => l.type === 'snapshot' || l.publisher_id !== undefined).map((l) => l.publisher_id))).toEqual(new Set([1]));
    // One publisher's symbol takes its own publisher_id too.
    expect((await ask('GET', '/v1/books/CLX5/snapshots?publisher_id=1&limit=1', read)).status).toBe(200);
  });

  it('a publisher the symbol does not have: 404 naming the publisher, not "undefined"', async () => {
    for (const path of ['/v1/books/CLX5?publisher_id=7', '/v1/books/CLX5/snapshots?publisher_id=7', '/v1/replay?symbols=CLX5&publisher_id=7']) {
      const p = expectProblem(await ask('GET', path, read), 404, 'UNKNOWN_PUBLISHER');
      expect(p.field).toBe('publisher_id');
      expect(p.detail).toContain('7');
      expect(p.detail).not.toContain('undefined');
    }
  });
});

describe('depth above what is stored', () => {
  it('is refused with the stored depth in the message', async () => {
    for (const path of ['/v1/books/CLX5?depth=11', '/v1/books/CLX5/snapshots?depth=20', '/v1/replay?symbols=CLX5&depth=50']) {
      const p = expectProblem(await ask('GET', path, read), 400, 'DEPTH_NOT_STORED');
      expect(p.field).toBe('depth');
      expect(p.detail).toContain('10 levels');
    }
    const book = JSON.parse((await ask('GET', '/v1/books/CLX5?depth=10', read)).body) as { bids: unknown[] };
    expect(book.bids.length).toBeLessThanOrEqual(10);
  });
});
