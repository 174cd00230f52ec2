import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DbnError, PRELUDE_LENGTH, RecordFramer, decodeBuffer, readPrelude, type RecordBatch } from '../../src/dbn/index.js';
import { CLX5 } from '../helpers.js';
import { propertyRuns } from '../property.js';

/** The records of a file, with no reader around the framer: the whole records section, cut where `cuts` say. */
const file = readFileSync(CLX5);
const start = PRELUDE_LENGTH + readPrelude(file).metadataLength;
const records = file.subarray(start);
const whole = decodeBuffer(file).batch;

function framed(cuts: number[]): Buffer {
  const framer = new RecordFramer(start);
  const out: RecordBatch[] = [];
  let from = 0;
  for (const at of [...new Set(cuts)].sort((a, b) => a - b).concat(records.length)) {
    out.push(...framer.push(records.subarray(from, at)));
    from = at;
  }
  framer.finish();
  if (out.some((b) => b.end <= b.start)) throw new Error("an empty batch"); // never one
  return Buffer.concat(out.map((b) => b.bytes.subarray(b.start, b.end)));
}

describe('RecordFramer: record framing without I/O', () => {
  it('yields every record once and whole, wherever the chunks are cut', () => {
    const expected = Buffer.from(whole.bytes.subarray(whole.start, whole.end));
    expect(framed([]).equals(expected)).toBe(true);
    expect(framed([1, 2, 3, 57, 58]).equals(expected)).toBe(true); // a record cut into pieces smaller than its header
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: records.length }), { maxLength: 40 }), (cuts) => {
        expect(framed(cuts).equals(expected)).toBe(true);
      }),
      propertyRuns(50, 0xf4a3e),
    );
  });

  it('finish() reports a record left cut, at its offset in the stream', () => {
    const framer = new RecordFramer(start);
    const cut = records.subarray(0, 56 * 3 + 10);
    expect(framer.push(cut).reduce((n, b) => n + (b.end - b.start), 0)).toBe(56 * 3);
    expect(() => framer.finish()).toThrow(DbnError);
    try {
      framer.finish();
    } catch (e) {
      expect(e).toMatchObject({ code: 'TRUNCATED_RECORD', offset: start + 56 * 3 });
    }
  });
});
