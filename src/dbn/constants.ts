// src/dbn/: DBN decoding: metadata, record framing, MBO records, zstd, and the DBN writers.
/** DBN wire constants, as in Databento's DBN specification. */

export const DBN_MAGIC = [0x44, 0x42, 0x4e] as const; // "DBN"
export const MAX_DBN_VERSION = 3;
/** Prelude: "DBN", version byte, u32 metadata length. */
export const PRELUDE_LENGTH = 8;
/** The fixed part of the metadata, after the prelude, for every version. */
export const FIXED_METADATA_LENGTH = 100;
export const RECORD_HEADER_LENGTH = 16;
export const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;

export const RType = {
  MBP_0: 0x00,
  MBP_1: 0x01,
  MBP_10: 0x0a,
  MBO: 0xa0,
} as const;

export const MBO_RECORD_LENGTH = 56;
/** An MBP record: 48 bytes of header and trigger, then 32 bytes per level (MBP-1: 80, MBP-10: 368). */
export const mbpRecordLength = (levels: 1 | 10): number => 48 + 32 * levels;

export const Flag = {
  LAST: 128,
  TOB: 64,
  SNAPSHOT: 32,
  MBP: 16,
  BAD_TS_RECV: 8,
  MAYBE_BAD_BOOK: 4,
} as const;

/** i64::MAX: "no price". Kept as the two 32-bit halves the hot path compares. */
export const UNDEF_PRICE = 9223372036854775807n;
export const UNDEF_PRICE_HI = 0x7fffffff;
export const UNDEF_PRICE_LO = 0xffffffff;

/** Schema ids, in the order of Databento's `Schema` enum. */
export const SCHEMA_NAMES = [
  'mbo', 'mbp-1', 'mbp-10', 'tbbo', 'trades', 'ohlcv-1s', 'ohlcv-1m', 'ohlcv-1h', 'ohlcv-1d',
  'definition', 'statistics', 'status', 'imbalance', 'ohlcv-eod', 'cmbp-1', 'cbbo-1s',
  'cbbo-1m', 'tcbbo', 'bbo-1s', 'bbo-1m',
] as const;
export const SCHEMA_MBO = 0;
/** u16::MAX in the schema field means a file of mixed schemas. */
export const SCHEMA_MIXED = 0xffff;

export function schemaName(schema: number | null): string {
  if (schema === null) return 'mixed';
  return SCHEMA_NAMES[schema] ?? `unknown(${schema})`;
}
