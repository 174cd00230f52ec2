import type { RowKey, StoredSnapshot } from '../port.js';
import { mbpRecordLength } from '../../dbn/constants.js';
import { writeMbpSnapshot, type MbpLevels } from '../../encode/mbp.js';
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

/** A [3][n] level array (prices, sizes, counts) into `out` as the port's flat [price nanos, size, count, ...]. */
function levelsInto(row: DataRow, field: number, out: number[]): void {
  const dims = row.float64Array(field, scratch);
  const n = dims === null || dims.length !== 2 || dims[0] < 3 ? 0 : dims[1];
  out.length = n * 3;
  for (let k = 0; k < n; k++) {
    out[3 * k] = toNanos(scratch[k]);
    out[3 * k + 1] = scratch[n + k];
    out[3 * k + 2] = scratch[2 * n + k];
  }
}

/** One row of SNAPSHOT_SELECT, read off the wire into `s` (its level arrays reused). */
function readSnapshot(r: DataRow, s: StoredSnapshot): StoredSnapshot {
  s.symbol = r.isNull(6) ? null : r.text(6);
  s.instrumentId = r.int64Number(2);
  s.publisherId = r.int32(3);
  s.tsRecv = r.int64(0);
  s.tsEvent = r.int64(1);
  s.sequence = r.int64Number(4);
  s.subSequence = r.int32(5);
  s.action = r.text(7);
  s.side = r.text(8);
  s.price = r.isNull(9) ? null : nanosOrNull(r.float64(9));
  s.size = r.int64Number(10);
  s.flags = r.int32(11);
  s.tsInDelta = r.int32(12);
  s.depth = r.int32(13);
  levelsInto(r, 16, s.bids);
  levelsInto(r, 17, s.asks);
  s.crossed = r.bool(14);
  s.locked = r.bool(15);
  return s;
}

const emptySnapshot = (): StoredSnapshot => ({
  symbol: null, instrumentId: 0, publisherId: 0, tsRecv: 0n, tsEvent: 0n, sequence: 0, subSequence: 0, action: '', side: '',
  price: null, size: 0, flags: 0, tsInDelta: 0, depth: 0, bids: [], asks: [], crossed: false, locked: false,
});

/** One row of SNAPSHOT_SELECT, read off the wire, as the port's StoredSnapshot. */
export const snapshotOfRow = (r: DataRow): StoredSnapshot => readSnapshot(r, emptySnapshot());

/** A row of SNAPSHOT_SELECT's key, read without the rest of it. */
export const keyOfRow = (r: DataRow): RowKey => ({ tsRecv: r.int64(0), instrumentId: r.int64Number(2), publisherId: r.int32(3), sequence: r.int64Number(4), subSequence: r.int32(5) });

/** A row's key, and where its MBP record was written. */
export interface MbpRow extends RowKey {
  block: Buffer;
  offset: number;
}

/** Records written to a block before the next is allocated. */
const BLOCK_RECORDS = 256;

/**
 * Rows of SNAPSHOT_SELECT as MBP records, written as they come off the wire
 * into shared blocks: what a DBN replay sends, with no snapshot object kept
 * per row (one scratch snapshot, its level arrays reused). The bytes are
 * writeMbpSnapshot's of snapshotOfRow's row.
 */
export function mbpRowReader(levels: MbpLevels): (r: DataRow) => MbpRow {
  const length = mbpRecordLength(levels);
  const s = emptySnapshot();
  let block = Buffer.alloc(0);
  let view = new DataView(block.buffer);
  let used = 0;
  return (r) => {
    if (used + length > block.length) {
      block = Buffer.allocUnsafe(BLOCK_RECORDS * length);
      view = new DataView(block.buffer, block.byteOffset, block.byteLength);
      used = 0;
    }
    readSnapshot(r, s);
    writeMbpSnapshot(view, used, s, levels);
    const row = { tsRecv: s.tsRecv, instrumentId: s.instrumentId, publisherId: s.publisherId, sequence: s.sequence, subSequence: s.subSequence, block, offset: used };
    used += length;
    return row;
  };
}

const nanosOrNull = (px: number): number | null => (Number.isNaN(px) ? null : toNanos(px));

/** An SQL string literal. */
export const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
