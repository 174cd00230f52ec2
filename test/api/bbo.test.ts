import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { startServices as startServer, type RunningServices as RunningServer } from '../../src/cli/services.js';
import { CLX5 } from '../helpers.js';

const READ_TOKEN = 'bbo-test-read-token';
let server: RunningServer;
let store: DuckDbStore;
let base: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-bbo-'));
  const config = loadConfig({
    PORT: '0', BOOKTAPE_TCP_PORT: '0', BOOKTAPE_DUCKDB_PATH: join(dir, 'bbo.duckdb'), BOOKTAPE_READ_TOKEN: READ_TOKEN,
    BOOKTAPE_QUEUE_PREFIX: `bt-bbo-${randomBytes(6).toString('hex')}`, LOG_LEVEL: 'silent',
  });
  store = new DuckDbStore(config.duckdbPath);
  await store.init();
  await ingest(CLX5, {
    store, snapshotPolicy: { depth: 10, intervalNs: 0 },
    sourcePolicy: { dataRoots: [dirname(CLX5)], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 0 },
  });
  server = await startServer(config, store, pino({ level: 'silent' }));
  base = `http://127.0.0.1:${server.httpPort}`;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await store?.close();
});

const get = (path: string, token: string | null = READ_TOKEN) => fetch(`${base}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });

describe('GET /v1/books/{symbol}/bbo', () => {
  it("answers the store's buckets as JSON: ns starts as strings, prices as numbers, trades per bucket", async () => {
    const res = await get('/v1/books/CLX5/bbo?every=1m');
    expect(res.status).toBe(200);
    const body = await res.json();
    const want = await store.bbo({ symbol: 'CLX5', everyNs: 60_000_000_000n, limit: 100_000 });
    expect(body).toMatchObject({ symbol: 'CLX5', publisher_id: null, every: '1m', every_ns: '60000000000', from: null, to: null });
    expect(body.buckets).toEqual(want.map((b) => ({ ...b, ts: b.ts.toString() })));
    expect(body.buckets.at(-1)).toMatchObject({ ts: '1758751140000000000', bid: { last: 65.4 }, ask: { last: 64.78 } });
    expect(body.buckets.some((b: { trades: unknown }) => b.trades !== null)).toBe(true);
    const bounded = await (await get('/v1/books/CLX5/bbo?from=2025-09-24T20:00:00Z&to=2025-09-24T20:00:09.999999999Z&every=1s&publisher_id=1')).json();
    const inRange = await store.bbo({ symbol: 'CLX5', everyNs: 1_000_000_000n, from: 1758744000000000000n, to: 1758744009999999999n, publisherId: 1, limit: 100 });
    expect(bounded.buckets.map((b: { ts: string }) => b.ts)).toEqual(inRange.map((b) => b.ts.toString()));
    // Seconds with no snapshot and no trade are left out, not sent empty.
    expect(bounded.buckets.length).toBeGreaterThan(5);
    expect(bounded.buckets.length).toBeLessThan(10);
  });

  it('refuses a bucket size that does not divide a day, a range of more than 10,000 buckets, and an unknown symbol, as problem+json', async () => {
    for (const every of ['7s', '0s', '1x', '1.5s', '25h']) {
      const res = await get(`/v1/books/CLX5/bbo?every=${every}`);
      expect(res.status, every).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'INVALID_PARAMETER', field: 'every' });
    }
    const many = await get('/v1/books/CLX5/bbo?every=1ms');
    expect(many.status).toBe(400);
    expect(await many.json()).toMatchObject({ code: 'TOO_MANY_BUCKETS', field: 'every' });
    const swapped = await get('/v1/books/CLX5/bbo?from=2025-09-24T21:00:00Z&to=2025-09-24T20:00:00Z');
    expect(await swapped.json()).toMatchObject({ code: 'INVALID_PARAMETER', field: 'to' });
    const unknown = await get('/v1/books/NOPE/bbo');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'UNKNOWN_SYMBOL' });
    // A known symbol with nothing in the range is an empty series, not an error.
    expect((await (await get('/v1/books/CLX5/bbo?to=2025-09-24T19:00:00Z')).json()).buckets).toEqual([]);
  });

  it("needs the read token when one is set, and challenges with Bearer so that a page's fetch sees the 401 (no browser login prompt)", async () => {
    const res = await get('/v1/books/CLX5/bbo', null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('is described in the OpenAPI document', async () => {
    const spec = await (await get('/openapi.json')).json();
    const op = spec.paths['/v1/books/{symbol}/bbo']?.get;
    expect(op?.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['symbol', 'from', 'to', 'every', 'publisher_id']));
  });
});

describe('the book page', () => {
  it('is served at / without a token, with its script and styles, built by npm run build', async () => {
    const page = await get('/', null);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<script type="module" src="main.js"></script>');
    const script = await get('/main.js', null);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect((await script.text()).length).toBeGreaterThan(1000);
    expect((await get('/main.css', null)).status).toBe(200);
  });
});
