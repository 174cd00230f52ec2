import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Flag, MBO_RECORD_LENGTH, UNDEF_PRICE } from './constants.js';
import { encodeMetadata, mboMetadata, writeMbo, type MboFields } from './encode.js';

/**
 * A deterministic generator of realistic MBO sessions, for benchmarks and load
 * tests. Per book it keeps a live order set and a mid price, and emits exchange
 * events (each ending with F_LAST):
 *  - adds around the mid; full and partial cancels; modifies that keep priority
 *    (size down) or lose it (size up, price change);
 *  - trades as T (aggressor) + F (resting) + C (full fill) or M (partial fill);
 *  - cancels and modifies of orders resting before the file started (the
 *    generator starts with such orders, never written as adds), so the
 *    engine sees unknown ids exactly as in real mid-session files;
 *  - mid moves that sweep the crossed side with cancels, so the book stays
 *    uncrossed as a matching engine would keep it; rare clears (R).
 * Instruments trade on publisher 1; odd instruments also on publisher 2, whose
 * order ids are above 2^53 to exercise exact u64 handling downstream.
 */
export interface SynthOptions {
  records: number;
  seed: number;
  instruments: number;
  /** First ts_recv, ns since the epoch. */
  startNs?: bigint;
  /** Records written so far, about every MiB. */
  onProgress?: (records: number) => void;
}

export interface SynthSummary {
  records: number;
  events: number;
  books: number;
  bytes: number;
}

const TICK_NANOS = 10_000_000n; // 0.01
const BASE_PRICE_TICKS = 6_500; // 65.00
const INITIAL_RESTING = 150;
const TARGET_LIVE = 600;
const BIG_ID_BASE = 1n << 60n;

/** mulberry32: tiny, fast, and enough for a deterministic workload. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RestingOrder {
  id: bigint;
  side: 'B' | 'A';
  priceTicks: number;
  size: number;
}

class SynthBook {
  readonly live: RestingOrder[] = [];
  private readonly where = new Map<bigint, number>();
  mid = BASE_PRICE_TICKS;
  sequence = 1;
  constructor(readonly instrumentId: number, readonly publisherId: number, readonly idBase: bigint) {}

  addLive(o: RestingOrder): void {
    this.where.set(o.id, this.live.length);
    this.live.push(o);
  }
  removeLive(o: RestingOrder): void {
    const i = this.where.get(o.id);
    if (i === undefined) return;
    const last = this.live.pop()!;
    if (last !== o) {
      this.live[i] = last;
      this.where.set(last.id, i);
    }
    this.where.delete(o.id);
  }
  clearLive(): void {
    this.live.length = 0;
    this.where.clear();
  }
}

export async function writeSynthetic(out: Writable, opts: SynthOptions): Promise<SynthSummary> {
  const rnd = prng(opts.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const startNs = opts.startNs ?? 1_758_742_200_000_000_000n;
  const books: SynthBook[] = [];
  const symbols: Array<{ symbol: string; instrumentId: number }> = [];
  let nextId = 1_000_000n;
  for (let i = 0; i < opts.instruments; i++) {
    const instrumentId = 1000 + i;
    symbols.push({ symbol: `SYN${i}`, instrumentId });
    books.push(new SynthBook(instrumentId, 1, 0n));
    if (i % 2 === 1) books.push(new SynthBook(instrumentId, 2, BIG_ID_BASE));
  }
  // Orders resting before the file starts: the engine never sees their adds.
  for (const b of books) {
    for (let k = 0; k < INITIAL_RESTING; k++) {
      const side = k % 2 === 0 ? 'B' : 'A';
      const away = int(1, 15);
      b.addLive({ id: b.idBase + nextId++, side, priceTicks: side === 'B' ? b.mid - away : b.mid + away, size: int(1, 50) });
    }
  }
  // The time span is only known at the end; the metadata states the intended
  // span (1 µs to 50 µs between events) and the header is written first.
  const avgGapNs = 25_000n;
  const endNs = startNs + BigInt(opts.records) * avgGapNs;
  const head = encodeMetadata(mboMetadata({ dataset: 'SYNTH.MBO', start: startNs, end: endNs, symbols }));

  const CHUNK_RECORDS = 18_724; // ~1 MiB
  let buf = Buffer.allocUnsafe(CHUNK_RECORDS * MBO_RECORD_LENGTH);
  let inBuf = 0;
  let bytes = 0;
  const flush = async () => {
    if (inBuf === 0) return;
    const chunk = buf.subarray(0, inBuf * MBO_RECORD_LENGTH);
    bytes += chunk.length;
    buf = Buffer.allocUnsafe(CHUNK_RECORDS * MBO_RECORD_LENGTH);
    inBuf = 0;
    if (!out.write(chunk)) await once(out, 'drain');
    opts.onProgress?.(written);
  };
  bytes += head.length;
  if (!out.write(head)) await once(out, 'drain');

  let ts = startNs;
  let written = 0;
  let events = 0;
  const pending: MboFields[] = [];
  const emit = (b: SynthBook, action: string, side: string, id: bigint, priceTicks: number | null, size: number) => {
    pending.push({
      publisherId: b.publisherId, instrumentId: b.instrumentId, tsEvent: 0n, orderId: id,
      price: priceTicks === null ? UNDEF_PRICE : BigInt(priceTicks) * TICK_NANOS,
      size, flags: 0, channelId: 0, action, side, tsRecv: 0n, tsInDelta: int(1_000, 20_000), sequence: b.sequence++,
    });
  };

  while (written < opts.records) {
    const b = books[int(0, books.length - 1)];
    const room = opts.records - written;
    const r = rnd();
    const crowded = b.live.length > TARGET_LIVE;
    const pick = () => b.live[int(0, b.live.length - 1)];
    if (b.live.length < 20 || r < (crowded ? 0.3 : 0.42)) {
      const side = rnd() < 0.5 ? 'B' : 'A';
      const away = 1 + Math.floor(rnd() * rnd() * 20);
      const o: RestingOrder = { id: b.idBase + nextId++, side, priceTicks: side === 'B' ? b.mid - away : b.mid + away, size: int(1, 100) };
      b.addLive(o);
      emit(b, 'A', side, o.id, o.priceTicks, o.size);
    } else if (r < 0.72) {
      const o = pick();
      if (o.size > 1 && rnd() < 0.25) {
        const cut = int(1, o.size - 1);
        o.size -= cut;
        emit(b, 'C', o.side, o.id, o.priceTicks, cut);
      } else {
        b.removeLive(o);
        emit(b, 'C', o.side, o.id, o.priceTicks, o.size);
      }
    } else if (r < 0.86) {
      const o = pick();
      const kind = rnd();
      if (kind < 0.4 && o.size > 1) o.size = int(1, o.size - 1); // keeps priority
      else if (kind < 0.7) o.size += int(1, 20); // loses priority
      else {
        const away = int(1, 12);
        o.priceTicks = o.side === 'B' ? b.mid - away : b.mid + away; // loses priority
      }
      emit(b, 'M', o.side, o.id, o.priceTicks, o.size);
    } else if (r < 0.95 && room >= 3) {
      // A trade against a resting order near the top of its side.
      let o = pick();
      for (let k = 0; k < 6; k++) {
        const c = pick();
        if (c.side === o.side && (c.side === 'B' ? c.priceTicks > o.priceTicks : c.priceTicks < o.priceTicks)) o = c;
      }
      const fill = rnd() < 0.6 ? o.size : int(1, o.size);
      const aggressor = o.side === 'B' ? 'A' : 'B';
      emit(b, 'T', aggressor, 0n, o.priceTicks, fill);
      emit(b, 'F', o.side, o.id, o.priceTicks, fill);
      if (fill === o.size) {
        b.removeLive(o);
        emit(b, 'C', o.side, o.id, o.priceTicks, fill);
      } else {
        o.size -= fill;
        emit(b, 'M', o.side, o.id, o.priceTicks, o.size);
      }
    } else if (r < 0.97) {
      // Cancel or modify of an order the file never added.
      const id = b.idBase + BigInt(int(1, 999_999));
      const side = rnd() < 0.5 ? 'B' : 'A';
      const priceTicks = side === 'B' ? b.mid - int(1, 10) : b.mid + int(1, 10);
      if (rnd() < 0.5) emit(b, 'C', side, id, priceTicks, int(1, 10));
      else {
        const o: RestingOrder = { id: b.idBase + nextId++, side, priceTicks, size: int(1, 50) };
        b.addLive(o);
        emit(b, 'M', side, o.id, priceTicks, o.size);
      }
    } else if (r < 0.99995 || room < 2) {
      // The mid moves a tick; resting orders now through it are cancelled.
      const up = rnd() < 0.5;
      b.mid += up ? 1 : -1;
      const through = b.live.filter((o) => (up ? o.side === 'A' && o.priceTicks <= b.mid : o.side === 'B' && o.priceTicks >= b.mid));
      for (const o of through.slice(0, Math.max(0, room - 1))) {
        b.removeLive(o);
        emit(b, 'C', o.side, o.id, o.priceTicks, o.size);
      }
      if (pending.length === 0) {
        const side = up ? 'B' : 'A';
        const o: RestingOrder = { id: b.idBase + nextId++, side, priceTicks: up ? b.mid - 1 : b.mid + 1, size: int(1, 100) };
        b.addLive(o);
        emit(b, 'A', side, o.id, o.priceTicks, o.size);
      }
    } else {
      b.clearLive();
      emit(b, 'R', 'N', 0n, null, 0);
    }
    // Stamp the event: one ts_event, rising ts_recv, F_LAST on its last record.
    const tsEvent = ts;
    for (let k = 0; k < pending.length; k++) {
      const rec = pending[k];
      ts += BigInt(int(1_000, 50_000));
      rec.tsEvent = tsEvent;
      rec.tsRecv = ts;
      if (k === pending.length - 1) rec.flags |= Flag.LAST;
      writeMbo(buf, inBuf * MBO_RECORD_LENGTH, rec);
      if (++inBuf === CHUNK_RECORDS) await flush();
    }
    written += pending.length;
    pending.length = 0;
    events++;
  }
  await flush();
  return { records: written, events, books: books.length, bytes };
}
