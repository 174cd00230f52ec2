import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLX5 } from '../helpers.js';
import { READ_TOKEN, serve, serveOn, variantOfClx5, type Served } from '../api/served.js';
import { NO_QDB, qdbConf } from '../questdb.js';
import { freshQuestDb } from './questdb-server.js';

/**
 * Issue 32: the API on QuestDB (rows over the PostgreSQL wire) answers what
 * the API on the embedded store answers, byte for byte: lookups, exports in
 * every format, replays (NDJSON and DBN, snapshots and MBO, over HTTP and
 * TCP, resumed with after=, paced), the L3 views and the BBO series. CLX5 is
 * stored from one publisher, CLZ5 (the same book under another instrument
 * id) from two, so that range reads interleave two books.
 */
const FILES = {
  'clx5.dbn': CLX5,
  'clz5-p1.dbn': variantOfClx5({ symbol: 'CLZ5', instrumentId: 432670, publisherId: 1 }),
  'clz5-p2.dbn': variantOfClx5({ symbol: 'CLZ5', instrumentId: 432670, publisherId: 2 }),
};
const auth = { authorization: `Bearer ${READ_TOKEN}` };

describe.skipIf(!qdbConf)(`the API on QuestDB answers as on the embedded store${NO_QDB}`, () => {
  let embedded: Served;
  let questdb: Served;

  beforeAll(async () => {
    embedded = await serve(FILES);
    const store = await freshQuestDb();
    questdb = await serveOn(() => store, FILES);
  }, 600_000);

  afterAll(async () => {
    await embedded?.close();
    await questdb?.close();
  });

  const both = async (target: string) => {
    const [a, b] = await Promise.all([embedded, questdb].map(async (s) => {
      const res = await fetch(`${s.base}${target}`, { headers: auth });
      return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
    }));
    return { embedded: a, questdb: b };
  };
  const expectSame = async (target: string, status = 200) => {
    const { embedded: a, questdb: b } = await both(target);
    expect(a.status, target).toBe(status);
    expect({ status: b.status, type: b.type }, target).toEqual({ status: a.status, type: a.type });
    // Compared as buffers, not as text: a failure does not print two whole replays.
    expect(b.body.length, `${target}: length`).toBe(a.body.length);
    expect(b.body.equals(a.body), `${target}: bytes`).toBe(true);
    return a.body;
  };

  it('instruments, lookups at and between instants, and their 404s', async () => {
    await expectSame('/v1/instruments');
    for (const at of ['2025-09-24T20:00:00Z', '2025-09-24T20:00:00.123456789Z', '2025-09-25T00:00:00Z']) {
      await expectSame(`/v1/books/CLX5?at=${at}`);
      await expectSame(`/v1/books/CLX5?at=${at}&depth=1`);
      await expectSame(`/v1/books/CLZ5?at=${at}&publisher_id=2&depth=3`);
    }
    await expectSame('/v1/books/CLX5');
    await expectSame('/v1/books/CLX5?at=2020-01-01T00:00:00Z', 404);
    await expectSame('/v1/books/CLZ5?at=2025-09-24T20:00:00Z', 400); // two venues: which one?
  });

  it('exports in every format, bounded, resumed with after=, and across two venues', async () => {
    for (const format of ['ndjson', 'csv', 'json', 'dbn']) {
      await expectSame(`/v1/books/CLX5/snapshots?format=${format}&limit=5000`);
      await expectSame(`/v1/books/CLX5/snapshots?format=${format}&from=2025-09-24T19:00:00Z&to=2025-09-24T20:30:00Z&limit=100000&depth=${format === 'dbn' ? 1 : 4}`);
      await expectSame(`/v1/books/CLZ5/snapshots?format=${format}&limit=3000`);
    }
    const page = (await expectSame('/v1/books/CLX5/snapshots?limit=777')).toString().trim().split('\n');
    const last = JSON.parse(page.at(-1)!);
    const key = [last.ts_recv, last.instrument_id, last.publisher_id, last.sequence, last.sub_sequence].join(',');
    await expectSame(`/v1/books/CLX5/snapshots?limit=5000&after=${key}`);
    await expectSame(`/v1/books/CLX5/snapshots?limit=5000&after=${key}&format=dbn`);
  });

  it('replays of the whole store, NDJSON and DBN, snapshots and MBO records, resumed and paced', async () => {
    const all = (await expectSame('/v1/replay')).toString().trim().split('\n');
    expect(all.length).toBe(3 * 32_053 + 2); // header, three books' frames, end
    await expectSame('/v1/replay?format=dbn');
    await expectSame('/v1/replay?format=dbn&depth=1&symbols=CLZ5');
    await expectSame('/v1/replay?symbols=CLZ5&publisher_id=1&depth=5');
    const middle = JSON.parse(all[40_000]);
    const key = [middle.ts_recv, middle.instrument_id, middle.publisher_id, middle.sequence, middle.sub_sequence].join(',');
    await expectSame(`/v1/replay?after=${key}`);
    await expectSame(`/v1/replay?after=${key}&format=dbn`);
    await expectSame('/v1/replay?symbols=CLX5&from=2025-09-24T20:00:00Z&to=2025-09-24T20:00:02Z&rate=2000');
    await expectSame('/v1/replay?schema=mbo&symbols=CLX5');
    await expectSame('/v1/replay?schema=mbo&format=dbn');
  }, 300_000);

  it('the TCP port sends the same bytes for the same request', async () => {
    for (const request of [{ symbols: 'CLZ5' }, { symbols: 'CLX5', format: 'dbn', depth: 1 }, { schema: 'mbo', symbols: 'CLX5', from: '2025-09-24T20:00:00Z' }]) {
      const line = `${JSON.stringify({ ...request, token: READ_TOKEN })}\n`;
      const [a, b] = await Promise.all([embedded, questdb].map((s) => tcpBytes(s.server.tcpPort, line)));
      expect(a.length).toBeGreaterThan(1000);
      expect(b.equals(a), JSON.stringify(request)).toBe(true);
    }
  }, 120_000);

  it('the L3 views (the orders behind each level, an order\'s life) and the BBO series', async () => {
    const book = JSON.parse((await expectSame('/v1/books/CLX5/orders?at=2025-09-24T20:00:00Z')).toString());
    const orderId = book.bids[0].orders[0].order_id as string;
    await expectSame(`/v1/orders/${orderId}?symbol=CLX5`);
    await expectSame('/v1/books/CLZ5/orders?at=2025-09-24T21:00:00Z&publisher_id=2&depth=100');
    await expectSame('/v1/books/CLX5/bbo?every=1m');
    await expectSame('/v1/books/CLZ5/bbo?from=2025-09-24T20:00:00Z&to=2025-09-24T20:00:09.999999999Z&every=1s&publisher_id=1');
  });
});

/** What a TCP replay port sends for one request line, as bytes (a DBN replay is not text), until it closes. */
function tcpBytes(port: number, line: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (b: Buffer) => parts.push(b));
    socket.on('end', () => resolve(Buffer.concat(parts)));
    socket.on('error', reject);
    socket.end(line);
  });
}
