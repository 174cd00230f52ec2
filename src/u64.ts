/** u64 values as JS holds them: two u32 halves, a double below 2^53, or a bigint. */

/** 2^32: joins and splits the two u32 halves of a u64 held as a double. */
export const TWO_32 = 2 ** 32;

const U64_HALVES = new DataView(new ArrayBuffer(8));

/**
 * The u64 whose 32-bit halves are `hi` and `lo` (unsigned, or signed bit
 * patterns) as a bigint. Through a DataView it is one bigint allocation;
 * `(BigInt(hi) << 32n) | BigInt(lo)` makes four.
 */
export function u64Of(hi: number, lo: number): bigint {
  U64_HALVES.setUint32(0, lo, true);
  U64_HALVES.setUint32(4, hi, true);
  return U64_HALVES.getBigUint64(0, true);
}
