import type { StoredSnapshot } from '../port.js';
import { toNanos } from '../columns.js';
import { COL } from './schema.js';

/** The snapshot columns every read selects, in this order (rowOf reads them by position). */
export const SNAPSHOT_SELECT = [
  COL.tsRecv, COL.tsEvent, COL.instrumentId, COL.publisherId, COL.sequence, COL.subSequence, COL.symbol, COL.action, COL.side,
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

/** ns as a TIMESTAMP_NS literal QuestDB compares exactly (and uses as an interval on the designated timestamp). */
export function nsLiteral(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `'${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${frac}Z'`;
}

/** A [3][n] level array (prices, sizes, counts) back to the port's flat [price nanos, size, count, ...]. */
function levelsOf(a: unknown): number[] {
  const rows = a as number[][] | null;
  if (!rows || rows.length < 3) return [];
  const [px, sz, ct] = rows;
  const out = new Array<number>(px.length * 3);
  for (let k = 0; k < px.length; k++) {
    out[3 * k] = toNanos(px[k]);
    out[3 * k + 1] = sz[k];
    out[3 * k + 2] = ct[k];
  }
  return out;
}

/** One /exec row of SNAPSHOT_SELECT as the port's StoredSnapshot. */
export function snapshotOf(r: unknown[]): StoredSnapshot {
  return {
    symbol: (r[6] as string | null) ?? null,
    instrumentId: r[2] as number,
    publisherId: r[3] as number,
    tsRecv: nsOf(r[0] as string),
    tsEvent: nsOf(r[1] as string),
    sequence: r[4] as number,
    subSequence: r[5] as number,
    action: r[7] as string,
    side: r[8] as string,
    price: r[9] === null || Number.isNaN(r[9]) ? null : toNanos(r[9] as number),
    size: r[10] as number,
    flags: r[11] as number,
    tsInDelta: r[12] as number,
    depth: r[13] as number,
    bids: levelsOf(r[16]),
    asks: levelsOf(r[17]),
    crossed: Boolean(r[14]),
    locked: Boolean(r[15]),
  };
}

/** An SQL string literal. */
export const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
