import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { BboBucket, SnapshotStore } from '../store/port.js';
import { instant } from './params.js';
import { Problem } from './problem.js';

/**
 * GET /v1/books/{symbol}/bbo: a symbol's best bid, best ask and trades,
 * downsampled into buckets of `every` (what the book page charts). Buckets
 * are aligned to UTC midnight, so `every` must divide a day.
 */
export const MAX_BUCKETS = 10_000;
const DAY_MS = 86_400_000;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;

/** "500ms", "1s", "5m", "1h", "1d" -> ns; whole milliseconds that divide a day. */
export const every = z.string().transform((s, ctx) => {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(s.trim());
  const ms = m === null ? NaN : Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (!(ms >= 1 && DAY_MS % ms === 0)) {
    ctx.addIssue({ code: 'custom', message: 'must be a bucket size that divides a day, with a unit: 100ms, 1s, 15s, 5m, 1h, 1d' });
    return z.NEVER;
  }
  return BigInt(ms) * 1_000_000n;
});

export const BboQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  every: every.default(1_000_000_000n),
  publisher_id: z.coerce.number({ error: 'must be an integer from 0 to 65535' }).int().min(0).max(65535).optional(),
}).strict().refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'must not be before from', path: ['to'] });

/** A bucket as JSON: the start as decimal ns (u64), prices as numbers (the stored doubles). */
export const bucketJson = (b: BboBucket) => ({ ts: b.ts.toString(), snapshots: b.snapshots, bid: b.bid, ask: b.ask, trades: b.trades });

export function bboRouter(store: SnapshotStore, read: RequestHandler): Router {
  const router = Router();
  router.get('/v1/books/:symbol/bbo', read, async (req, res) => {
    const q = BboQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    const buckets = await store.bbo({ symbol, everyNs: q.every, from: q.from, to: q.to, publisherId: q.publisher_id, limit: MAX_BUCKETS + 1 });
    if (buckets.length > MAX_BUCKETS) {
      throw new Problem(400, 'TOO_MANY_BUCKETS', `more than ${MAX_BUCKETS} buckets: ask for a larger every or a narrower from/to`, 'every');
    }
    if (buckets.length === 0 && !(await store.listInstruments()).some((i) => i.symbol === symbol)) {
      throw new Problem(404, 'UNKNOWN_SYMBOL', `no instrument named ${symbol}; see GET /v1/instruments`, 'symbol');
    }
    res.json({
      symbol, publisher_id: q.publisher_id ?? null, every: String(req.query.every ?? '1s'), every_ns: q.every.toString(),
      from: q.from?.toString() ?? null, to: q.to?.toString() ?? null, buckets: buckets.map(bucketJson),
    });
  });
  return router;
}
