import { FIXED_METADATA_LENGTH, MBO_RECORD_LENGTH, PRELUDE_LENGTH, RType } from './constants.js';
import type { Metadata } from './metadata.js';
import { HeaderOffset, MboOffset } from './layout.js';

/**
 * Encodes DBN v2/v3 metadata (the two share a layout), padded so records start
 * on an 8-byte boundary as Databento's encoder does.
 */
export function encodeMetadata(meta: Metadata): Buffer {
  if (meta.version < 2) throw new Error('booktape writes DBN v2 or v3 metadata only');
  const L = meta.symbol_cstr_len;
  const listBytes = (xs: string[]) => 4 + xs.length * L;
  let len = FIXED_METADATA_LENGTH + 4 + listBytes(meta.symbols) + listBytes(meta.partial) + listBytes(meta.not_found) + 4;
  for (const m of meta.mappings) len += L + 4 + m.intervals.length * (8 + L);
  const padded = Math.ceil((PRELUDE_LENGTH + len) / 8) * 8 - PRELUDE_LENGTH;
  const buf = Buffer.alloc(PRELUDE_LENGTH + padded);
  buf.write('DBN', 0, 'latin1');
  buf.writeUInt8(meta.version, 3);
  buf.writeUInt32LE(padded, 4);
  let o = PRELUDE_LENGTH;
  const cstr = (s: string) => { buf.write(s, o, Math.min(Buffer.byteLength(s), L - 1), 'utf8'); o += L; };
  buf.write(meta.dataset, o, 15, 'utf8'); o += 16;
  buf.writeUInt16LE(meta.schema ?? 0xffff, o); o += 2;
  buf.writeBigUInt64LE(BigInt(meta.start), o); o += 8;
  buf.writeBigUInt64LE(BigInt(meta.end), o); o += 8;
  buf.writeBigUInt64LE(BigInt(meta.limit), o); o += 8;
  buf.writeUInt8(meta.stype_in ?? 0xff, o++);
  buf.writeUInt8(meta.stype_out, o++);
  buf.writeUInt8(meta.ts_out ? 1 : 0, o++);
  buf.writeUInt16LE(L, o);
  o = PRELUDE_LENGTH + FIXED_METADATA_LENGTH;
  buf.writeUInt32LE(0, o); o += 4; // schema_definition_length
  for (const list of [meta.symbols, meta.partial, meta.not_found]) {
    buf.writeUInt32LE(list.length, o); o += 4;
    for (const s of list) cstr(s);
  }
  buf.writeUInt32LE(meta.mappings.length, o); o += 4;
  for (const m of meta.mappings) {
    cstr(m.raw_symbol);
    buf.writeUInt32LE(m.intervals.length, o); o += 4;
    for (const iv of m.intervals) {
      buf.writeUInt32LE(iv.start_date, o); o += 4;
      buf.writeUInt32LE(iv.end_date, o); o += 4;
      cstr(iv.symbol);
    }
  }
  return buf;
}

export interface MboFields {
  publisherId: number;
  instrumentId: number;
  tsEvent: bigint;
  orderId: bigint;
  /** 1e-9 units; UNDEF_PRICE for none. */
  price: bigint;
  size: number;
  flags: number;
  channelId: number;
  action: string;
  side: string;
  tsRecv: bigint;
  tsInDelta: number;
  sequence: number;
}

/** Writes one 56-byte MBO record at `o`. */
export function writeMbo(buf: Buffer, o: number, r: MboFields): void {
  buf.writeUInt8(MBO_RECORD_LENGTH / 4, o);
  buf.writeUInt8(RType.MBO, o + HeaderOffset.rtype);
  buf.writeUInt16LE(r.publisherId, o + HeaderOffset.publisherId);
  buf.writeUInt32LE(r.instrumentId, o + HeaderOffset.instrumentId);
  buf.writeBigUInt64LE(r.tsEvent, o + HeaderOffset.tsEvent);
  buf.writeBigUInt64LE(r.orderId, o + MboOffset.orderId);
  buf.writeBigInt64LE(r.price, o + MboOffset.price);
  buf.writeUInt32LE(r.size, o + MboOffset.size);
  buf.writeUInt8(r.flags, o + MboOffset.flags);
  buf.writeUInt8(r.channelId, o + MboOffset.channelId);
  buf.writeUInt8(r.action.charCodeAt(0), o + MboOffset.action);
  buf.writeUInt8(r.side.charCodeAt(0), o + MboOffset.side);
  buf.writeBigUInt64LE(r.tsRecv, o + MboOffset.tsRecv);
  buf.writeInt32LE(r.tsInDelta, o + MboOffset.tsInDelta);
  buf.writeUInt32LE(r.sequence, o + MboOffset.sequence);
}

/** A whole MBO file in memory: for tests and small fixtures. */
export function encodeMboFile(meta: Metadata, records: MboFields[]): Buffer {
  const head = encodeMetadata(meta);
  const body = Buffer.alloc(records.length * MBO_RECORD_LENGTH);
  records.forEach((r, i) => writeMbo(body, i * MBO_RECORD_LENGTH, r));
  return Buffer.concat([head, body]);
}

/** Metadata for a file booktape writes itself (synthetic data, test fixtures). */
export function mboMetadata(opts: {
  dataset: string;
  start: bigint;
  end: bigint;
  symbols: Array<{ symbol: string; instrumentId: number }>;
}): Metadata {
  const day = (ns: bigint) => {
    const d = new Date(Number(ns / 1_000_000n));
    return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
  };
  const startDate = day(opts.start);
  const endDate = Math.max(day(opts.end), startDate + 1);
  return {
    version: 3,
    dataset: opts.dataset,
    schema: 0,
    start: opts.start.toString(),
    end: opts.end.toString(),
    limit: '0',
    stype_in: 1,
    stype_out: 0,
    ts_out: false,
    symbol_cstr_len: 71,
    symbols: opts.symbols.map((s) => s.symbol),
    partial: [],
    not_found: [],
    mappings: opts.symbols.map((s) => ({
      raw_symbol: s.symbol,
      intervals: [{ start_date: startDate, end_date: endDate, symbol: String(s.instrumentId) }],
    })),
  };
}
