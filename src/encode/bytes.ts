import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Bytes gathered before a write: text outputs write a chunk this size, not a
 * line at a time, so the per-write cost is paid once per many records.
 */
export const FLUSH_BYTES = 64 * 1024;

/**
 * Text written as bytes straight into the chunks that go to a socket or a
 * file, for the outputs that write one line per record or snapshot (replay
 * and export frames, MBP and MBO json and csv). Built as strings, each line
 * was a rope of ~100 pieces, flattened, then encoded, then collected; here
 * digits go straight into the chunk.
 */
export class ByteChunks {
  protected chunk: Buffer;
  protected pos = 0;

  constructor(protected readonly chunkBytes = FLUSH_BYTES) {
    this.chunk = Buffer.allocUnsafe(chunkBytes);
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.pos;
  }

  /** Appends `text` (a header, an end marker, separators) as UTF-8. */
  text(text: string): void {
    this.reserve(text.length * 3);
    this.pos += this.chunk.write(text, this.pos, 'utf8');
  }

  /** The bytes written so far, for the caller to keep (e.g. queued in a socket); writing goes on in a fresh chunk. */
  take(): Buffer {
    const out = this.chunk.subarray(0, this.pos);
    this.chunk = Buffer.allocUnsafe(this.chunkBytes);
    this.pos = 0;
    return out;
  }

  /**
   * Hands what is written to `out`, waiting for 'drain' when it is full: a
   * slow reader (a pipe, a client) bounds memory. With `signal` (the client
   * went away), an abort ends the wait instead; once() with a signal removes
   * its listeners either way, where racing two once() calls would leave an
   * abort listener behind per slow write.
   */
  async flushTo(out: Writable, signal?: AbortSignal): Promise<void> {
    if (this.pos === 0 || out.write(this.take())) return;
    if (signal === undefined) await once(out, 'drain');
    else if (!signal.aborted) await once(out, 'drain', { signal }).catch(() => undefined);
  }

  /** Makes room for `bytes` more: a larger chunk (copying what is written) when this one is short. */
  protected reserve(bytes: number): void {
    if (this.pos + bytes <= this.chunk.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.chunkBytes, 2 * (this.pos + bytes)));
    this.chunk.copy(grown, 0, 0, this.pos);
    this.chunk = grown;
  }
}

export const bytesOf = (text: string) => Buffer.from(text, 'utf8');

export function comma(o: Buffer, p: number): number {
  o[p] = 0x2c;
  return p + 1;
}

/** What goes before a field of a line: its key (with the comma before it) in JSON, a comma in CSV. */
export function field(o: Buffer, p: number, json: boolean, key: Uint8Array): number {
  return json ? put(o, p, key) : comma(o, p);
}

export function put(o: Buffer, p: number, bytes: Uint8Array): number {
  for (let k = 0; k < bytes.length; k++) o[p++] = bytes[k];
  return p;
}

/** A string of ASCII characters (a bigint's digits). */
export function chars(o: Buffer, p: number, text: string): number {
  for (let k = 0; k < text.length; k++) o[p++] = text.charCodeAt(k);
  return p;
}

/** A string of ASCII characters, quoted. */
export function ascii(o: Buffer, p: number, text: string): number {
  o[p++] = 0x22;
  p = chars(o, p, text);
  o[p++] = 0x22;
  return p;
}

const digits = new Uint8Array(24);
/** "00" to "99": two digits per division. */
const PAIRS = Buffer.from(Array.from({ length: 100 }, (_, k) => String(k).padStart(2, '0')).join(''), 'latin1');

/** A non-negative integer below 2^53 in decimal; other numbers as JSON (and String) write them. */
export function int(o: Buffer, p: number, x: number): number {
  if (x >>> 0 === x) return u32(o, p, x);
  if (Number.isInteger(x) && x > 0 && x < 2 ** 53) {
    // Above u32 (prices in nanos, large sums): nine low digits and the rest,
    // both exact as x < 2^53.
    const hi = Math.floor(x / 1e9);
    return nineDigits(o, u32(o, p, hi), x - hi * 1e9);
  }
  return put(o, p, bytesOf(JSON.stringify(x)));
}

function u32(o: Buffer, p: number, x: number): number {
  if (x < 10) {
    o[p] = 0x30 + x;
    return p + 1;
  }
  if (x < 100) {
    // Sizes and order counts mostly: straight from the table.
    o[p] = PAIRS[2 * x];
    o[p + 1] = PAIRS[2 * x + 1];
    return p + 2;
  }
  // As a u32, so that V8 divides in integers rather than in doubles.
  let v = x >>> 0;
  let n = 0;
  while (v >= 100) {
    const q = (v / 100) >>> 0;
    const r = 2 * (v - q * 100);
    digits[n++] = PAIRS[r + 1];
    digits[n++] = PAIRS[r];
    v = q;
  }
  if (v >= 10) {
    digits[n++] = PAIRS[2 * v + 1];
    digits[n++] = PAIRS[2 * v];
  } else digits[n++] = 0x30 + v;
  while (n > 0) o[p++] = digits[--n];
  return p;
}

/** Nine digits, zero-padded (x < 1e9): the low part of a large integer, or a price's fraction. */
export function nineDigits(o: Buffer, p: number, x: number): number {
  // An int32 (x < 1e9 < 2^31), so that V8 divides in integers rather than
  // in doubles; two digits a division, from the table.
  let v = x | 0;
  for (let k = 7; k > 0; k -= 2) {
    const q = (v / 100) | 0;
    const r = 2 * (v - q * 100);
    o[p + k] = PAIRS[r];
    o[p + k + 1] = PAIRS[r + 1];
    v = q;
  }
  o[p] = 0x30 + v;
  return p + 9;
}

/**
 * A u64 given as its 32-bit halves, in decimal, exactly and without a bigint:
 * long division by 1e9, the high half first and then the low half 16 bits at
 * a time (every step stays below 2^53), then the quotient (below 2^35) and
 * nine digits of remainder.
 */
export function u64(o: Buffer, p: number, hi: number, lo: number): number {
  if (hi === 0) return u32(o, p, lo);
  let q = Math.floor(hi / 1e9);
  let r = hi - q * 1e9;
  let cur = r * 65536 + (lo >>> 16);
  let d = Math.floor(cur / 1e9);
  r = cur - d * 1e9;
  q = q * 65536 + d;
  cur = r * 65536 + (lo & 0xffff);
  d = Math.floor(cur / 1e9);
  r = cur - d * 1e9;
  q = q * 65536 + d;
  return nineDigits(o, int(o, p, q), r); // q >= 4: x >= 2^32
}

/** An i64 given as its 32-bit halves (hi as unsigned), in decimal, exactly. */
export function i64(o: Buffer, p: number, hi: number, lo: number): number {
  if (hi < 0x80000000) return u64(o, p, hi, lo);
  // Negative: write the magnitude, 2^64 - x.
  o[p++] = 0x2d; // -
  const mlo = (~lo + 1) >>> 0;
  const mhi = (~hi + (mlo === 0 ? 1 : 0)) >>> 0;
  return u64(o, p, mhi, mlo);
}

/** A u64 or i64 from its halves: a string in JSON (Databento's u64/i64 form), bare in CSV. */
export function int64(o: Buffer, p: number, hi: number, lo: number, signed: boolean, json: boolean): number {
  if (json) o[p++] = 0x22;
  p = signed ? i64(o, p, hi, lo) : u64(o, p, hi, lo);
  if (json) o[p++] = 0x22;
  return p;
}

/** Each byte as CSV writes it (the character, UTF-8) and as JSON does (a quoted, escaped string). */
export const CSV_CHAR = Array.from({ length: 256 }, (_, c) => bytesOf(String.fromCharCode(c)));
export const JSON_CHAR = Array.from({ length: 256 }, (_, c) => bytesOf(JSON.stringify(String.fromCharCode(c))));
