import { SenderBufferV2, SenderOptions } from '@questdb/nodejs-client';
import { describe, expect, it } from 'vitest';
import { ASK_PX, ASK_SZ, BID_PX, BID_SZ, SnapshotField, type SnapshotBuffer } from '../../src/book/snapshot-buffer.js';
import { KeyField } from '../../src/book/row-buffer.js';
import { TradeBuffer } from '../../src/book/trade-buffer.js';
import { encodeSnapshots, encodeTrades } from '../../src/store/questdb/ilp.js';
import type { SymbolOf } from '../../src/store/port.js';
import { clx5FirstBatch, clx5L3Batches } from './contract.js';
import { IlpRequest, symbolTags } from '../../src/store/questdb/ilp.js';
import { appendCheckpoints, appendMboEvents } from '../../src/store/questdb/mbo.js';
import { MboEventBuffer } from '../../src/book/event-buffer.js';
import { CheckpointKind, type CheckpointBuffer } from '../../src/book/checkpoint-buffer.js';
import { UNDEF_PRICE } from '../../src/dbn/index.js';

/** The official client's buffer for ILP v2, as the Sender fills it. */
const officialBuffer = () => new SenderBufferV2(new SenderOptions('http::addr=localhost:9000;protocol_version=2;max_buf_size=1073741824;'));

/** A side's levels as the official client takes them: [prices, sizes, counts]. */
function side(b: SnapshotBuffer, i: number, px: number, n: number): number[][] {
  const base = b.slot(i, px as 0 | 3);
  const run = (off: number, scale: number) => Array.from({ length: n }, (_, k) => b.rows[base + off + k] / scale);
  return [run(0, 1e9), run(b.depth, 1), run(2 * b.depth, 1)];
}

/** The snapshot rows written through the official client's API, column by column. */
function officialSnapshots(b: SnapshotBuffer, symbolOf: SymbolOf): Buffer {
  const s = officialBuffer();
  for (let i = 0; i < b.length; i++) {
    s.table('book_snapshots');
    const sym = symbolOf(b.instrumentId(i));
    if (sym !== null) s.symbol('symbol', sym);
    s.symbol('action', String.fromCharCode(b.action(i))).symbol('side', String.fromCharCode(b.side(i)));
    s.timestampColumn('ts_event', b.tsEvent(i), 'ns');
    s.intColumn('instrument_id', b.instrumentId(i)).intColumn('publisher_id', b.publisherId(i));
    s.intColumn('sequence', b.sequence(i)).intColumn('sub_sequence', b.subSequence(i));
    if (!Number.isNaN(b.price(i))) s.floatColumn('price', b.price(i) / 1e9);
    s.intColumn('size', b.size(i)).intColumn('flags', b.flags(i)).intColumn('ts_in_delta', b.tsInDelta(i)).intColumn('depth', b.depth);
    const nb = b.bidLevels(i);
    const na = b.askLevels(i);
    const bid = b.rows[b.slot(i, BID_PX)];
    const ask = b.rows[b.slot(i, ASK_PX)];
    if (nb > 0) s.floatColumn('best_bid_px', bid / 1e9).intColumn('best_bid_sz', b.rows[b.slot(i, BID_SZ)]);
    if (na > 0) s.floatColumn('best_ask_px', ask / 1e9).intColumn('best_ask_sz', b.rows[b.slot(i, ASK_SZ)]);
    if (nb > 0 && na > 0) s.floatColumn('spread', (ask - bid) / 1e9);
    s.booleanColumn('crossed', nb > 0 && na > 0 && bid > ask).booleanColumn('locked', nb > 0 && na > 0 && bid === ask);
    s.arrayColumn('bids', side(b, i, BID_PX, nb)).arrayColumn('asks', side(b, i, ASK_PX, na));
    s.at(b.tsRecv(i), 'ns');
  }
  return Buffer.from(s.toBufferView());
}

function officialTrades(b: TradeBuffer, symbolOf: SymbolOf): Buffer {
  const s = officialBuffer();
  for (let i = 0; i < b.length; i++) {
    s.table('trades');
    const sym = symbolOf(b.instrumentId(i));
    if (sym !== null) s.symbol('symbol', sym);
    s.symbol('side', String.fromCharCode(b.side(i)));
    s.timestampColumn('ts_event', b.tsEvent(i), 'ns');
    s.intColumn('instrument_id', b.instrumentId(i)).intColumn('publisher_id', b.publisherId(i));
    s.intColumn('sequence', b.sequence(i)).intColumn('sub_sequence', b.subSequence(i));
    if (!Number.isNaN(b.price(i))) s.floatColumn('price', b.price(i) / 1e9);
    s.intColumn('size', b.size(i));
    s.at(b.tsRecv(i), 'ns');
  }
  return Buffer.from(s.toBufferView());
}

const all = (chunks: Array<{ bytes: Buffer }>) => Buffer.concat(chunks.map((c) => c.bytes));

/** Every chunk of a buffer, as the store sends them. */
function chunksOf(encode: (from: number) => { bytes: Buffer; rows: number }, length: number) {
  const out = [];
  for (let from = 0; from < length; ) {
    const c = encode(from);
    out.push(c);
    from += c.rows;
  }
  return out;
}

describe('ILP encoder', () => {
  it('writes CLX5\'s snapshots byte for byte as the official client does', () => {
    const b = clx5FirstBatch();
    const symbolOf = (id: number) => (id === 432669 ? 'CLX5' : null);
    const [one] = chunksOf((from) => encodeSnapshots(b, from, 64 << 20, symbolOf), b.length);
    expect(one.rows).toBe(b.length);
    expect(one.bytes.equals(officialSnapshots(b, symbolOf))).toBe(true);
  });

  it('writes the edge cases alike: no price, empty sides, sizes past 2^32, negative values, escaped and non-ASCII symbols, no symbol', () => {
    const b = clx5FirstBatch();
    const row = (i: number, f: number, v: number) => { b.rows[b.at(i) + f] = v; };
    row(3, SnapshotField.price, NaN);
    row(4, SnapshotField.price, -1_250_000_000);
    row(5, SnapshotField.tsInDelta, -7);
    row(6, SnapshotField.bidLevels, 0);
    row(7, SnapshotField.askLevels, 0);
    row(8, SnapshotField.bidLevels, 0);
    row(8, SnapshotField.askLevels, 0);
    b.rows[b.slot(9, BID_SZ)] = 2 ** 40 + 7;
    [0x7f, 0xc8, 0xff, 0x80, 0x20, 0x2c, 0x3d, 0x5c, 0x0a].forEach((c, k) => { row(10 + k, SnapshotField.action, c); row(10 + k, SnapshotField.side, 0xff - k); });
    for (let i = 20; i < 40; i++) row(i, KeyField.instrumentId, 1 + (i % 5));
    const names = ['CLX5 C0065000 Ω-long', 'a,b=c\\d', 'line\nbreak\r', null, 'plain'];
    const symbolOf = (id: number) => (id === 432669 ? 'CLX5' : names[id - 1] ?? null);
    const short = (parts: number) => {
      const view = (b.constructor as typeof import('../../src/book/snapshot-buffer.js').SnapshotBuffer).adopt({ depth: b.depth, length: 60, rows: b.rows.slice(0, 60 * b.stride) });
      return { view, chunks: chunksOf((from) => encodeSnapshots(view, from, parts, symbolOf), view.length) };
    };
    const whole = short(64 << 20);
    expect(whole.chunks).toHaveLength(1);
    expect(all(whole.chunks).equals(officialSnapshots(whole.view, symbolOf))).toBe(true);
    // Small requests: whole rows each, none past the size (but a row alone), the same bytes in all.
    const small = short(3000);
    expect(small.chunks.length).toBeGreaterThan(5);
    for (const c of small.chunks) expect(c.rows === 1 || c.bytes.length <= 3000).toBe(true);
    expect(all(small.chunks).equals(all(whole.chunks))).toBe(true);
  });

  it('writes trades byte for byte as the official client does', () => {
    const t = new TradeBuffer(64);
    const src = clx5FirstBatch();
    for (let i = 0; i < 50; i++) {
      const r = t.at(t.length++);
      for (let f = 0; f <= KeyField.subSequence; f++) t.rows[r + f] = src.rows[src.at(i) + f];
      t.rows[r + KeyField.subSequence + 1] = i % 2 ? 0x42 : 0x41; // side
      t.rows[r + KeyField.subSequence + 2] = i === 3 ? NaN : src.price(i);
      t.rows[r + KeyField.subSequence + 3] = i + 1;
    }
    const symbolOf = (id: number) => (id === 432669 ? 'CL X5' : null);
    expect(all(chunksOf((from) => encodeTrades(t, from, 1000, symbolOf), t.length)).equals(officialTrades(t, symbolOf))).toBe(true);
  });
});

/** MBO events through the official client's API, as mbo.ts writes them (ids and prices within 2^53: its intColumn takes numbers). */
function officialEvents(b: MboEventBuffer, symbolOf: SymbolOf): Buffer {
  const s = officialBuffer();
  for (let i = 0; i < b.length; i++) {
    const r = b.record(i);
    s.table('mbo_events');
    const sym = symbolOf(r.instrumentId);
    if (sym !== null) s.symbol('symbol', sym);
    s.symbol('action', String.fromCharCode(r.action)).symbol('side', String.fromCharCode(r.side));
    s.timestampColumn('ts_event', r.tsEvent, 'ns');
    s.intColumn('publisher_id', r.publisherId).intColumn('instrument_id', r.instrumentId);
    if (r.priceRaw !== UNDEF_PRICE) s.intColumn('price', Number(r.priceRaw));
    s.intColumn('size', r.size).intColumn('channel_id', r.channelId).intColumn('order_id', Number(BigInt.asIntN(64, r.orderId)));
    s.intColumn('flags', r.flags).intColumn('ts_in_delta', r.tsInDelta).intColumn('sequence', r.sequence).intColumn('sub_sequence', b.subSequence[i]);
    s.at(r.tsRecv, 'ns');
  }
  return Buffer.from(s.toBufferView());
}

function officialCheckpoints(b: CheckpointBuffer, symbolOf: SymbolOf): Buffer {
  const s = officialBuffer();
  for (let i = 0; i < b.length; i++) {
    s.table('order_checkpoints');
    const sym = symbolOf(b.instrumentId(i));
    if (sym !== null) s.symbol('symbol', sym);
    s.symbol('kind', ['book', 'order', 'tob'][b.kind(i)]).symbol('side', String.fromCharCode(b.side(i)));
    s.intColumn('publisher_id', b.publisherId(i)).intColumn('instrument_id', b.instrumentId(i));
    s.intColumn('sequence', b.sequence(i)).intColumn('sub_sequence', b.subSequence(i)).intColumn('rank', b.rank(i));
    if (!Number.isNaN(b.price(i))) s.intColumn('price', b.price(i));
    s.intColumn('size', b.size(i));
    if (b.kind(i) === CheckpointKind.order) {
      s.intColumn('order_id', b.orderIdHi(i) * 2 ** 32 + b.orderIdLo(i));
      s.timestampColumn('order_ts_recv', (BigInt(b.queuedHi(i)) << 32n) | BigInt(b.queuedLo(i)), 'ns');
    }
    s.at(b.tsRecv(i), 'ns');
  }
  return Buffer.from(s.toBufferView());
}

/** Every request the store sends for a buffer of `length` rows, requests of about `bytes`. */
function l3Chunks(length: number, bytes: number, append: (req: IlpRequest, from: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let from = 0; from < length; ) {
    const req = new IlpRequest(bytes);
    from += append(req, from);
    out.push(Buffer.from(req.bytes));
  }
  return out;
}

describe('ILP encoder, L3 tables', () => {
  const symbolOf = (id: number) => (id === 432669 ? 'CLX5' : null);
  const batches = clx5L3Batches();

  it('writes CLX5\'s MBO events and checkpoints byte for byte as the official client does, in requests of whole rows', () => {
    let checkpointRows = 0;
    for (const [events, checkpoints] of batches) {
      const tags = symbolTags(symbolOf);
      const e = l3Chunks(events.length, 64 << 20, (req, from) => appendMboEvents(req, events, from, Infinity, tags));
      expect(e).toHaveLength(1);
      expect(e[0].equals(officialEvents(events, symbolOf))).toBe(true);
      const c = l3Chunks(checkpoints.length, 64 << 20, (req, from) => appendCheckpoints(req, checkpoints, from, Infinity, tags));
      expect(c[0].equals(officialCheckpoints(checkpoints, symbolOf))).toBe(true);
      checkpointRows += checkpoints.length;
      const small = l3Chunks(events.length, 4000, (req, from) => appendMboEvents(req, events, from, Infinity, tags));
      expect(small.length).toBeGreaterThan(10);
      for (const chunk of small) expect(chunk.length).toBeLessThanOrEqual(4000);
      expect(Buffer.concat(small).equals(e[0])).toBe(true);
    }
    expect(checkpointRows).toBeGreaterThan(10_000);
  });

  it('writes what the official client cannot take exactly: ids and prices past 2^53 and 2^63 as their signed LONG, UNDEF_PRICE as no price', () => {
    const [events] = batches[0];
    const b = MboEventBuffer.adopt(events.exportEvents());
    const v = b.view;
    v.setBigUint64(16, (1n << 63n) + 12_345n, true); // order_id of record 0
    v.setBigInt64(24, UNDEF_PRICE, true);
    v.setBigUint64(56 + 16, (1n << 53n) + 1n, true);
    v.setBigInt64(56 + 24, -(1n << 60n) - 3n, true);
    const text = l3Chunks(2, 1 << 20, (req, from) => appendMboEvents(req, b, from, 2, symbolTags(symbolOf)))[0].toString('latin1').split('\n');
    expect(text[0]).toContain(`,order_id=${BigInt.asIntN(64, (1n << 63n) + 12_345n)}i,`);
    expect(text[0]).not.toContain(',price=');
    expect(text[1]).toContain(`,price=${-(1n << 60n) - 3n}i,`);
    expect(text[1]).toContain(`,order_id=${(1n << 53n) + 1n}i,`);
  });
});
