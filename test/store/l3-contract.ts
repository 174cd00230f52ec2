import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeBuffer, openDbnFile, type MboFields } from '../../src/dbn/index.js';
import { Market, type Book } from '../../src/book/index.js';
import { MboEventBuffer } from '../../src/book/event-buffer.js';
import { CheckpointBuffer } from '../../src/book/checkpoint-buffer.js';
import { reconstructedOrders } from '../../src/cli/book.js';
import { storedOrdersJson } from '../../src/encode/book-json.js';
import { orderLife, ordersAt } from '../../src/store/l3.js';
import type { SnapshotStore } from '../../src/store/port.js';
import { CLX5 } from '../helpers.js';
import { encode, twoBookStreams } from '../book/records.js';
import { propertyRuns, propertyTimeout } from '../property.js';
import { CLX5_CHECKPOINTS, clx5L3Batches } from './contract.js';

const CLX5_ID = 432669;
const symbolOf = (id: number) => (id === CLX5_ID ? 'CLX5' : null);
/** CLX5's first and last ts_recv. */
const FIRST = 1758742200001385399n;
const LAST = 1758751199999903747n;

/** Stores CLX5's MBO events and checkpoints, as ingestion writes them. */
async function storeClx5(store: SnapshotStore, batches = clx5L3Batches()): Promise<void> {
  await Promise.all(batches.flatMap(([e, c]) => [store.writeMboEvents(e, symbolOf), store.writeCheckpoints(c, symbolOf)]));
  await store.flush();
}

/** Each book's orders JSON after every record of `records` (by record index), and the captured L3 rows. */
function engineRun(records: MboFields[], capacity: number) {
  const market = new Market({ depth: 0, intervalNs: 0, l3: { everyNs: 5_000, events: 4 } }, capacity);
  const after: Array<Map<string, ReturnType<typeof storedOrdersJson>>> = [];
  const state = new Map<string, ReturnType<typeof storedOrdersJson>>();
  market.afterRecord = (book: Book) => {
    state.set(`${book.publisherId}`, storedOrdersJson(book, 'TST', Infinity));
    after.push(new Map(state));
  };
  const captured: Array<[MboEventBuffer, CheckpointBuffer]> = [];
  const { batch } = decodeBuffer(encode(records));
  for (let o = batch.start; o < batch.end; ) {
    o = market.apply(batch, o);
    captured.push([MboEventBuffer.adopt(market.events.exportEvents()), CheckpointBuffer.adopt(market.checkpoints.exportRows())]);
    market.clearCaptured();
  }
  return { after, captured };
}

/** The L3 contract: a store's orders at any instant equal the engine's book there; an order's life as the engine saw it. */
export function l3Contract(fresh: () => Promise<SnapshotStore>): void {
  it('CLX5\'s orders at random instants, read back from the store, are `booktape book --orders` on the file at that instant', async () => {
    const store = await fresh();
    try {
      await storeClx5(store);
      await fc.assert(
        fc.asyncProperty(fc.bigInt({ min: FIRST, max: LAST + 1_000_000n }), fc.constantFrom(3, Infinity), async (at, depth) => {
          const stored = await ordersAt(store.l3, 'CLX5', at);
          const { books: [engine] } = await reconstructedOrders(await openDbnFile(CLX5), { depth, at });
          const { anomalies: _, ...expected } = engine;
          expect(storedOrdersJson(stored!.book, 'CLX5', depth)).toEqual(expected);
        }),
        propertyRuns(12, 41),
      );
      // Before the first record: no book; the latest: the file's last book; a publisher with no rows: none.
      expect(await ordersAt(store.l3, 'CLX5', FIRST - 1n)).toBeNull();
      expect(await ordersAt(store.l3, 'CLX5', undefined, 2)).toBeNull();
      const latest = await ordersAt(store.l3, 'CLX5', undefined, 1);
      expect(latest!.book.orders.size).toBe(147);
      expect(latest!.book.lastTsRecv).toBe(LAST);
    } finally {
      await store.close();
    }
  }, propertyTimeout(180_000));

  it('reads the stored MBO records back in key order, byte for byte the file\'s, with each one\'s symbol; pages, resumes after a key, bounds and counts', async () => {
    const store = await fresh();
    try {
      await storeClx5(store);
      const read = async (q: Parameters<SnapshotStore['readMboRange']>[0]) => {
        const records: Buffer[] = [];
        const keys: string[] = [];
        for await (const { events, symbols } of store.readMboRange(q)) {
          expect(events.length).toBeGreaterThan(0);
          expect(symbols.every((x) => x === 'CLX5')).toBe(true);
          for (let i = 0; i < events.length; i++) {
            records.push(Buffer.from(events.records.subarray(i * 56, (i + 1) * 56)));
            keys.push(`${events.tsRecv(i)},${events.instrumentId(i)},${events.publisherId(i)},${events.sequence(i)},${events.subSequence[i]}`);
          }
        }
        return { bytes: Buffer.concat(records), keys };
      };
      const file = (await import('node:fs')).readFileSync(CLX5);
      const all = await read({ symbols: ['CLX5'], pageSize: 3000 });
      expect(all.bytes.equals(file.subarray(8 + file.readUInt32LE(4)))).toBe(true);
      expect(await store.countMboRange({ symbols: [] })).toBe(38_212);
      // Resume after a key inside a packet (the next record shares its ts_recv); bounds; a limit.
      const cut = all.keys.findIndex((k, i) => i > 20_000 && all.keys[i + 1].split(',')[0] === k.split(',')[0]);
      const [ts, instrumentId, publisherId, sequence, subSequence] = all.keys[cut].split(',').map((x, i) => (i === 0 ? BigInt(x) : Number(x))) as [bigint, number, number, number, number];
      const after = { tsRecv: ts, instrumentId, publisherId, sequence, subSequence };
      const rest = await read({ symbols: [], after, pageSize: 500 });
      expect(rest.keys).toEqual(all.keys.slice(cut + 1));
      expect(await store.countMboRange({ symbols: ['CLX5'], after })).toBe(38_212 - cut - 1);
      const inWindow = (to: bigint) => all.keys.filter((k) => BigInt(k.split(',')[0]) >= ts && BigInt(k.split(',')[0]) <= to);
      expect((await read({ symbols: ['CLX5'], from: ts, to: ts + 5_000_000_000n })).keys).toEqual(inWindow(ts + 5_000_000_000n));
      expect((await read({ symbols: ['CLX5'], from: ts, to: ts + 600_000_000_000n, limit: 100 })).keys).toEqual(inWindow(ts + 600_000_000_000n).slice(0, 100));
      expect(inWindow(ts + 600_000_000_000n).length).toBeGreaterThan(100);
      expect(await read({ symbols: ['NOPE'] })).toEqual({ bytes: Buffer.alloc(0), keys: [] });
    } finally {
      await store.close();
    }
  }, 180_000);

  it('keeps every record exact: u64 order ids past 2^53 and 2^63 (2^63 itself too), negative prices, UNDEF_PRICE, every field at its extremes', async () => {
    const store = await fresh();
    try {
      const [events] = clx5L3Batches()[0];
      const b = MboEventBuffer.adopt(events.exportEvents());
      const odd: Array<[bigint, bigint]> = [
        [2n ** 63n, -1n], [2n ** 63n + 5n, -(2n ** 60n)], [2n ** 64n - 1n, 2n ** 62n], [2n ** 53n + 1n, 0n], [0n, 9223372036854775807n], [1n, -9223372036854775807n],
      ];
      odd.forEach(([id, price], k) => {
        b.view.setBigUint64(k * 56 + 16, id, true);
        b.view.setBigInt64(k * 56 + 24, price, true);
        b.view.setInt32(k * 56 + 48, k % 2 ? -2_000_000_000 : 2_000_000_000, true); // ts_in_delta
        b.view.setUint8(k * 56 + 36, 0xff); // flags
        b.view.setUint8(k * 56 + 37, 0xfe); // channel_id
        b.view.setUint32(k * 56 + 32, 0xffffffff, true); // size
      });
      await store.writeMboEvents(b, symbolOf);
      await store.flush();
      const back: Buffer[] = [];
      for await (const { events: e } of store.readMboRange({ symbols: ['CLX5'] })) back.push(Buffer.from(e.records.subarray(0, e.length * 56)));
      expect(Buffer.concat(back).equals(Buffer.from(b.records))).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a lookup reads one checkpoint and at most one interval of events; a checkpoint cut short is passed over for the one before', async () => {
    const store = await fresh();
    try {
      const batches = clx5L3Batches();
      // The last checkpoint loses its last row, as a write cut short would leave it.
      const [, lastCheckpoints] = batches.at(-1)!;
      const cut = CheckpointBuffer.adopt({ depth: 0, length: lastCheckpoints.length - 1, rows: lastCheckpoints.rows.slice(0, (lastCheckpoints.length - 1) * lastCheckpoints.stride) });
      batches[batches.length - 1] = [batches.at(-1)![0], cut];
      await storeClx5(store, batches);
      const ref = { symbol: 'CLX5', instrumentId: CLX5_ID, publisherId: 1 };
      const checkpoint = await store.l3.checkpoint(ref, LAST);
      const events = await store.l3.events(ref, checkpoint, LAST);
      const { books: [engine] } = await reconstructedOrders(await openDbnFile(CLX5), { depth: Infinity });
      const { anomalies: _, ...expected } = engine;
      expect(storedOrdersJson((await ordersAt(store.l3, 'CLX5', LAST))!.book, 'CLX5', Infinity)).toEqual(expected);
      // The bound: events since the checkpoint used, under two intervals of the policy here (one passed over).
      expect(events.length).toBeGreaterThan(0);
      expect(events.length).toBeLessThan(2 * Math.max(CLX5_CHECKPOINTS.events, 400));
      expect(LAST - checkpoint!.tsRecv).toBeLessThan(2n * BigInt(CLX5_CHECKPOINTS.everyNs) + 1_000_000_000n);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('random streams (two publishers, packets, priority kept and lost, partial fills, unknown cancels, F_TOB, clears): the stored orders at any instant are the live book\'s', async () => {
    await fc.assert(
      fc.asyncProperty(twoBookStreams(30, 400), fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), fc.integer({ min: 3, max: 64 }), async (records, probes, capacity) => {
        const { after, captured } = engineRun(records, capacity);
        const store = await fresh();
        try {
          await Promise.all(captured.flatMap(([e, c]) => [store.writeMboEvents(e, () => 'TST'), store.writeCheckpoints(c, () => 'TST')]));
          await store.flush();
          for (const probe of probes) {
            const k = probe % records.length;
            // The instant of record k: the state after the last record at that instant.
            let last = k;
            while (last + 1 < records.length && records[last + 1].tsRecv === records[k].tsRecv) last++;
            for (const publisher of [1, 2]) {
              const expected = after[last].get(`${publisher}`) ?? null;
              const got = await ordersAt(store.l3, 'TST', records[k].tsRecv, publisher);
              expect(got === null ? null : storedOrdersJson(got.book, 'TST', Infinity)).toEqual(expected);
            }
          }
        } finally {
          await store.close();
        }
      }),
      propertyRuns(20, 43),
    );
  }, propertyTimeout(240_000));

  it('an order\'s life: every event on it, with where it rests after each (size, queue position, size ahead), as the engine had it', async () => {
    const store = await fresh();
    try {
      await storeClx5(store);
      // The engine's view: after every record on a chosen order, where it rests.
      const market = new Market({ depth: 0, intervalNs: 0 });
      const seen = new Map<bigint, Array<{ action: string; resting: unknown }>>();
      market.afterRecord = (book, r) => {
        const id = r.orderId;
        if (!seen.has(id)) seen.set(id, []);
        const o = book.order(id);
        const q = book.queuePosition(id);
        seen.get(id)!.push({
          action: String.fromCharCode(r.action),
          resting: o === undefined ? null : { side: o.side === 0 ? 'B' : 'A', price: o.price, size: o.size, position: q!.ordersAhead, sizeAhead: q!.sizeAhead, queuedAt: o.queuedAt },
        });
      };
      const { batch } = decodeBuffer((await import('node:fs')).readFileSync(CLX5));
      market.applyBatch(batch);
      // Orders with a modify and a fill, and the longest-lived: lives that cross checkpoints.
      const lives = [...seen].filter(([id, events]) => id !== 0n && events.some((e) => e.action === 'M') && events.some((e) => e.action === 'F'));
      lives.sort((a, b) => b[1].length - a[1].length);
      expect(lives.length).toBeGreaterThan(5);
      for (const [id, expected] of lives.slice(0, 6)) {
        const got = await orderLife(store.l3, id, 'CLX5');
        expect(got.map((e) => ({ action: String.fromCharCode(e.event.action), resting: e.resting }))).toEqual(expected);
        expect(got.every((e) => e.event.orderId === id && e.book.publisherId === 1)).toBe(true);
      }
      expect(await orderLife(store.l3, 1n, 'CLX5')).toEqual([]);
    } finally {
      await store.close();
    }
  }, 180_000);
}
