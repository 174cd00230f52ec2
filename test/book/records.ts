import fc from 'fast-check';
import { Flag, UNDEF_PRICE, decodeBuffer, encodeMboFile, mboMetadata, type MboFields } from '../../src/dbn/index.js';
import { Market, type SnapshotPolicy } from '../../src/book/market.js';
import type { DepthSnapshot } from '../../src/book/snapshot.js';

export const INSTRUMENT = 42;
export const PX = (dollars: number): bigint => BigInt(Math.round(dollars * 100)) * 10_000_000n;

let ts = 1_700_000_000_000_000_000n;
let seq = 0;

/** An MBO record with sensible defaults: F_LAST set unless flags says otherwise. */
export function rec(f: Partial<MboFields> & { action: string }): MboFields {
  ts += 1000n;
  return {
    publisherId: 1, instrumentId: INSTRUMENT, tsEvent: ts, orderId: 0n, price: UNDEF_PRICE, size: 0,
    flags: Flag.LAST, channelId: 0, side: 'N', tsRecv: ts, tsInDelta: 0, sequence: ++seq, ...f,
  };
}

export const add = (id: bigint | number, side: 'B' | 'A', px: number, size: number, flags: number = Flag.LAST) =>
  rec({ action: 'A', orderId: BigInt(id), side, price: PX(px), size, flags });
export const cancel = (id: bigint | number, side: 'B' | 'A', px: number, size: number, flags: number = Flag.LAST) =>
  rec({ action: 'C', orderId: BigInt(id), side, price: PX(px), size, flags });
export const modify = (id: bigint | number, side: 'B' | 'A', px: number, size: number, flags: number = Flag.LAST) =>
  rec({ action: 'M', orderId: BigInt(id), side, price: PX(px), size, flags });

export function encode(records: MboFields[]): Buffer {
  return encodeMboFile(
    mboMetadata({ dataset: 'TEST', start: 0n, end: 1n, symbols: [{ symbol: 'TST', instrumentId: INSTRUMENT }] }),
    records,
  );
}

/** Runs records through a fresh Market; returns it and every snapshot. */
export function run(records: MboFields[], policy: SnapshotPolicy = { depth: 10, intervalNs: 0 }) {
  const market = new Market(policy);
  const snapshots: DepthSnapshot[] = market.applyBatch(decodeBuffer(encode(records)).batch);
  return { market, snapshots, book: market.book(INSTRUMENT, 1) };
}

/** [price in dollars, size, count] per level, best first. */
export function levels(packed: number[]): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let i = 0; i < packed.length; i += 3) out.push([packed[i] / 1e9, packed[i + 1], packed[i + 2]]);
  return out;
}

const BIG = 1n << 60n;
/**
 * A random MBO record for property tests: every action (clears rare), a small
 * id pool (half above 2^53) so duplicates, unknown ids and re-adds happen
 * often, few price levels so queues get deep, some UNDEF_PRICE and F_TOB.
 */
export const mboRecord = fc
  .record({
    action: fc.constantFrom(...'AAAAAACCCCMMMMTFN'.split(''), 'R'),
    id: fc.integer({ min: 0, max: 11 }),
    side: fc.constantFrom('B', 'B', 'A', 'A', 'N'),
    priceTicks: fc.integer({ min: 97, max: 102 }), // few levels: queues get deep
    undefPrice: fc.integer({ min: 0, max: 40 }).map((u) => u === 0),
    size: fc.integer({ min: 0, max: 20 }),
    last: fc.boolean(),
    tob: fc.integer({ min: 0, max: 24 }).map((t) => t === 0), // on adds: an F_TOB side replacement
  })
  .map((r) =>
    rec({
      action: r.action,
      orderId: r.id < 6 ? BigInt(r.id + 1) : BIG + BigInt(r.id),
      side: r.side,
      price: r.undefPrice ? UNDEF_PRICE : BigInt(r.priceTicks) * 10_000_000n,
      size: r.size,
      flags: (r.last ? Flag.LAST : 0) | (r.tob && r.action === 'A' ? Flag.TOB : 0),
    }),
  );


/**
 * Random streams over two publishers' books of one instrument, in time
 * order (as a file is: the stores keep records in key order, which is the
 * file's unless its ts_recv goes backwards), some records sharing a packet's
 * ts_recv and sequence with the one before, the last with F_LAST: every
 * action, modifies that keep and lose priority, partial fills, unknown
 * cancels, F_TOB sides, clears.
 */
export const twoBookStreams = (minLength: number, maxLength: number) =>
  fc.array(fc.tuple(mboRecord, fc.boolean(), fc.integer({ min: 0, max: 3 })), { minLength, maxLength, size: 'max' }).map((xs) => {
    const records = xs.map(([r, , pub], k) => ({ ...r, publisherId: pub === 0 ? 2 : 1, tsRecv: 1_700_000_000_000_000_000n + BigInt(k) * 1000n, sequence: k + 1 }));
    xs.forEach(([, samePacket], k) => {
      if (samePacket && k > 0) {
        records[k].tsRecv = records[k - 1].tsRecv;
        records[k].sequence = records[k - 1].sequence;
      }
    });
    records[records.length - 1].flags |= Flag.LAST;
    return records;
  });
