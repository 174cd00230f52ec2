/**
 * Byte offsets of the DBN record fields booktape reads and writes, in one
 * place: the decoder's MboView, the engine's hot paths and the encoders name
 * them rather than repeat the numbers. `const enum`: tsc writes the numbers
 * in at each use, so a named offset costs nothing on the hot path.
 */

/** Every record's 16-byte header. u64 fields also name their high 32-bit word (`...Hi`). */
export const enum HeaderOffset {
  /** u8, in 4-byte words. */
  length = 0,
  rtype = 1,
  publisherId = 2,
  instrumentId = 4,
  tsEvent = 8,
  tsEventHi = 12,
}

/** DBN MboMsg (56 bytes): the fields after the header. */
export const enum MboOffset {
  orderId = 16,
  orderIdHi = 20,
  price = 24,
  priceHi = 28,
  size = 32,
  flags = 36,
  channelId = 37,
  action = 38,
  side = 39,
  tsRecv = 40,
  tsRecvHi = 44,
  tsInDelta = 48,
  sequence = 52,
}
