import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Flag, decodeBuffer, type MboFields } from '../../src/dbn/index.js';
import { Market, checkpointsOf, comparePositions, levelQueues, rebuildBook, MboEventBuffer, type Book, type Checkpoint, type CheckpointPolicy } from '../../src/book/index.js';
import { add, cancel, encode, rec, twoBookStreams, INSTRUMENT } from './records.js';
import { propertyRuns, propertyTimeout } from '../property.js';

/** A book's every level and queue, with what the book JSON reports of it. */
const l3 = (b: Book) => ({
  bids: levelQueues(b.bids, Infinity), asks: levelQueues(b.asks, Infinity), orders: b.orders.size,
  ts: b.lastTsRecv, sequence: b.lastSequence,
});

/** Runs records through a Market that stores L3; returns what it captured, and each book's L3 after every record. */
function capture(records: MboFields[], policy: CheckpointPolicy, capacity = 4096) {
  const market = new Market({ depth: 0, intervalNs: 0, l3: policy }, capacity);
  const after: Array<{ key: string; state: ReturnType<typeof l3> }> = [];
  market.afterRecord = (book) => { after.push({ key: `${book.instrumentId}/${book.publisherId}`, state: l3(book) }); };
  const events = new MboEventBuffer(records.length);
  const checkpoints: Checkpoint[] = [];
  const { batch } = decodeBuffer(encode(records));
  for (let o = batch.start; o < batch.end; ) {
    o = market.apply(batch, o);
    for (let i = 0; i < market.events.length; i++) {
      events.records.set(market.events.records.subarray(i * 56, (i + 1) * 56), events.length * 56);
      events.subSequence[events.length++] = market.events.subSequence[i];
    }
    checkpoints.push(...checkpointsOf(market.checkpoints));
    market.clearCaptured();
  }
  return { market, events, checkpoints, after };
}

/** The events of one book after `from` (exclusive; null: from the start) up to record index `upTo`, as a buffer. */
function eventsBetween(events: MboEventBuffer, book: string, from: Checkpoint | null, upTo: number): MboEventBuffer {
  const out = new MboEventBuffer(upTo + 1);
  for (let i = 0; i <= upTo; i++) {
    if (`${events.instrumentId(i)}/${events.publisherId(i)}` !== book) continue;
    const at = { tsRecv: events.tsRecv(i), sequence: events.sequence(i), subSequence: events.subSequence[i] };
    if (from !== null && comparePositions(at, from) <= 0) continue;
    out.records.set(events.records.subarray(i * 56, (i + 1) * 56), out.length * 56);
    out.subSequence[out.length++] = events.subSequence[i];
  }
  return out;
}

describe('stored L3: MBO events and checkpoints', () => {
  it('every record is captured as it is, numbered within its book\'s packet; every checkpoint holds its book after its record', () => {
    fc.assert(
      fc.property(twoBookStreams(20, 300), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2000, max: 40_000 }), (records, n, everyNs) => {
        const { events, checkpoints, after } = capture(records, { everyNs, events: n }, 16);
        const bytes = encode(records);
        expect(events.length).toBe(records.length);
        const { batch } = decodeBuffer(bytes);
        expect(Buffer.from(events.records).equals(Buffer.from(batch.view.buffer, batch.view.byteOffset + batch.start, batch.end - batch.start))).toBe(true);
        // sub_sequence: 0, 1, ... over one book's records that share ts_recv and sequence; keys unique.
        const keys = new Set<string>();
        for (let i = 0; i < events.length; i++) {
          const key = `${events.tsRecv(i)}/${events.instrumentId(i)}/${events.publisherId(i)}/${events.sequence(i)}`;
          let expected = 0;
          for (let j = i - 1; j >= 0; j--) if (`${events.tsRecv(j)}/${events.instrumentId(j)}/${events.publisherId(j)}/${events.sequence(j)}` === key) { expected = events.subSequence[j] + 1; break; }
          expect(events.subSequence[i]).toBe(expected);
          keys.add(`${key}/${events.subSequence[i]}`);
        }
        expect(keys.size).toBe(events.length);
        // Each checkpoint == the live book right after its record; and the book after
        // any record == its latest checkpoint with the book's events since replayed.
        const index = (c: Checkpoint) => {
          for (let i = 0; i < events.length; i++) {
            if (events.instrumentId(i) === c.instrumentId && events.publisherId(i) === c.publisherId && comparePositions({ tsRecv: events.tsRecv(i), sequence: events.sequence(i), subSequence: events.subSequence[i] }, c) === 0) return i;
          }
          throw new Error('a checkpoint at no record');
        };
        const at = checkpoints.map(index);
        checkpoints.forEach((c, k) => expect(l3(rebuildBook(c.instrumentId, c.publisherId, c, null))).toEqual(after[at[k]].state));
        for (let i = 0; i < events.length; i++) {
          const book = `${events.instrumentId(i)}/${events.publisherId(i)}`;
          let latest: Checkpoint | null = null;
          checkpoints.forEach((c, k) => { if (at[k] <= i && `${c.instrumentId}/${c.publisherId}` === book) latest = c; });
          expect(latest, 'a book has a checkpoint from its first record').not.toBeNull();
          const rebuilt = rebuildBook(events.instrumentId(i), events.publisherId(i), latest, eventsBetween(events, book, latest, i));
          expect(l3(rebuilt)).toEqual(after[i].state);
        }
      }),
      propertyRuns(150, 33),
    );
  }, propertyTimeout(180_000));

  it('a book is checkpointed after its first record, then at the F_LAST that ends N of its events (or as many as it has orders), or one interval on', () => {
    const policy = { everyNs: 1e9, events: 3 }; // rec() spaces records 1 µs apart: the interval never passes
    const r = [
      add(1, 'B', 10, 1), cancel(9, 'B', 10, 1), add(2, 'B', 10, 1, 0), cancel(9, 'B', 10, 1, 0), add(3, 'B', 10, 1),
      add(4, 'B', 10, 1), add(5, 'B', 10, 1), add(6, 'B', 10, 1),
    ];
    const { checkpoints } = capture(r, policy);
    // After record 0 (the book's first). Record 3 is the third event since, but has no F_LAST: after record 4.
    // The book then holds 3 orders: records 5, 6, 7 are three events, fewer than its 6 orders at 7: none.
    expect(checkpoints.map((c) => c.tsRecv)).toEqual([r[0].tsRecv, r[4].tsRecv]);
    expect(checkpoints[1].entries.map((e) => e.orderId)).toEqual([1n, 2n, 3n]);
    const timed = capture([add(1, 'A', 11, 1), { ...cancel(9, 'A', 11, 1), tsRecv: r[0].tsRecv + 2_000_000_000n }], policy).checkpoints;
    expect(timed).toHaveLength(2);
  });

  it('a checkpoint lists a top-of-book level as a size with no orders, and the book rebuilt from it has that level', () => {
    const tob = Flag.LAST | Flag.TOB;
    const { checkpoints } = capture([add(0, 'B', 10, 5, tob), add(1, 'A', 10.5, 2)], { everyNs: 1, events: 1 });
    const last = checkpoints.at(-1)!;
    expect(last.entries).toEqual([
      { kind: 'tob', side: 'B', price: 10e9, size: 5, orderId: 0n, queuedAt: 0n },
      { kind: 'order', side: 'A', price: 10.5e9, size: 2, orderId: 1n, queuedAt: expect.any(BigInt) },
    ]);
    const book = rebuildBook(INSTRUMENT, 1, last, null);
    expect(levelQueues(book.bids, 10)).toEqual([{ price: 10e9, size: 5, count: 0, orders: [] }]);
  });

  it('a checkpoint larger than the buffer is captured whole', () => {
    const records = Array.from({ length: 50 }, (_, k) => add(k + 1, 'B', 10 + (k % 5) / 100, 1, k === 49 ? Flag.LAST : 0));
    records.push(rec({ action: 'N', flags: Flag.LAST }));
    const { checkpoints } = capture(records, { everyNs: 1, events: 1 }, 8);
    expect(checkpoints.at(-1)!.entries).toHaveLength(50);
  });
});
