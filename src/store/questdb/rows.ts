import type { StoredSnapshot } from '../port.js';
import { toNanos } from '../columns.js';
import type { DataRow } from './pg-wire.js';
import { COL } from './schema.js';

/**
 * The snapshot columns every row read selects, in this order (snapshotOfRow
 * reads them by position). Timestamps are cast to their ns as LONG: the
 * PostgreSQL wire's timestamp is µs, and the key needs every ns.
 */
export const SNAPSHOT_SELECT = [
  `cast(${COL.tsRecv} as long)`, `cast(${COL.tsEvent} as long)`, COL.instrumentId, COL.publisherId, COL.sequence, COL.subSequence, COL.symbol, COL.action, COL.side,
  COL.price, COL.size, COL.flags, COL.tsInDelta, COL.depth, COL.crossed, COL.locked, COL.bids, COL.asks,
].join(', ');

/**
 * A TIMESTAMP_NS as /exec writes it ("2025-09-24T19:30:00.001385399Z") in
 * ns. Parsed rather than cast to LONG: JSON numbers above 2^53 lose digits.
 */
export function nsOf(text: string): bigint {
  const dot = text.indexOf('.', 19);
  const prefix = text.slice(0, 19);
  // Rows of a page share their second mostly: parse it once for them.
  if (prefix !== lastSecond) {
    lastSecond = prefix;
    lastSecondNs = BigInt(Date.parse(`${prefix}Z`) / 1000) * 1_000_000_000n;
  }
  if (dot < 0) return lastSecondNs;
  const digits = text.slice(dot + 1, text.length - 1);
  return lastSecondNs + BigInt(digits.length === 9 ? digits : digits.padEnd(9, '0').slice(0, 9));
}
let lastSecond = '';
let lastSecondNs = 0n;

/** ns as the TIMESTAMP_NS text QuestDB compares exactly ("2025-09-24T19:30:00.001385399Z"). */
export function nsText(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

/** ns as a TIMESTAMP_NS literal QuestDB compares exactly (and uses as an interval on the designated timestamp). */
export const nsLiteral = (ns: bigint): string => `'${nsText(ns)}'`;

/** Room for one side's level array: 3 rows of up to 50 levels (BOOKTAPE_DEPTH's largest). */
const scratch = new Float64Array(3 * 64);

/** A [3][n] level array (prices, sizes, counts) as the port's flat [price nanos, size, count, ...]. */
function levelsOf(row: DataRow, field: number): number[] {
  const dims = row.float64Array(field, scratch);
  if (dims === null || dims.length !== 2 || dims[0] < 3) return [];
  const n = dims[1];
  const out = new Array<number>(n * 3);
  for (let k = 0; k < n; k++) {
    out[3 * k] = toNanos(scratch[k]);
    out[3 * k + 1] = scratch[n + k];
    out[3 * k + 2] = scratch[2 * n + k];
  }
  return out;
}

/** One row of SNAPSHOT_SELECT, read off the wire, as the port's StoredSnapshot. */
export function snapshotOfRow(r: DataRow): StoredSnapshot {
  return {
    symbol: r.isNull(6) ? null : r.text(6),
    instrumentId: r.int64Number(2),
    publisherId: r.int32(3),
    tsRecv: r.int64(0),
    tsEvent: r.int64(1),
    sequence: r.int64Number(4),
    subSequence: r.int32(5),
    action: r.text(7),
    side: r.text(8),
    price: r.isNull(9) ? null : nanosOrNull(r.float64(9)),
    size: r.int64Number(10),
    flags: r.int32(11),
    tsInDelta: r.int32(12),
    depth: r.int32(13),
    bids: levelsOf(r, 16),
    asks: levelsOf(r, 17),
    crossed: r.bool(14),
    locked: r.bool(15),
  };
}

const nanosOrNull = (px: number): number | null => (Number.isNaN(px) ? null : toNanos(px));

/** An SQL string literal. */
export const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
