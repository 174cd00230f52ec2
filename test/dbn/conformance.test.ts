import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MboView, RecordCounts, UNDEF_PRICE, decodeBuffer, symbolsByInstrument } from '../../src/dbn/index.js';
import { type MboJson } from '../../src/encode/mbo.js';
import { CLX5, FIXTURES, batchRecords, chunked, decodeAll, fixture } from '../helpers.js';

const MBO_FIXTURES = [
  'test_data.mbo.dbn',
  'test_data.mbo.v1.dbn.zst',
  'test_data.mbo.v2.dbn.zst',
  'test_data.mbo.v3.dbn',
  'test_data.mbo.v3.dbn.zst',
];

describe("Databento's MBO fixtures decode to their expected output", () => {
  for (const name of MBO_FIXTURES) {
    it(name, async () => {
      const expectedRecords = readFileSync(`${FIXTURES}expected/${name}.ndjson`, 'utf8')
        .trim().split('\n').map((l) => JSON.parse(l));
      const expectedMeta = JSON.parse(readFileSync(`${FIXTURES}expected/${name}.meta.json`, 'utf8'));
      const { metadata, records } = await decodeAll(chunked(fixture(name), [7, 64, 3]));
      expect(metadata).toEqual(expectedMeta);
      // Field order is part of the shape: compare serialised lines too.
      expect(records.map((r) => JSON.stringify(r))).toEqual(expectedRecords.map((r) => JSON.stringify(r)));

      const sync = decodeBuffer(fixture(name));
      const viaBuffer: MboJson[] = [];
      batchRecords(sync.batch, viaBuffer, new RecordCounts());
      expect(sync.metadata).toEqual(expectedMeta);
      expect(viaBuffer).toEqual(expectedRecords);
    });
  }
});

describe('other schemas', () => {
  it.each([
    ['test_data.mbp-10.dbn', 2, '0x0a'],
    ['test_data.mbp-10.v3.dbn.zst', 2, '0x0a'],
    ['test_data.trades.dbn', 4, '0x00'],
    ['test_data.ohlcv-1s.dbn', 5, '0x20'],
    ['test_data.definition.v3.dbn.zst', 9, '0x13'],
  ])('%s: metadata read, records skipped by length and counted per rtype', async (name, schema, rtype) => {
    const { metadata, records, counts } = await decodeAll(chunked(fixture(name), [5, 100]));
    expect(metadata.schema).toBe(schema);
    expect(records).toEqual([]);
    expect(counts.toJSON()).toEqual({ [rtype]: 2 });
  });
});

describe('CLX5 sample', () => {
  it('decodes all 38,212 records with the CLX5 -> 432669 mapping', async () => {
    const { metadata, records, counts } = await decodeAll(chunked(readFileSync(CLX5), [65536]));
    expect(counts.mbo).toBe(38_212);
    expect(counts.other.size).toBe(0);
    expect(records).toHaveLength(38_212);
    expect(metadata.version).toBe(3);
    expect(metadata.dataset).toBe('GLBX.MDP3');
    expect(metadata.symbols).toEqual(['CLX5']);
    expect(symbolsByInstrument(metadata).get(432669)).toBe('CLX5');
    expect(new Set(records.map((r) => r.instrument_id))).toEqual(new Set([432669]));
    // Records are in ts_recv order and every action is one of the spec's.
    for (let i = 1; i < records.length; i++) {
      expect(BigInt(records[i].ts_recv) >= BigInt(records[i - 1].ts_recv)).toBe(true);
    }
    expect(records.filter((r) => !'ACMRTFN'.includes(r.action) || !'BAN'.includes(r.side))).toEqual([]);
    // The exact u64 path: order ids and timestamps above 2^53 survive as decimal strings.
    expect(BigInt(records[0].ts_recv) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
  });
});

describe('MboView.priceNanos', () => {
  // An MBO record of zeros but for its length, rtype and price.
  const at = (price: bigint): number => {
    const bytes = new Uint8Array(56);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, 14);
    view.setUint8(1, 0xa0);
    view.setBigInt64(24, price, true);
    return new MboView().at(view, 0).priceNanos;
  };

  it('is exact for every price a double holds exactly, and NaN beyond', () => {
    const MAX = 2n ** 53n;
    expect(at(0n)).toBe(0);
    expect(at(65_400_000_000n)).toBe(65_400_000_000);
    expect(at(-1n)).toBe(-1);
    expect(at(MAX - 1n)).toBe(Number(MAX - 1n));
    expect(at(MAX)).toBeNaN();
    expect(at(-MAX)).toBe(-Number(MAX));
    expect(at(-MAX + 4_294_967_295n)).toBe(Number(-MAX + 4_294_967_295n));
    expect(at(-MAX - 1n)).toBeNaN();
    expect(at(UNDEF_PRICE)).toBeNaN();
  });
});
