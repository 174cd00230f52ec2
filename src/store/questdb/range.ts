import { breather } from '../../flow.js';
import { compareKeys, type RangeQuery, type RowKey } from '../port.js';
import type { Statement } from './statement.js';

/** Rows handed on at a time, with a turn of the event loop between. */
export const BATCH_ROWS = 256;

/** Where a page starts: at or after an instant, or at the range's beginning. */
export type PageStart = { ts: bigint; inclusive: boolean } | null;

/** A page's statement: q's rows from `start` in timestamp order, at most `limit` of them (null: all). */
export type PageSql = (q: RangeQuery, start: PageStart, limit: number | null) => Statement;

/**
 * A range's rows in key order, in batches of at most BATCH_ROWS, read page
 * by page as `read` turns a statement's rows into the caller's rows (row
 * objects, or records encoded straight off the wire).
 *
 * A page is the next `pageSize` rows in timestamp order; the rows of its
 * last instant may continue past it, so they are left for the next page
 * (which starts at that instant), unless the whole page is one instant:
 * then that instant is read whole. Rows within a page are sorted by key
 * (the server orders by timestamp only). The next page is requested before
 * this one is handed on.
 */
export async function* keyOrderedRange<R extends RowKey>(
  q: RangeQuery,
  pageSql: PageSql,
  read: (stmt: Statement) => Promise<R[]>,
  signal?: AbortSignal,
): AsyncGenerator<R[]> {
  const pageSize = Math.max(2, q.pageSize ?? 2000);
  let remaining = q.limit ?? Infinity;
  const after: RowKey | undefined = q.after;
  type Page = { rows: R[]; next: PageStart };
  const start: PageStart =
    after !== undefined && (q.from === undefined || after.tsRecv >= q.from) ? { ts: after.tsRecv, inclusive: true }
      : q.from !== undefined ? { ts: q.from, inclusive: true } : null;
  const fetchPage = async (from: PageStart): Promise<Page> => {
    const rows = await read(pageSql(q, from, pageSize));
    if (rows.length < pageSize) return { rows: inKeyOrder(rows), next: null };
    const last = rows[rows.length - 1].tsRecv;
    if (rows[0].tsRecv === last) {
      const whole = await read(pageSql({ ...q, to: last }, { ts: last, inclusive: true }, null));
      return { rows: inKeyOrder(whole), next: { ts: last, inclusive: false } };
    }
    return { rows: inKeyOrder(rows.filter((r) => r.tsRecv !== last)), next: { ts: last, inclusive: true } };
  };
  let pending: Promise<Page> | null = fetchPage(start);
  try {
    while (pending !== null && remaining > 0 && !signal?.aborted) {
      const page: Page = await pending;
      pending = page.next === null ? null : fetchPage(page.next);
      pending?.catch(() => undefined); // observed when awaited
      let batch: R[] = [];
      for (const r of page.rows) {
        if (after !== undefined && compareKeys(r, after) <= 0) continue;
        if (remaining <= 0) break;
        remaining--;
        batch.push(r);
        if (batch.length < BATCH_ROWS) continue;
        yield batch;
        batch = [];
        // A page is in memory: without a turn of the event loop here, each
        // stream would take a whole page (its framing too) before a lookup
        // or another stream got a turn.
        await breather();
        if (signal?.aborted) return;
      }
      if (signal?.aborted) return;
      if (batch.length > 0) yield batch;
    }
  } finally {
    await pending?.catch(() => undefined);
  }
}

/** Rows in timestamp order, sorted by key: most pages are in key order already (ties at one ns are rare), and are left as they are. */
function inKeyOrder<R extends RowKey>(rows: R[]): R[] {
  for (let i = 1; i < rows.length; i++) if (compareKeys(rows[i - 1], rows[i]) > 0) return rows.sort(compareKeys);
  return rows;
}
