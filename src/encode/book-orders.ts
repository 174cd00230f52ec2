import type { BookOrdersJson, LevelOrdersJson } from './book-json.js';
import { formatInstant } from '../time.js';

/** `booktape book --orders --format csv`'s columns: one row per resting order (a top-of-book level, which holds none, is one row with the order fields empty). */
export const ORDERS_CSV_HEADER = 'symbol,instrument_id,publisher_id,side,level,price,level_size,level_count,position,order_id,size,size_ahead,ts_recv';

/** A book's queues as CSV rows (no header), sides bid then ask, levels best first, orders front first. */
export function ordersCsv(book: BookOrdersJson): string {
  let out = '';
  const key = `${csvField(book.symbol ?? '')},${book.instrument_id},${book.publisher_id}`;
  for (const [side, levels] of [['B', book.bids], ['A', book.asks]] as const) {
    levels.forEach((l, k) => {
      const level = `${key},${side},${k},${l.price},${l.size},${l.count}`;
      if (l.orders.length === 0) out += `${level},,,,,\n`;
      for (const o of l.orders) out += `${level},${o.position},${o.order_id},${o.size},${o.size_ahead},${o.ts_recv}\n`;
    });
  }
  return out;
}

/** A symbol as a CSV field: quoted when it holds a comma, quote or line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A book's queues for a terminal: a line per book, then per side a line per
 * level (price, size, orders) and under it a line per order: its place,
 * id, size, the size ahead of it, and the instant it took its place (UTC).
 */
export function ordersText(book: BookOrdersJson): string {
  const head = `${book.symbol ?? '(no symbol)'}  instrument ${book.instrument_id}  publisher ${book.publisher_id}  `
    + `last record ${formatInstant(BigInt(book.ts_recv))} sequence ${book.sequence}  `
    + `${book.bid_levels} bid / ${book.ask_levels} ask levels, ${book.orders} orders${book.crossed ? ', CROSSED' : book.locked ? ', LOCKED' : ''}\n`;
  return head + sideText('bids', book.bids) + sideText('asks', book.asks);
}

function sideText(name: string, levels: LevelOrdersJson[]): string {
  if (levels.length === 0) return `  ${name}: none\n`;
  let out = `  ${name}:\n`;
  const idWidth = Math.max(8, ...levels.flatMap((l) => l.orders.map((o) => o.order_id.length)));
  for (const l of levels) {
    out += `    ${l.price}  size ${l.size}  ${l.orders.length === 0 ? 'top of book (no orders)' : `${l.count} order${l.count === 1 ? '' : 's'}`}\n`;
    for (const o of l.orders) {
      out += `      #${String(o.position).padEnd(4)} ${o.order_id.padStart(idWidth)}  size ${String(o.size).padStart(6)}  ahead ${String(o.size_ahead).padStart(7)}  since ${formatInstant(BigInt(o.ts_recv))}\n`;
    }
  }
  return out;
}
