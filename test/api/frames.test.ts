import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Market } from '../../src/book/market.js';
import { decodeBuffer } from '../../src/dbn/index.js';
import type { StoredSnapshot } from '../../src/store/port.js';
import { FrameWriter } from '../../src/encode/frames.js';
import { CLX5 } from '../helpers.js';
import { referenceCsvRow, referenceFrame } from './frame-reference.js';
import { propertyRuns } from '../property.js';

/** What the writer wrote for one frame, as text. */
function frameText(s: StoredSnapshot, depth = Infinity, writer = new FrameWriter()): string {
  writer.frame(s, depth);
  return writer.take().toString('utf8');
}

/** Any stored snapshot: symbols that need escaping or quoting, any action byte's character, prices beyond 2^53 too. */
const u = (max: number) => fc.integer({ min: 0, max });
const level = fc.tuple(fc.maxSafeInteger(), fc.oneof(u(0xffffffff), fc.maxSafeNat()), u(0xffffffff));
const storedSnapshot: fc.Arbitrary<StoredSnapshot> = fc.record({
  symbol: fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('A,B', 'say "hi"', 'x\ny', 'ESZ5 C5000'))),
  instrumentId: u(0xffffffff), publisherId: u(0xffff),
  tsRecv: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), tsEvent: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  sequence: u(0xffffffff), subSequence: u(0xffff), action: fc.constantFrom('A', 'C', 'M', 'R', 'T', 'F', 'N', '\u00c8', ','),
  side: fc.constantFrom('A', 'B', 'N'), price: fc.option(fc.oneof(fc.maxSafeInteger(), fc.constant(2 ** 80))), size: u(0xffffffff), flags: u(255),
  tsInDelta: fc.integer(), depth: u(50), crossed: fc.boolean(), locked: fc.boolean(),
  bids: fc.array(level, { maxLength: 25 }).map((l) => l.flat()), asks: fc.array(level, { maxLength: 25 }).map((l) => l.flat()),
});

/** Writes each snapshot with `write`, taking chunks as replay and export take them; the text written. */
function writeInChunks(chunk: number, snapshots: StoredSnapshot[], write: (writer: FrameWriter, s: StoredSnapshot) => void): string {
  const writer = new FrameWriter(chunk);
  let written = '';
  for (const s of snapshots) {
    write(writer, s);
    if (writer.length >= chunk / 2) written += writer.take().toString('utf8');
  }
  return written + writer.take().toString('utf8');
}

describe('replay frames', () => {
  it('the frame writer writes exactly JSON.stringify of the reference frame, for every CLX5 snapshot and depth', () => {
    const market = new Market({ depth: 10, intervalNs: 0 });
    const { batch } = decodeBuffer(readFileSync(CLX5));
    const snapshots = market.applyBatch(batch);
    expect(snapshots.length).toBe(32_053);
    // One writer for all, with chunks taken as replay takes them: frames
    // land at every offset of a chunk, and past its end into a grown one.
    const writer = new FrameWriter(4096);
    const expected: string[] = [];
    let written = '';
    for (const s of snapshots) {
      const stored: StoredSnapshot = { ...s, symbol: 'CLX5' };
      for (const depth of [10, 3, Infinity]) {
        writer.frame(stored, depth, true);
        expected.push(JSON.stringify(referenceFrame(stored, depth)));
        if (writer.length >= 3000) written += writer.take().toString('utf8');
      }
    }
    written += writer.take().toString('utf8');
    expect(written.split('\n')).toEqual([...expected, '']);
  });

  it('escapes symbols, and writes null symbols, null and negative prices and empty sides', () => {
    const base: StoredSnapshot = {
      symbol: null, instrumentId: 1, publisherId: 2, tsRecv: 18446744073709551615n, tsEvent: 0n, sequence: 4294967295, subSequence: 3,
      action: 'R', side: 'N', price: null, size: 0, flags: 255, tsInDelta: -5, depth: 10, crossed: false, locked: true,
      bids: [], asks: [-1_500_000_000, 7, 1, 0, 1, 1],
    };
    for (const symbol of [null, 'ES "quoted" \\ back', 'Ω é\n', 'CLX5']) {
      const s = { ...base, symbol };
      const json = frameText(s);
      expect(json).toBe(JSON.stringify(referenceFrame(s)));
      expect(JSON.parse(json).symbol).toBe(symbol);
    }
    expect(JSON.parse(frameText(base)).asks).toEqual([['-1.500000000', 7, 1], ['0.000000000', 1, 1]]);
  });

  it('writes values outside the fast paths as JSON does, growing the chunk for a frame larger than it', () => {
    const writer = new FrameWriter(64);
    const huge: StoredSnapshot = {
      symbol: 'X'.repeat(300), instrumentId: 4294967295, publisherId: 65535, tsRecv: 0n, tsEvent: 1n, sequence: 0, subSequence: 0,
      action: 'A', side: 'B', price: 2 ** 80, size: 2 ** 53 + 2, flags: 0, tsInDelta: 0, depth: 10, crossed: true, locked: false,
      // Prices of ~270 digits overflow the per-level estimate more than twice over.
      bids: Array.from({ length: 60 }, (_, k) => [-(2 ** 900) * (k + 1), 2 ** 52 + k, 4294967295]).flat(), asks: [-0, NaN, 1.25],
    };
    for (let k = 0; k < 3; k++) {
      writer.text('x');
      expect(frameText(huge, Infinity, writer)).toBe(`x${JSON.stringify(referenceFrame(huge))}`);
    }
  });

  it('level prices written again from the table of recent ones are exact, in JSON and CSV, through collisions and evictions', () => {
    // More distinct prices than the table has slots, each used again and again, in frames of a small chunk (some overflow it).
    // Some far apart, most on a tick grid, near each other and -0, so that neighbours share slots too.
    const grid = Array.from({ length: 20_000 }, (_, t) => (t - 100) * 1e7);
    const prices = [...fc.sample(fc.maxSafeInteger(), { numRuns: 2_000, seed: 7 }), ...grid, -0];
    const base = fc.sample(storedSnapshot, { numRuns: 1, seed: 7 })[0];
    const frames = Array.from({ length: 5_000 }, (_, f) => ({
      ...base,
      bids: Array.from({ length: 10 }, (_, k) => [prices[(f * 7 + k * 613) % prices.length], k, 1]).flat(),
      asks: Array.from({ length: 10 }, (_, k) => [prices[(f * 3 + k * 1009) % prices.length], k, 2]).flat(),
    }));
    for (const chunk of [256, 64 * 1024]) {
      const written = writeInChunks(chunk, [...frames, ...frames], (writer, s) => writer.frame(s, 10, true));
      const expected = frames.map((s) => `${JSON.stringify(referenceFrame(s, 10))}\n`).join('');
      expect(written).toBe(expected + expected);
      // CSV export rows take their prices from the same table.
      const csv = writeInChunks(chunk, [...frames, ...frames], (writer, s) => writer.csvRow(s, 10));
      const expectedCsv = frames.map((s) => `${referenceCsvRow(s, 10)}\n`).join('');
      expect(csv).toBe(expectedCsv + expectedCsv);
    }
  });

  it('matches JSON.stringify of the reference for any stored values, at any depth and chunk size', () => {
    fc.assert(fc.property(fc.array(storedSnapshot, { maxLength: 20 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 16, max: 4096 }), (frames, depth, chunk) => {
      const written = writeInChunks(chunk, frames, (writer, s) => writer.frame(s, depth, true));
      expect(written).toBe(frames.map((s) => `${JSON.stringify(referenceFrame(s, depth))}\n`).join(''));
    }), propertyRuns(300, 22));
  });

  it('CSV rows: exactly the reference for any stored values, at any depth and chunk size; symbols quoted where CSV needs it', () => {
    fc.assert(fc.property(fc.array(storedSnapshot, { maxLength: 20 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 16, max: 4096 }), (rows, depth, chunk) => {
      const written = writeInChunks(chunk, rows, (writer, s) => writer.csvRow(s, depth));
      expect(written).toBe(rows.map((s) => `${referenceCsvRow(s, depth)}\n`).join(''));
    }), propertyRuns(300, 23));
  });
});
