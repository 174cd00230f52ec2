import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { i64, int, nineDigits, u64 } from '../../src/encode/bytes.js';
import { MboTextWriter, mboToCsvRow, mboToJson } from '../../src/encode/mbo.js';
import { MboView } from '../../src/dbn/index.js';
import { propertyRuns } from '../property.js';

const write = (f: (o: Buffer, p: number) => number): string => {
  const o = Buffer.alloc(64);
  return o.toString('latin1', 0, f(o, 0));
};
const halves = (x: bigint): [number, number] => [Number((x >> 32n) & 0xffffffffn), Number(x & 0xffffffffn)];

describe('u64 and i64 from 32-bit halves', () => {
  it('are exact at the edges', () => {
    for (const x of [0n, 9n, 10n, 2n ** 32n - 1n, 2n ** 32n, 10n ** 9n * 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 1_758_742_200_001_385_399n]) {
      expect(write((o, p) => u64(o, p, ...halves(x)))).toBe(x.toString());
    }
    for (const x of [0n, -1n, 1n, -(2n ** 32n), -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n), -1_250_000_000n]) {
      expect(write((o, p) => i64(o, p, ...halves(BigInt.asUintN(64, x))))).toBe(x.toString());
    }
  });

  it('are exact for any value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (x) => {
        expect(write((o, p) => u64(o, p, ...halves(x)))).toBe(x.toString());
        expect(write((o, p) => i64(o, p, ...halves(x)))).toBe(BigInt.asIntN(64, x).toString());
      }),
      propertyRuns(2000, 3),
    );
  });
});

describe('int and nineDigits', () => {
  it('write a number as String does, at the edges of each path', () => {
    const edges = [0, 9, 10, 99, 100, 101, 999_999_999, 1e9, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 65_400_000_000, 2 ** 53 - 1];
    for (const x of edges) expect(write((o, p) => int(o, p, x))).toBe(String(x));
    // Outside the integer paths: as JSON writes them.
    for (const x of [-1, 0.5, -0, 2 ** 53, 1e21, NaN]) expect(write((o, p) => int(o, p, x))).toBe(JSON.stringify(x));
  });

  it('write any safe integer exactly, and nine digits zero-padded', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.maxSafeNat()), fc.integer({ min: 0, max: 999_999_999 }), (x, low) => {
        expect(write((o, p) => int(o, p, x))).toBe(String(x));
        expect(write((o, p) => nineDigits(o, p, low))).toBe(String(low).padStart(9, '0'));
      }),
      propertyRuns(2000, 4),
    );
  });
});

describe('MboTextWriter', () => {
  const record = fc.record({
    rtype: fc.integer({ min: 0, max: 255 }), publisher: fc.integer({ min: 0, max: 65535 }), instrument: fc.nat({ max: 0xffffffff }),
    tsEvent: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), orderId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), price: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), size: fc.nat({ max: 0xffffffff }),
    flags: fc.integer({ min: 0, max: 255 }), channel: fc.integer({ min: 0, max: 255 }),
    // Any byte: escapes and non-ASCII characters must come out as JSON.stringify writes them.
    action: fc.integer({ min: 0, max: 255 }), side: fc.integer({ min: 0, max: 255 }),
    tsRecv: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), delta: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), sequence: fc.nat({ max: 0xffffffff }),
  });

  it('writes exactly the lines of mboToJson and mboToCsvRow, for any field values, across chunks', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 300 }), (records) => {
        const bytes = new Uint8Array(56 * records.length);
        const view = new DataView(bytes.buffer);
        records.forEach((r, k) => {
          const o = 56 * k;
          view.setUint8(o, 14);
          view.setUint8(o + 1, r.rtype);
          view.setUint16(o + 2, r.publisher, true);
          view.setUint32(o + 4, r.instrument, true);
          view.setBigUint64(o + 8, r.tsEvent, true);
          view.setBigUint64(o + 16, r.orderId, true);
          view.setBigInt64(o + 24, r.price, true);
          view.setUint32(o + 32, r.size, true);
          view.setUint8(o + 36, r.flags);
          view.setUint8(o + 37, r.channel);
          view.setUint8(o + 38, r.action);
          view.setUint8(o + 39, r.side);
          view.setBigUint64(o + 40, r.tsRecv, true);
          view.setInt32(o + 48, r.delta, true);
          view.setUint32(o + 52, r.sequence, true);
        });
        const v = new MboView();
        for (const format of ['json', 'csv'] as const) {
          const w = new MboTextWriter(format);
          const chunks: Buffer[] = [];
          const want: string[] = [];
          records.forEach((_, k) => {
            v.at(view, 56 * k);
            w.record(v);
            if (k % 7 === 0) chunks.push(w.take());
            want.push(format === 'json' ? JSON.stringify(mboToJson(v)) : mboToCsvRow(v));
          });
          chunks.push(w.take());
          expect(Buffer.concat(chunks).toString('utf8')).toBe(want.map((l) => `${l}\n`).join(''));
        }
      }),
      propertyRuns(200, 4),
    );
  });
});
