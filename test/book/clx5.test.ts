import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openDbnFile, openDbnStream } from '../../src/dbn/index.js';
import { checkBook, rebuild } from '../../src/book/index.js';
import { reconstructedBooks, writeMbp } from '../../src/cli/book.js';
import { CLX5 } from '../helpers.js';

describe('CLX5 sample: the book the market had', () => {
  it('final book: 61 bid and 52 ask levels, best bid 65.40 x1, best ask 64.78 x3, crossed in the pre-open', async () => {
    const out = await reconstructedBooks(await openDbnFile(CLX5), { depth: Infinity });
    expect(out.books).toHaveLength(1);
    const b = out.books[0];
    expect(b.symbol).toBe('CLX5');
    expect(b.instrument_id).toBe(432669);
    expect(b.bid_levels).toBe(61);
    expect(b.ask_levels).toBe(52);
    expect(b.bids).toHaveLength(61);
    expect(b.bids[0]).toEqual({ price: '65.400000000', size: 1, count: 1 });
    expect(b.asks[0]).toEqual({ price: '64.780000000', size: 3, count: 1 });
    expect(b.crossed).toBe(true);
    // The file starts mid-session: cancels and modifies of orders it never added.
    expect(b.anomalies.cancel_unknown).toBeGreaterThan(0);
    expect(b.anomalies.modify_unknown).toBeGreaterThan(0);
    expect(b.anomalies.crossed).toBeGreaterThan(0);
    expect(b.ts_recv).toBe('1758751199999903747');
  });

  it('every book invariant holds after every one of the 38,212 records', async () => {
    // verify mode throws BookInvariantError at the first broken state.
    const stream = await openDbnStream(Readable.from([readFileSync(CLX5)]));
    const { market } = await rebuild(stream, { policy: { depth: 10, intervalNs: 0 }, verify: true });
    expect(market.counts.mbo).toBe(38_212);
    expect([...market.books.values()].map(checkBook)).toEqual([[]]);
  });

  it('--at stops at an instant', async () => {
    const out = await reconstructedBooks(await openDbnFile(CLX5), { depth: 1, at: 1758744000000000000n });
    expect(out.at).toBe('2025-09-24T20:00:00.000000000Z');
    expect(BigInt(out.books[0].ts_recv) <= 1758744000000000000n).toBe(true);
    expect(out.books[0].bid_levels).not.toBe(61);
  });

  it('mbp: one snapshot per F_LAST; DBN MBP-10 output has Databento\'s record layout', async () => {
    const chunks: Buffer[] = [];
    const sink = new (await import('node:stream')).Writable({ write(c, _e, cb) { chunks.push(c); cb(); } });
    const n = await writeMbp(await openDbnFile(CLX5), sink, { depth: 10, intervalNs: 0, format: 'dbn' });
    expect(n).toBe(32_053);
    const out = Buffer.concat(chunks);
    const start = 8 + out.readUInt32LE(4);
    expect(out.readUInt16LE(24)).toBe(2); // schema mbp-10
    expect(out.length - start).toBe(n * 368);
    // The last record: the final book's top level, at Databento's offsets.
    const last = start + (n - 1) * 368;
    expect(out.readUInt8(last)).toBe(92);
    expect(out.readUInt8(last + 1)).toBe(0x0a);
    expect(out.readUInt32LE(last + 4)).toBe(432669);
    expect(out.readBigInt64LE(last + 48)).toBe(65_400_000_000n); // bid_px_00
    expect(out.readBigInt64LE(last + 56)).toBe(64_780_000_000n); // ask_px_00
    expect(out.readUInt32LE(last + 64)).toBe(1); // bid_sz_00
    expect(out.readUInt32LE(last + 68)).toBe(3); // ask_sz_00
    // Databento's own MBP-10 fixture reads sensibly at the same offsets.
    const fx = readFileSync(new URL('../fixtures/test_data.mbp-10.dbn', import.meta.url));
    const r0 = 8 + fx.readUInt32LE(4);
    expect([fx.readUInt8(r0) * 4, fx.readUInt8(r0 + 1), String.fromCharCode(fx.readUInt8(r0 + 28)), fx.readUInt8(r0 + 31)]).toEqual([368, 0x0a, 'C', 9]);
    expect(fx.readBigInt64LE(r0 + 48) < fx.readBigInt64LE(r0 + 56)).toBe(true); // bid below ask
  });
});
