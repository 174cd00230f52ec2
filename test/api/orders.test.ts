import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, CLX5 } from '../helpers.js';
import { READ_TOKEN, serve, type Served } from './served.js';

const run = promisify(execFile);
const auth = { headers: { authorization: `Bearer ${READ_TOKEN}` } };

/** `booktape book CLX5 --orders --format json` at `at`: its one book, less anomalies (what a store cannot know). */
async function cliOrders(at: string | null, depth: number): Promise<Record<string, unknown>> {
  const args = [CLI, 'book', CLX5, '--orders', '--format', 'json', '--depth', String(depth), ...(at === null ? [] : ['--at', at])];
  const { books: [book] } = JSON.parse((await run('node', args, { maxBuffer: 64 << 20 })).stdout) as { books: Array<Record<string, unknown>> };
  delete book.anomalies;
  return book;
}

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return res.json() as Promise<{ status: number; code: string; detail: string; field?: string }>;
}

let s: Served;
beforeAll(async () => {
  s = await serve({ 'CLX5_mbo.dbn': CLX5 });
}, 120_000);
afterAll(async () => s?.close());

describe('GET /v1/books/{symbol}/orders and GET /v1/orders/{order_id}', () => {
  it('the book\'s orders at an instant answer as `booktape book --orders` on the source file does there, and the latest as at its end', async () => {
    for (const [at, depth] of [['2025-09-24T19:30:00.5Z', 5], ['1758747600000000000', 10], ['2025-09-24T21:59:59.999903747Z', 3], [null, 50]] as const) {
      const res = await fetch(`${s.base}/v1/books/CLX5/orders?depth=${depth}${at === null ? '' : `&at=${at}`}`, auth);
      expect(res.status).toBe(200);
      expect(await res.json(), `at ${at}`).toEqual(await cliOrders(at, depth));
    }
  });

  it('an order\'s life: its events in order, each with where it rests after it; the last leaves it out of the book', async () => {
    // An order from the book at an instant, and one that was cancelled before the end.
    const book = await (await fetch(`${s.base}/v1/books/CLX5/orders?at=2025-09-24T20:00:00Z&depth=1`, auth)).json() as { bids: Array<{ orders: Array<{ order_id: string; ts_recv: string }> }> };
    const id = book.bids[0].orders[0].order_id;
    const res = await fetch(`${s.base}/v1/orders/${id}?symbol=CLX5`, auth);
    expect(res.status).toBe(200);
    const life = await res.json() as { order_id: string; symbol: string; events: Array<{ action: string; ts_recv: string; resting: { position: number; size_ahead: number; ts_recv: string; size: number } | null }> };
    expect(life).toMatchObject({ order_id: id, symbol: 'CLX5' });
    expect(life.events.length).toBeGreaterThan(0);
    const keys = life.events.map((e) => BigInt(e.ts_recv));
    expect(keys).toEqual(keys.slice().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    // At 20:00 it was resting; its queue place then was taken at an event of its own at or before it.
    const before = life.events.filter((e) => BigInt(e.ts_recv) <= 1758744000000000000n);
    expect(before.at(-1)!.resting).not.toBeNull();
    expect(before.some((e) => e.ts_recv === book.bids[0].orders[0].ts_recv)).toBe(true);
    for (const e of life.events) if (e.resting !== null) expect(e.resting.position === 0).toBe(e.resting.size_ahead === 0);
  });

  it('says what is wrong: an unknown symbol, order or instant, a missing symbol, bad parameters', async () => {
    const cases: Array<[string, number, string, string]> = [
      ['/v1/books/NOPE/orders', 404, 'UNKNOWN_SYMBOL', 'symbol'],
      ['/v1/books/CLX5/orders?at=2020-01-01T00:00:00Z', 404, 'NO_DATA_AT_INSTANT', 'at'],
      ['/v1/books/CLX5/orders?publisher_id=7', 404, 'UNKNOWN_PUBLISHER', 'publisher_id'],
      ['/v1/books/CLX5/orders?depth=0', 400, 'INVALID_PARAMETER', 'depth'],
      ['/v1/books/CLX5/orders?at=noon', 400, 'INVALID_PARAMETER', 'at'],
      ['/v1/orders/12345?symbol=CLX5', 404, 'UNKNOWN_ORDER', 'order_id'],
      ['/v1/orders/12345', 400, 'INVALID_PARAMETER', 'symbol'],
      ['/v1/orders/12x?symbol=CLX5', 400, 'INVALID_PARAMETER', 'order_id'],
      ['/v1/orders/18446744073709551616?symbol=CLX5', 400, 'INVALID_PARAMETER', 'order_id'],
      ['/v1/orders/1?symbol=NOPE', 404, 'UNKNOWN_SYMBOL', 'symbol'],
    ];
    for (const [path, status, code, field] of cases) {
      const res = await fetch(s.base + path, auth);
      expect(res.status, path).toBe(status);
      expect(await problem(res), path).toMatchObject({ code, field });
    }
    expect((await fetch(`${s.base}/v1/books/CLX5/orders`)).status).toBe(401); // reads need the token here
  });

  it('a store ingested without MBO (BOOKTAPE_STORE_MBO=false) says so', async () => {
    const depthOnly = await serve({ 'CLX5_mbo.dbn': CLX5 }, { BOOKTAPE_STORE_MBO: 'false' });
    try {
      for (const path of ['/v1/books/CLX5/orders', '/v1/orders/1?symbol=CLX5']) {
        const res = await fetch(depthOnly.base + path, auth);
        expect(res.status).toBe(404);
        expect(await problem(res)).toMatchObject({ code: 'NO_MBO_STORED', field: 'symbol' });
      }
      expect((await fetch(`${depthOnly.base}/v1/books/CLX5`, auth)).status).toBe(200);
    } finally {
      await depthOnly.close();
    }
  });
});
