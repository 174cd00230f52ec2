import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeMbp, type MbpFormat } from '../../src/cli/book.js';
import { Market, type DepthSnapshot } from '../../src/book/index.js';
import { UNDEF_PRICE, decodeBuffer, openDbnStream } from '../../src/dbn/index.js';
import { schemaName } from '../../src/dbn/constants.js';
import { CLX5, chunked } from '../helpers.js';
import { add, encode, rec } from './records.js';

/**
 * The reference for all three formats: one snapshot in Databento's MBP shape,
 * built plainly from the snapshot object with bigints. Missing levels are
 * UNDEF_PRICE with zero size and count; `depth` is the level of the
 * triggering record's price on its side (0 when it is not there).
 */
function expected(s: DepthSnapshot) {
  const side = s.side === 'B' ? s.bids : s.side === 'A' ? s.asks : [];
  const at = s.price === null ? -1 : side.findIndex((x, k) => k % 3 === 0 && x === s.price) / 3;
  const level = (packed: number[], k: number) =>
    k * 3 < packed.length ? [BigInt(packed[k * 3]).toString(), packed[k * 3 + 1], packed[k * 3 + 2]] : [UNDEF_PRICE.toString(), 0, 0];
  return {
    ts_recv: s.tsRecv.toString(), ts_event: s.tsEvent.toString(), rtype: s.depth === 10 ? 10 : s.depth === 1 ? 1 : null,
    publisher_id: s.publisherId, instrument_id: s.instrumentId, action: s.action, side: s.side, depth: Math.max(0, at),
    price: s.price === null ? UNDEF_PRICE.toString() : BigInt(s.price).toString(), size: s.size, flags: s.flags,
    ts_in_delta: s.tsInDelta, sequence: s.sequence,
    levels: Array.from({ length: s.depth }, (_, k) => {
      const [bidPx, bidSz, bidCt] = level(s.bids, k);
      const [askPx, askSz, askCt] = level(s.asks, k);
      return { bid_px: bidPx, ask_px: askPx, bid_sz: bidSz, ask_sz: askSz, bid_ct: bidCt, ask_ct: askCt };
    }),
  };
}

async function mbp(file: Buffer, format: MbpFormat, depth = 10): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } });
  await writeMbp(await openDbnStream(chunked(file, [65_536])), sink, { depth, intervalNs: 0, format });
  return Buffer.concat(chunks);
}

/** Reads the MBP-1 or MBP-10 records of a DBN file back into the reference shape. */
function decodeMbp(out: Buffer, levels: 1 | 10 = 10) {
  const start = 8 + out.readUInt32LE(4);
  const length = 48 + 32 * levels;
  const rows = [];
  for (let o = start; o < out.length; o += length) {
    expect([out.readUInt8(o), out.readUInt8(o + 1)]).toEqual([length / 4, levels === 10 ? 0x0a : 0x01]);
    rows.push({
      ts_recv: out.readBigUInt64LE(o + 32).toString(), ts_event: out.readBigUInt64LE(o + 8).toString(), rtype: levels,
      publisher_id: out.readUInt16LE(o + 2), instrument_id: out.readUInt32LE(o + 4),
      action: String.fromCharCode(out[o + 28]), side: String.fromCharCode(out[o + 29]), depth: out[o + 31],
      price: out.readBigInt64LE(o + 16).toString(), size: out.readUInt32LE(o + 24), flags: out[o + 30],
      ts_in_delta: out.readInt32LE(o + 40), sequence: out.readUInt32LE(o + 44),
      levels: Array.from({ length: levels }, (_, k) => {
        const l = o + 48 + k * 32;
        return {
          bid_px: out.readBigInt64LE(l).toString(), ask_px: out.readBigInt64LE(l + 8).toString(),
          bid_sz: out.readUInt32LE(l + 16), ask_sz: out.readUInt32LE(l + 20), bid_ct: out.readUInt32LE(l + 24), ask_ct: out.readUInt32LE(l + 28),
        };
      }),
    });
  }
  return rows;
}

/** CSV rows back into the reference shape, checking the header's names. */
function parseCsv(text: string, depth: number) {
  const [header, ...lines] = text.trimEnd().split('\n');
  const names = header.split(',');
  expect(names.slice(0, 13)).toEqual(['ts_recv', 'ts_event', 'rtype', 'publisher_id', 'instrument_id', 'action', 'side', 'depth', 'price', 'size', 'flags', 'ts_in_delta', 'sequence']);
  expect(names.slice(13, 19)).toEqual(['bid_px_00', 'ask_px_00', 'bid_sz_00', 'ask_sz_00', 'bid_ct_00', 'ask_ct_00']);
  expect(names.length).toBe(13 + 6 * depth);
  return lines.map((line) => {
    const c = line.split(',');
    return {
      ts_recv: c[0], ts_event: c[1], rtype: c[2] === '' ? null : Number(c[2]), publisher_id: Number(c[3]), instrument_id: Number(c[4]),
      action: c[5], side: c[6], depth: Number(c[7]), price: c[8], size: Number(c[9]), flags: Number(c[10]),
      ts_in_delta: Number(c[11]), sequence: Number(c[12]),
      levels: Array.from({ length: depth }, (_, k) => {
        const [bidPx, askPx, bidSz, askSz, bidCt, askCt] = c.slice(13 + 6 * k, 19 + 6 * k);
        return { bid_px: bidPx, ask_px: askPx, bid_sz: Number(bidSz), ask_sz: Number(askSz), bid_ct: Number(bidCt), ask_ct: Number(askCt) };
      }),
    };
  });
}

describe('mbp output (json, csv, dbn) equals the reference for every CLX5 snapshot', () => {
  const file = readFileSync(CLX5);
  const want = (depth: number) => new Market({ depth, intervalNs: 0 }).applyBatch(decodeBuffer(file).batch).map(expected);

  it('dbn: MBP-10 records, field by field', async () => {
    const got = decodeMbp(await mbp(file, 'dbn'));
    expect(got).toHaveLength(32_053);
    expect(got).toEqual(want(10));
  });

  it('dbn at depth 1: MBP-1 records (rtype 0x01, 80 bytes) in a file whose metadata says mbp-1', async () => {
    const out = await mbp(file, 'dbn', 1);
    expect(decodeMbp(out, 1)).toEqual(want(1));
    const meta = (await openDbnStream(chunked(out, [4096]))).metadata;
    expect(schemaName(meta.schema)).toBe('mbp-1');
    expect(schemaName((await openDbnStream(chunked(await mbp(file, 'dbn'), [4096]))).metadata.schema)).toBe('mbp-10');
  });

  it('json: one object per line', async () => {
    const got = (await mbp(file, 'json')).toString().trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(got).toEqual(want(10));
  });

  it('csv: Databento column names, one row per snapshot, at depth 10, 3 and 1', async () => {
    expect(parseCsv((await mbp(file, 'csv')).toString(), 10)).toEqual(want(10));
    expect(parseCsv((await mbp(file, 'csv', 3)).toString(), 3)).toEqual(want(3));
    const one = parseCsv((await mbp(file, 'csv', 1)).toString(), 1);
    expect(one).toEqual(want(1));
    expect(one[0].rtype).toBe(1); // MBP-1
  });

  it('json at depth 1 and 3: rtype 1 (MBP-1), and null where Databento has no schema', async () => {
    const lines = async (depth: number) => (await mbp(file, 'json', depth)).toString().trimEnd().split('\n').map((l) => JSON.parse(l));
    const one = await lines(1);
    expect(one).toEqual(want(1));
    expect(one[0].rtype).toBe(1);
    const three = await lines(3);
    expect(three).toEqual(want(3));
    expect(three[0].rtype).toBeNull();
  });
});

describe('mbp edge values', () => {
  it('negative prices and an undefined record price round-trip in every format', async () => {
    const file = encode([
      add(1, 'B', -1.25, 4),
      add(2, 'A', 0.5, 7),
      rec({ action: 'T', side: 'N', price: UNDEF_PRICE, size: 0 }),
    ]);
    const want = new Market({ depth: 10, intervalNs: 0 }).applyBatch(decodeBuffer(file).batch).map(expected);
    expect(want[0].levels[0].bid_px).toBe('-1250000000');
    expect(want[2].price).toBe(UNDEF_PRICE.toString());
    expect(decodeMbp(await mbp(file, 'dbn'))).toEqual(want);
    expect((await mbp(file, 'json')).toString().trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(want);
    expect(parseCsv((await mbp(file, 'csv')).toString(), 10)).toEqual(want);
  });

  it('a level size beyond u32 is an error for dbn (MBP-10 cannot hold it), not a wrapped value', async () => {
    const file = encode([add(1, 'B', 10, 0xffffffff, 0), add(2, 'B', 10, 1)]);
    await expect(mbp(file, 'dbn')).rejects.toMatchObject({ code: 'MBP_FIELD_OVERFLOW', message: expect.stringMatching(/bid size 4294967296 .*--format json or csv/) });
    const json = JSON.parse((await mbp(file, 'json')).toString());
    expect(json.levels[0].bid_sz).toBe(4294967296);
  });
});
