/**
 * Text written as bytes straight into the chunks that go to a socket or a
 * file, for the outputs that write one line per snapshot (replay and export
 * frames, MBP json and csv). Built as strings, each line was a rope of ~100
 * pieces, flattened, then encoded, then collected; here digits go straight
 * into the chunk.
 */
export class ByteChunks {
  protected chunk: Buffer;
  protected pos = 0;

  constructor(protected readonly chunkBytes = 64 * 1024) {
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

  /** Makes room for `bytes` more: a larger chunk (copying what is written) when this one is short. */
  protected reserve(bytes: number): void {
    if (this.pos + bytes <= this.chunk.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.chunkBytes, 2 * (this.pos + bytes)));
    this.chunk.copy(grown, 0, 0, this.pos);
    this.chunk = grown;
  }
}

export const bytesOf = (text: string) => Buffer.from(text, 'utf8');

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
  let n = 0;
  while (x >= 100) {
    const q = (x / 100) >>> 0;
    const r = 2 * (x - q * 100);
    digits[n++] = PAIRS[r + 1];
    digits[n++] = PAIRS[r];
    x = q;
  }
  if (x >= 10) {
    digits[n++] = PAIRS[2 * x + 1];
    digits[n++] = PAIRS[2 * x];
  } else digits[n++] = 0x30 + x;
  while (n > 0) o[p++] = digits[--n];
  return p;
}

/** Nine digits, zero-padded (x < 1e9): the low part of a large integer, or a price's fraction. */
export function nineDigits(o: Buffer, p: number, x: number): number {
  for (let k = 8; k >= 0; k--) {
    const q = (x / 10) | 0;
    o[p + k] = 0x30 + (x - q * 10);
    x = q;
  }
  return p + 9;
}
