import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { Market } from '../../src/book/market.js';
import { decodeBuffer } from '../../src/dbn/index.js';
import { bucketOf, rowsOf, type BboBucket, type PriceSpan, type SnapshotStore, type StoredSnapshot, type WriteCount } from '../../src/store/port.js';
import { NANOS, topOfBook } from '../../src/store/columns.js';
import type { DepthSnapshot } from '../../src/book/snapshot.js';
import { BID_PX, BID_SZ, SnapshotField, type SnapshotBuffer } from '../../src/book/snapshot-buffer.js';
import { KeyField } from '../../src/book/row-buffer.js';
import { MboEventBuffer } from '../../src/book/event-buffer.js';
import { CheckpointBuffer } from '../../src/book/checkpoint-buffer.js';
import type { TradeBuffer } from '../../src/book/trade-buffer.js';
import { CLX5 } from '../helpers.js';
import { propertyRuns, propertyTimeout } from '../property.js';

/** Every batch of CLX5's snapshots and trades, as the engine captures them. */
export function clx5Batches(): Array<[SnapshotBuffer, TradeBuffer]> {
  const market = new Market({ depth: 10, intervalNs: 0, trades: true }, 4096);
  const { batch } = decodeBuffer(readFileSync(CLX5));
  const out: Array<[SnapshotBuffer, TradeBuffer]> = [];
  for (let o = batch.start; o < batch.end; ) {
    o = market.apply(batch, o);
    out.push([
      (market.snapshots.constructor as typeof SnapshotBuffer).adopt(market.snapshots.exportRows()),
      (market.trades.constructor as typeof TradeBuffer).adopt(market.trades.exportRows()),
    ]);
    market.snapshots.clear();
    market.trades.clear();
  }
  return out;
}

/** How the L3 tests checkpoint CLX5: every 60 s of ts_recv or 1,000 events (102 checkpoints). */
export const CLX5_CHECKPOINTS = { everyNs: 60e9, events: 1000 };

/** Every batch of CLX5's MBO events and L3 checkpoints, as the engine captures them. */
export function clx5L3Batches(capacity = 4096): Array<[MboEventBuffer, CheckpointBuffer]> {
  const market = new Market({ depth: 0, intervalNs: 0, l3: CLX5_CHECKPOINTS }, capacity);
  const { batch } = decodeBuffer(readFileSync(CLX5));
  const out: Array<[MboEventBuffer, CheckpointBuffer]> = [];
  for (let o = batch.start; o < batch.end; ) {
    o = market.apply(batch, o);
    out.push([MboEventBuffer.adopt(market.events.exportEvents()), CheckpointBuffer.adopt(market.checkpoints.exportRows())]);
    market.clearCaptured();
  }
  return out;
}

/** CLX5's first batch of snapshots (4,096 rows). */
export function clx5FirstBatch(): SnapshotBuffer {
  return clx5Batches()[0][0];
}

const symbolOf = (id: number) => (id === 432669 ? 'CLX5' : null);

/** One buffer of the given row ranges of several buffers, in order (same depth). */
function joinRows(...parts: Array<[SnapshotBuffer, number, number]>): SnapshotBuffer {
  const { depth, stride } = parts[0][0];
  const length = parts.reduce((n, [, from, to]) => n + to - from, 0);
  const rows = new Float64Array(length * stride);
  let at = 0;
  for (const [b, from, to] of parts) {
    rows.set(b.rows.subarray(b.at(from), b.at(to)), at);
    at += (to - from) * stride;
  }
  return (parts[0][0].constructor as typeof SnapshotBuffer).adopt({ depth, length, rows });
}

/** Sets one field of row i (tests craft rows from the engine's). */
function set(buf: SnapshotBuffer, i: number, field: number, value: number): void {
  buf.rows[buf.at(i) + field] = value;
}

/** Sets row i's ts_recv. */
function setTsRecv(buf: SnapshotBuffer, i: number, ts: bigint): void {
  set(buf, i, KeyField.tsRecvHi, Number(ts >> 32n));
  set(buf, i, KeyField.tsRecvLo, Number(ts & 0xffffffffn));
}

/** A span widened by the next value in key order. */
const widen = (span: PriceSpan | null, x: number): PriceSpan =>
  span === null ? { first: x, last: x, min: x, max: x } : { first: span.first, last: x, min: Math.min(span.min, x), max: Math.max(span.max, x) };

/** What a store's BBO series of the batches must be, computed row by row. */
function bboReference(batches: Array<[SnapshotBuffer, TradeBuffer]>, everyNs: bigint, from = 0n, to = 2n ** 64n - 1n): BboBucket[] {
  const buckets = new Map<bigint, BboBucket>();
  const bucket = (ts: bigint) => {
    const start = bucketOf(ts, everyNs);
    let b = buckets.get(start);
    if (b === undefined) buckets.set(start, (b = { ts: start, snapshots: 0, bid: null, ask: null, trades: null }));
    return b;
  };
  for (const [s] of batches) {
    for (let i = 0; i < s.length; i++) {
      if (s.tsRecv(i) < from || s.tsRecv(i) > to) continue;
      const b = bucket(s.tsRecv(i));
      const top = topOfBook(s, i);
      b.snapshots++;
      if (!Number.isNaN(top.bidPx)) b.bid = widen(b.bid, top.bidPx);
      if (!Number.isNaN(top.askPx)) b.ask = widen(b.ask, top.askPx);
    }
  }
  for (const [, t] of batches) {
    for (let i = 0; i < t.length; i++) {
      if (t.tsRecv(i) < from || t.tsRecv(i) > to) continue;
      const b = bucket(t.tsRecv(i));
      const trades = b.trades ?? { count: 0, volume: 0, price: null };
      b.trades = {
        count: trades.count + 1, volume: trades.volume + t.size(i),
        price: Number.isNaN(t.price(i)) ? trades.price : widen(trades.price, t.price(i) / NANOS),
      };
    }
  }
  return [...buckets.values()].sort((a, b) => (a.ts < b.ts ? -1 : 1));
}

/**
 * The contract every SnapshotStore passes. `fresh` returns an empty,
 * initialised store.
 */
export function storeContract(fresh: () => Promise<SnapshotStore>): void {
  const batches = clx5Batches();
  const total = batches.reduce((n, [s]) => n + s.length, 0);

  it('writes every snapshot once; writing the same batches again adds nothing', async () => {
    const store = await fresh();
    for (const [s, t] of batches) { await store.writeSnapshots(s, symbolOf); await store.writeTrades(t, symbolOf); }
    await store.flush();
    expect(total).toBe(32_053);
    expect(await store.countSnapshots()).toBe(total);
    for (const [s] of batches.slice(0, 3)) await store.writeSnapshots(s, symbolOf);
    await store.flush();
    expect(await store.countSnapshots()).toBe(total);
    await store.close();
  });

  it('stores every MBO event and checkpoint row once, written as ingestion issues them; writing them again adds nothing', async () => {
    const store = await fresh();
    const l3 = clx5L3Batches();
    const events = l3.reduce((n, [e]) => n + e.length, 0);
    const checkpointRows = l3.reduce((n, [, c]) => n + c.length, 0);
    await Promise.all(l3.flatMap(([e, c]) => [store.writeMboEvents(e, symbolOf), store.writeCheckpoints(c, symbolOf)]));
    await store.flush();
    expect(events).toBe(38_212);
    expect(await store.countL3()).toEqual({ events, checkpointRows });
    // Again, and a batch straddling stored rows and new ones, re-cut: nothing is added twice.
    for (const [e, c] of l3.slice(0, 4)) { await store.writeMboEvents(e, symbolOf); await store.writeCheckpoints(c, symbolOf); }
    await store.flush();
    expect(await store.countL3()).toEqual({ events, checkpointRows });
    await store.close();
  });

  it('writes issued without waiting for earlier ones are applied one by one, in order', async () => {
    const store = await fresh();
    // As ingestion issues them: the next batch before the previous resolves, some of them twice.
    await Promise.all(batches.flatMap(([s, t], k) => [
      store.writeSnapshots(s, symbolOf), store.writeTrades(t, symbolOf), ...(k % 2 === 1 ? [store.writeSnapshots(batches[k - 1][0], symbolOf)] : []),
    ]));
    await store.flush();
    expect(await store.countSnapshots()).toBe(total);
    const last = batches[batches.length - 1][0];
    expect(await store.bookAt('CLX5')).toEqual({ ...last.row(last.length - 1), symbol: 'CLX5' });
    await store.close();
  });

  it('a batch that straddles stored rows adds only its new rows', async () => {
    const store = await fresh();
    for (const [s] of batches.slice(0, 3)) await store.writeSnapshots(s, symbolOf);
    const [s2] = batches[2];
    const [s3] = batches[3];
    await store.writeSnapshots(joinRows([s2, s2.length >> 1, s2.length], [s3, 0, s3.length]), symbolOf);
    await store.flush();
    const expected = batches.slice(0, 4).reduce((n, [s]) => n + s.length, 0);
    expect(await store.countSnapshots()).toBe(expected);
    const rows = [];
    for await (const r of rowsOf(store.readRange({ symbols: [] }))) rows.push(r);
    expect(rows.length).toBe(expected);
    expect(rows.at(-1)).toEqual({ ...s3.row(s3.length - 1), symbol: 'CLX5' });
    await store.close();
  });

  it('any batches of any overlapping row ranges, written in any order, some without waiting, store each row exactly once', async () => {
    // Two instruments interleaved, so a batch can be past one's stored rows and
    // not the other's; rows in runs of four at one instant, so a batch can start
    // at the very instant where stored rows end.
    const source = joinRows([batches[0][0], 0, 800]);
    for (let i = 0; i < source.length; i++) {
      if (i % 3 === 0) set(source, i, KeyField.instrumentId, 432670);
      set(source, i, KeyField.tsRecvHi, source.tsRecvHi(i - (i % 4)));
      set(source, i, KeyField.tsRecvLo, source.tsRecvLo(i - (i % 4)));
      set(source, i, KeyField.subSequence, i); // keys stay unique
    }
    const symbols = (id: number) => (id === 432669 ? 'CLX5' : id === 432670 ? 'CLX6' : null);
    const range = fc.tuple(fc.integer({ min: 0, max: 800 }), fc.integer({ min: 0, max: 120 }), fc.boolean())
      .map(([from, n, wait]) => ({ from, to: Math.min(800, from + n + 1), wait }));
    await fc.assert(
      fc.asyncProperty(fc.array(range, { minLength: 1, maxLength: 14 }), async (writes) => {
        const store = await fresh();
        try {
          const pending: Promise<WriteCount>[] = [];
          for (const w of writes) {
            const write = store.writeSnapshots(joinRows([source, w.from, w.to]), symbols);
            if (w.wait) await write;
            pending.push(write);
          }
          const counts = await Promise.all(pending);
          await store.flush();
          const covered = new Set<number>();
          for (const w of writes) for (let i = w.from; i < w.to; i++) covered.add(i);
          // A store that counts what it newly stored counts each row once, however often it was written.
          if (counts.every((c) => c !== undefined)) expect(counts.reduce((n, c) => n + c!.added, 0)).toBe(covered.size);
          const key = (r: { tsRecv: bigint; instrumentId: number; sequence: number; subSequence: number }) =>
            `${r.tsRecv}/${r.instrumentId}/${r.sequence}/${r.subSequence}`;
          const expected = [...covered].map((i) => source.row(i)).map(key).sort();
          expect(await store.countSnapshots()).toBe(covered.size);
          const got = [];
          for await (const r of rowsOf(store.readRange({ symbols: [] }))) got.push(key(r));
          expect(got.sort()).toEqual(expected);
        } finally {
          await store.close();
        }
      }),
      propertyRuns(20, 3),
    );
  }, propertyTimeout(120_000));

  it('round-trips every field, one-sided books, long and non-ASCII symbols, no price, and rows with no symbol', async () => {
    const store = await fresh();
    const s = joinRows([batches[0][0], 0, 200]);
    // Level sizes are sums of u32 order sizes: one above 2^32 must survive too.
    const row = Array.from({ length: s.length }, (_, i) => s.bidLevels(i)).findIndex((n) => n > 1);
    s.rows[s.slot(row, BID_SZ) + 1] = 2 ** 40 + 7;
    // A record without a price (UNDEF_PRICE) is stored as NULL and read back as null.
    set(s, 3, SnapshotField.price, NaN);
    // Negative values where the types allow them: a price (spreads trade below zero) and ts_in_delta.
    s.rows[s.slot(row, BID_PX)] = -500_000_000;
    set(s, 4, SnapshotField.price, -1_250_000_000);
    set(s, 5, SnapshotField.tsInDelta, -7);
    const long = 'CLX5 C0065000 Ω-long';
    await store.writeSnapshots(s, () => long);
    await store.flush();
    const rows = [];
    for await (const r of rowsOf(store.readRange({ symbols: [long], limit: 200 }))) rows.push(r);
    const expected = Array.from({ length: 200 }, (_, i) => ({ ...s.row(i), symbol: long }));
    expect(expected.some((r) => r.bids.length === 0 || r.asks.length === 0)).toBe(true);
    expect(expected[row].bids[4]).toBe(2 ** 40 + 7);
    expect(rows).toEqual(expected);
    expect(rows[3].price).toBeNull();
    expect([rows[row].bids[0], rows[4].price, rows[5].tsInDelta]).toEqual([-500_000_000, -1_250_000_000, -7]);
    const other = await fresh();
    await other.writeSnapshots(s, () => null);
    await other.flush();
    const [info] = await other.listInstruments();
    expect(info).toMatchObject({ symbol: null, snapshots: s.length });
    const unnamed = [];
    for await (const r of rowsOf(other.readRange({ symbols: [] }))) unnamed.push(r);
    expect(unnamed).toEqual(expected.map((r) => ({ ...r, symbol: null })));
    await store.close();
    await other.close();
  });

  it('rows of interleaved symbols, some differing only late in the name, some long, some none, read back with their own', async () => {
    const store = await fresh();
    const s = joinRows([batches[0][0], 0, 300]);
    const names = ['CLX5 C00650', 'CLX5 C00651', 'CLX5 P00650', 'CLX5', null, 'CLX5 C0065000 long', 'CLX5 C0065000 lone'];
    // Runs of one symbol and single rows between them.
    for (let i = 0; i < s.length; i++) set(s, i, KeyField.instrumentId, 1 + (i % 10 < 3 ? 0 : i % names.length));
    await store.writeSnapshots(s, (id) => names[id - 1]);
    await store.flush();
    const rows = [];
    for await (const r of rowsOf(store.readRange({ symbols: [] }))) rows.push(r);
    expect(rows).toHaveLength(s.length);
    for (const r of rows) expect(r.symbol).toBe(names[r.instrumentId - 1]);
    await store.close();
  });

  it('action and side bytes outside ASCII (a corrupt or newer file) are stored and read back as their characters', async () => {
    const store = await fresh();
    const s = joinRows([batches[0][0], 0, 4]);
    [0x7f, 0xc8, 0xff, 0x80].forEach((b, i) => { set(s, i, SnapshotField.action, b); set(s, i, SnapshotField.side, 0xff - i); });
    await store.writeSnapshots(s, symbolOf);
    await store.flush();
    const rows = [];
    for await (const r of rowsOf(store.readRange({ symbols: [] }))) rows.push(r);
    expect(rows.map((r) => [r.action, r.side])).toEqual([0, 1, 2, 3].map((i) => [String.fromCharCode(s.action(i)), String.fromCharCode(s.side(i))]));
    expect(await store.bookAt('CLX5', rows[3].tsRecv)).toMatchObject({ action: String.fromCharCode(0x80), side: String.fromCharCode(0xfc) });
    await store.close();
  });

  it('the book at an instant stays exact while writes add rows, including a later row at an instant already read', async () => {
    const store = await fresh();
    const [s] = batches[0];
    let i = 50;
    while (s.tsRecv(i + 1) !== s.tsRecv(i)) i++; // rows i and i+1 share an instant
    await store.writeSnapshots(joinRows([s, 0, i + 1]), symbolOf);
    await store.flush();
    expect(await store.bookAt('CLX5')).toEqual({ ...s.row(i), symbol: 'CLX5' });
    expect(await store.bookAt('CLX5', s.tsRecv(i))).toEqual({ ...s.row(i), symbol: 'CLX5' });
    await store.writeSnapshots(joinRows([s, i + 1, s.length]), symbolOf);
    await store.flush();
    let last = i + 1;
    while (s.tsRecv(last + 1) === s.tsRecv(i)) last++;
    expect(await store.bookAt('CLX5', s.tsRecv(i))).toEqual({ ...s.row(last), symbol: 'CLX5' });
    expect(await store.bookAt('CLX5')).toEqual({ ...s.row(s.length - 1), symbol: 'CLX5' });
    expect(await store.bookAt('CLX5', s.tsRecv(0) - 1n)).toBeNull();
    await store.close();
  });

  it('a row written later at an instant already read (the instants unchanged) is the book there at once', async () => {
    const store = await fresh();
    const [s] = batches[1];
    let j = 2000;
    while (!(s.tsRecv(j - 1) === s.tsRecv(j) && s.tsRecv(j + 1) !== s.tsRecv(j))) j++; // row j is the last of two or more at its instant
    await store.writeSnapshots(joinRows([s, 0, j], [s, j + 1, s.length]), symbolOf);
    await store.flush();
    expect(await store.bookAt('CLX5', s.tsRecv(j))).toEqual({ ...s.row(j - 1), symbol: 'CLX5' });
    expect(await store.bookAt('CLX5', s.tsRecv(j - 1) + 1n)).toEqual({ ...s.row(j - 1), symbol: 'CLX5' });
    await store.writeSnapshots(joinRows([s, j, j + 1]), symbolOf);
    await store.flush();
    expect(await store.bookAt('CLX5', s.tsRecv(j))).toEqual({ ...s.row(j), symbol: 'CLX5' });
    await store.close();
  });

  it('answers many concurrent book lookups across the whole range exactly, between instants too', async () => {
    const store = await fresh();
    for (const [s] of batches) await store.writeSnapshots(s, symbolOf);
    await store.flush();
    // The book at instant t is the last row at t in key order (rows of one book are captured in key order).
    const rows = batches.flatMap(([s]) => Array.from({ length: s.length }, (_, i) => s.row(i)));
    const lastAt = new Map(rows.map((r) => [r.tsRecv, r]));
    const instants = [...lastAt.keys()];
    const asked: Array<[bigint, (typeof rows)[number] | undefined]> = [];
    for (let k = 0; k < instants.length; k += 5) {
      asked.push([instants[k], lastAt.get(instants[k])]);
      // Just before an instant: the book of the one before it.
      if (instants[k] - 1n !== instants[k - 1]) asked.push([instants[k] - 1n, k > 0 ? lastAt.get(instants[k - 1]) : undefined]);
    }
    // Out of time order and all at once, as concurrent API clients ask.
    const order = asked.map((_, k) => (k * 7919) % asked.length);
    const got = await Promise.all(order.map((k) => store.bookAt('CLX5', asked[k][0])));
    order.forEach((k, n) => {
      const want = asked[k][1];
      expect(got[n], `book at ${asked[k][0]}`).toEqual(want === undefined ? null : { ...want, symbol: 'CLX5' });
    });
    await store.close();
  });

  it('lists instruments with their time range and count', async () => {
    const store = await fresh();
    for (const [s] of batches) await store.writeSnapshots(s, symbolOf);
    await store.flush();
    const [info, ...rest] = await store.listInstruments();
    expect(rest).toEqual([]);
    expect(info).toMatchObject({ symbol: 'CLX5', instrumentId: 432669, publisherId: 1, snapshots: total, depth: batches[0][0].depth });
    expect(info.firstTsRecv).toBe(batches[0][0].tsRecv(0));
    expect(info.lastTsRecv).toBe(1758751199999903747n);
    await store.close();
  });

  it('reads the book at an instant: the latest snapshot at or before it, exactly as captured', async () => {
    const store = await fresh();
    for (const [s] of batches) await store.writeSnapshots(s, symbolOf);
    await store.flush();
    const last = await store.bookAt('CLX5');
    expect(last?.bids.slice(0, 3)).toEqual([65_400_000_000, 1, 1]);
    expect(last?.asks.slice(0, 3)).toEqual([64_780_000_000, 3, 1]);
    expect(last?.crossed).toBe(true);
    // A snapshot in the middle comes back field for field: pick one that is
    // the last at its instant, so it is the one "at or before" returns.
    const [buf] = batches[2];
    let i = 100;
    while (buf.tsRecv(i + 1) === buf.tsRecv(i)) i++;
    const want = buf.row(i);
    const got = await store.bookAt('CLX5', want.tsRecv);
    expect(got).toEqual({ ...want, symbol: 'CLX5' });
    expect(await store.bookAt('CLX5', 1n)).toBeNull();
    expect(await store.bookAt('NOPE')).toBeNull();
    await store.close();
  });

  it('streams a range in key order, page by page, with limits and symbol filters', async () => {
    const store = await fresh();
    for (const [s] of batches) await store.writeSnapshots(s, symbolOf);
    await store.flush();
    const from = batches[1][0].tsRecv(0);
    const to = batches[1][0].tsRecv(999);
    const rows = [];
    for await (const r of rowsOf(store.readRange({ symbols: ['CLX5'], from, to, pageSize: 97 }))) rows.push(r);
    const expected = [];
    for (const [s] of batches) for (let i = 0; i < s.length; i++) { const r = s.row(i); if (r.tsRecv >= from && r.tsRecv <= to) expected.push(r); }
    expect(rows.length).toBe(expected.length);
    expect(rows.map((r) => [r.tsRecv, r.sequence, r.subSequence])).toEqual(expected.map((r) => [r.tsRecv, r.sequence, r.subSequence]));
    // Tiny pages over everything: every window boundary, including ties of ts_recv, keeps key order with no row lost or repeated.
    const all = [];
    for await (const r of rowsOf(store.readRange({ symbols: [], pageSize: 50 }))) all.push(r);
    const everything = batches.flatMap(([s]) => Array.from({ length: s.length }, (_, i) => s.row(i)));
    expect(all.map((r) => [r.tsRecv, r.sequence, r.subSequence])).toEqual(everything.map((r) => [r.tsRecv, r.sequence, r.subSequence]));
    let limited = 0;
    for await (const _ of rowsOf(store.readRange({ symbols: [], limit: 250, pageSize: 100 }))) limited++;
    expect(limited).toBe(250);
    let none = 0;
    for await (const _ of rowsOf(store.readRange({ symbols: ['NOPE'] }))) none++;
    expect(none).toBe(0);
    // A publisher filter: the sample has publisher 1 only.
    const one = [];
    for await (const r of rowsOf(store.readRange({ symbols: ['CLX5'], publisherId: 1, limit: 300, pageSize: 100 }))) one.push(r);
    expect(one.map((r) => [r.tsRecv, r.sequence, r.subSequence])).toEqual(everything.slice(0, 300).map((r) => [r.tsRecv, r.sequence, r.subSequence]));
    for await (const _ of rowsOf(store.readRange({ symbols: [], publisherId: 2 }))) none++;
    expect(none).toBe(0);
    await store.close();
  });

  it('a limit counts only rows inside ns bounds that fall within a microsecond', async () => {
    const store = await fresh();
    // Rows 10..19 moved to ten consecutive ns of one µs (QuestDB's SQL bounds are per µs).
    const rows = joinRows([batches[0][0], 0, 40]);
    const base = (rows.tsRecv(10) / 1000n) * 1000n;
    expect(rows.tsRecv(9) < base && base + 9n < rows.tsRecv(20)).toBe(true);
    for (let j = 10; j < 20; j++) {
      const ts = base + BigInt(j - 10);
      setTsRecv(rows, j, ts);
    }
    await store.writeSnapshots(rows, symbolOf);
    await store.flush();
    const got = [];
    for await (const r of rowsOf(store.readRange({ symbols: ['CLX5'], from: base + 5n, limit: 8 }))) got.push(r.tsRecv);
    expect(got).toEqual(Array.from({ length: 8 }, (_, k) => rows.tsRecv(15 + k)));
    await store.close();
  });

  it('pages through a burst at one instant larger than the page, then past it, each row once', async () => {
    const store = await fresh();
    // Rows 0..299 at one ns (a burst no window can split), rows 300..399 after it.
    const rows = joinRows([batches[0][0], 0, 400]);
    const burst = rows.tsRecv(0);
    for (let j = 0; j < 300; j++) {
      setTsRecv(rows, j, burst);
    }
    await store.writeSnapshots(rows, symbolOf);
    await store.flush();
    const key = (r: StoredSnapshot) => `${r.tsRecv}/${r.sequence}/${r.subSequence}`;
    const all: StoredSnapshot[] = [];
    for await (const r of rowsOf(store.readRange({ symbols: ['CLX5'] }))) all.push(r);
    expect(all.length).toBe(400);
    // Pages of 40 rows in small windows: each page inside the burst starts at
    // its instant and skips the rows up to its key; the one after the burst's
    // last row skips all 300. (This hung before the skipped rows were allowed
    // for in the read-ahead.)
    const paged: StoredSnapshot[] = [];
    for (let page = 0; page < 20; page++) {
      const before = paged.length;
      // Batches straight from readRange: none empty, even where every row of a window is skipped.
      for await (const batch of store.readRange({ symbols: ['CLX5'], limit: 40, pageSize: 16, after: paged.at(-1) })) {
        expect(batch.length).toBeGreaterThan(0);
        paged.push(...batch);
      }
      if (paged.length - before < 40) break;
    }
    expect(paged.map(key)).toEqual(all.map(key));
    await store.close();
  });

  it('streams in key order however the rows were written (later batches first)', async () => {
    const store = await fresh();
    for (const [s] of [...batches].reverse()) await store.writeSnapshots(s, symbolOf);
    await store.flush();
    const everything = batches.flatMap(([s]) => Array.from({ length: s.length }, (_, i) => s.row(i)));
    for (const pageSize of [4096, 300]) {
      const all = [];
      for await (const r of rowsOf(store.readRange({ symbols: ['CLX5'], pageSize }))) all.push(r);
      expect(all.map((r) => [r.tsRecv, r.sequence, r.subSequence])).toEqual(everything.map((r) => [r.tsRecv, r.sequence, r.subSequence]));
    }
    await store.close();
  });

  it('streams any distribution of instants in key order: bursts at one ns, ns apart, wide gaps; any bounds, limit and page size', async () => {
    // Runs of rows: all at one ns, a few ns apart, or far apart, after a gap.
    const run = fc.record({
      gap: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      rows: fc.integer({ min: 1, max: 300 }),
      step: fc.constantFrom(0n, 1n, 3n, 1_000n, 10n ** 9n),
    });
    const source = batches[0][0];
    await fc.assert(
      fc.asyncProperty(
        fc.array(run, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 120 }), // page size: tiny pages make many windows, and bursts beyond a page
        fc.option(fc.integer({ min: 1, max: 1500 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.infiniteStream(fc.integer({ min: 0, max: 2 })),
        fc.integer({ min: 40, max: 400 }),
        async (runs, pageSize, limit, fromAt, toAt, instruments, pageLimit) => {
          const rows = joinRows([source, 0, Math.min(source.length, runs.reduce((n, r) => n + r.rows, 0))]);
          let ts = 1_758_000_000_000_000_000n;
          let i = 0;
          for (const r of runs) {
            ts += r.gap;
            for (let k = 0; k < r.rows && i < rows.length; k++, i++, ts += r.step) {
              setTsRecv(rows, i, ts);
              // Keys stay unique; rows at one instant differ in instrument, and in
              // sequences written out of order, so only a sort puts them in key order.
              set(rows, i, KeyField.instrumentId, 432669 + instruments.next().value);
              set(rows, i, KeyField.sequence, (i * 7919) % 100_003);
              set(rows, i, KeyField.subSequence, 0);
            }
          }
          const all = Array.from({ length: rows.length }, (_, k) => rows.row(k)).sort((a, b) =>
            a.tsRecv !== b.tsRecv ? (a.tsRecv < b.tsRecv ? -1 : 1) : a.instrumentId - b.instrumentId || a.sequence - b.sequence);
          const first = all[0].tsRecv;
          const span = all[all.length - 1].tsRecv - first;
          const at = (f: number) => first + (span * BigInt(Math.round(f * 1e6))) / 1_000_000n;
          const [from, to] = fromAt <= toAt ? [at(fromAt), at(toAt)] : [at(toAt), at(fromAt)];
          const expected = all.filter((r) => r.tsRecv >= from && r.tsRecv <= to).slice(0, limit ?? Infinity);

          const store = await fresh();
          try {
            await store.writeSnapshots(rows, (id) => (id >= 432669 && id <= 432671 ? 'CLX5' : null));
            await store.flush();
            const got = [];
            for await (const r of rowsOf(store.readRange({ symbols: ['CLX5'], from, to, limit, pageSize }))) got.push(r);
            const key = (r: { tsRecv: bigint; instrumentId: number; sequence: number }) => `${r.tsRecv}/${r.instrumentId}/${r.sequence}`;
            expect(got.map(key)).toEqual(expected.map(key));
            // Paging: pages of pageLimit rows, each after the last row of the one before, are the whole range once.
            const paged: StoredSnapshot[] = [];
            for (let page = 0; page < 100; page++) { // at most 3,600 rows in pages of 40 or more
              const before = paged.length;
              for await (const r of rowsOf(store.readRange({ symbols: ['CLX5'], from, to, limit: pageLimit, pageSize, after: paged.at(-1) }))) paged.push(r);
              if (paged.length - before < pageLimit) break;
            }
            expect(paged.map(key)).toEqual(all.filter((r) => r.tsRecv >= from && r.tsRecv <= to).map(key));
          } finally {
            await store.close();
          }
        },
      ),
      propertyRuns(25, 7),
    );
  }, propertyTimeout(120_000));

  it('the book at any instant is the latest row at or before it, ties at one instant going to the highest (sequence, sub_sequence, instrument, publisher)', async () => {
    const source = batches[0][0];
    await fc.assert(
      fc.asyncProperty(
        // Per row: ns after the previous row (often 0: a burst at one instant), and which of three books of one symbol.
        fc.array(fc.record({ step: fc.constantFrom(0n, 0n, 1n, 2n, 1_000n, 10n ** 9n), book: fc.integer({ min: 0, max: 2 }), sequence: fc.integer({ min: 0, max: 5 }) }), { minLength: 1, maxLength: 2500 }),
        fc.array(fc.double({ min: -0.1, max: 1.1, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(undefined, 1, 2),
        async (spec, probes, publisher) => {
          const rows = joinRows([source, 0, Math.min(source.length, spec.length)]);
          let ts = 1_758_000_000_000_000_000n;
          for (let i = 0; i < rows.length; i++) {
            ts += spec[i].step;
            setTsRecv(rows, i, ts);
            // Books: (432669, 1), (432670, 1), (432669, 2); sequences collide on purpose, sub_sequence keeps keys unique.
            set(rows, i, KeyField.instrumentId, spec[i].book === 1 ? 432670 : 432669);
            set(rows, i, KeyField.publisherId, spec[i].book === 2 ? 2 : 1);
            set(rows, i, KeyField.sequence, spec[i].sequence);
            set(rows, i, KeyField.subSequence, i);
          }
          const all = Array.from({ length: rows.length }, (_, k) => rows.row(k));
          const later = (a: DepthSnapshot, b: DepthSnapshot) =>
            a.tsRecv !== b.tsRecv ? a.tsRecv > b.tsRecv
              : (a.sequence - b.sequence || a.subSequence - b.subSequence || a.instrumentId - b.instrumentId || a.publisherId - b.publisherId) > 0;
          const reference = (at: bigint | undefined) => {
            let best: DepthSnapshot | null = null;
            for (const r of all) {
              if ((at !== undefined && r.tsRecv > at) || (publisher !== undefined && r.publisherId !== publisher)) continue;
              if (best === null || later(r, best)) best = r;
            }
            return best;
          };
          const first = all[0].tsRecv;
          const span = all[all.length - 1].tsRecv - first;
          const instants: Array<bigint | undefined> = [undefined, first, first - 1n, all[all.length - 1].tsRecv,
            ...probes.map((f) => first + (span * BigInt(Math.round(f * 1e6))) / 1_000_000n)];
          const key = (r: { tsRecv: bigint; sequence: number; subSequence: number; instrumentId: number; publisherId: number } | null) =>
            r === null ? null : `${r.tsRecv}/${r.sequence}/${r.subSequence}/${r.instrumentId}/${r.publisherId}`;

          const store = await fresh();
          try {
            await store.writeSnapshots(rows, (id) => (id === 432669 || id === 432670 ? 'CLX5' : null));
            await store.flush();
            // Concurrent lookups, as the API makes them.
            const got = await Promise.all(instants.map((at) => store.bookAt('CLX5', at, publisher)));
            expect(got.map(key)).toEqual(instants.map((at) => key(reference(at))));
          } finally {
            await store.close();
          }
        },
      ),
      propertyRuns(20, 5),
    );
  }, propertyTimeout(120_000));

  it('a BBO series: per epoch-aligned bucket, best bid and ask first/last in key order, min and max, and the trades; exact ns bounds, a limit', async () => {
    const store = await fresh();
    for (const [s, t] of batches) { await store.writeSnapshots(s, symbolOf); await store.writeTrades(t, symbolOf); }
    await store.flush();
    const all = batches.flatMap(([s]) => Array.from({ length: s.length }, (_, i) => s.tsRecv(i)));
    for (const everyNs of [1_000_000_000n, 60_000_000_000n, 86_400_000_000_000n]) {
      const want = bboReference(batches, everyNs);
      expect(await store.bbo({ symbol: 'CLX5', everyNs, limit: 100_000 }), `every ${everyNs}`).toEqual(want);
      expect(await store.bbo({ symbol: 'CLX5', everyNs, limit: 100_000, publisherId: 1 })).toEqual(want);
    }
    const minute = bboReference(batches, 60_000_000_000n);
    // CLX5 trades, and some of its minutes have no trade.
    expect(minute.some((b) => b.trades !== null) && minute.some((b) => b.trades === null)).toBe(true);
    // Bounds one ns inside rows, mid-bucket: the rows at those instants are left out.
    const [from, to] = [all[1000] + 1n, all[30_000] - 1n];
    expect(all[1000] < from && from < all[1001] && all[29_999] < to).toBe(true);
    const bounded = await store.bbo({ symbol: 'CLX5', everyNs: 1_000_000_000n, from, to, limit: 100_000 });
    expect(bounded).toEqual(bboReference(batches, 1_000_000_000n, from, to));
    expect(await store.bbo({ symbol: 'CLX5', everyNs: 1_000_000_000n, from, to, limit: 25 })).toEqual(bounded.slice(0, 25));
    expect(await store.bbo({ symbol: 'CLX5', everyNs: 1_000_000n, from: all[5], to: all[5], limit: 10 })).toMatchObject([{ ts: bucketOf(all[5], 1_000_000n) }]);
    expect(await store.bbo({ symbol: 'NOPE', everyNs: 1_000_000_000n, limit: 10 })).toEqual([]);
    expect(await store.bbo({ symbol: 'CLX5', everyNs: 1_000_000_000n, limit: 10, publisherId: 2 })).toEqual([]);
    await store.close();
  });

  it('records ingest runs and answers whether a content hash succeeded', async () => {
    const store = await fresh();
    const run = {
      runId: 'r1', source: 'x.dbn', sha256: 'ab'.repeat(32), dataset: 'GLBX.MDP3', schema: 'mbo', symbols: ['CLX5'],
      records: 1, snapshots: 1, trades: 0, anomalies: {}, startedAt: new Date(), finishedAt: new Date(),
      status: 'failed' as const, error: '[X] y',
    };
    await store.recordRun(run);
    await store.flush();
    expect(await store.hasSucceeded(run.sha256)).toBe(false);
    await store.recordRun({ ...run, runId: 'r2', status: 'succeeded', error: null });
    await store.flush();
    expect(await store.hasSucceeded(run.sha256)).toBe(true);
    // A Databento source is known by its text form, with the cost it was quoted.
    const day = 'databento:GLBX.MDP3/mbo?stype_in=raw_symbol&symbols=CLX5&start=2025-09-24T00:00:00Z&end=2025-09-25T00:00:00Z';
    expect(await store.hasIngested(day)).toBe(false);
    await store.recordRun({ ...run, runId: 'r3', source: day, status: 'failed', costUsd: 0.21, billableBytes: 2_139_872 });
    await store.flush();
    expect(await store.hasIngested(day)).toBe(false);
    await store.recordRun({ ...run, runId: 'r4', source: day, status: 'succeeded', error: null, costUsd: 0.21, billableBytes: 2_139_872 });
    await store.flush();
    expect(await store.hasIngested(day)).toBe(true);
    expect(await store.hasIngested(day.replace('CLX5', 'CLZ5'))).toBe(false);
    expect(await store.hasIngested("x'; DROP TABLE ingest_runs; --")).toBe(false);
    await store.ping();
    await store.close();
  });
}
