import { Router } from 'express';
import { z } from 'zod';
import type { BboBucket, SnapshotStore } from '../../store/port.js';
import { instant, number } from '../../stream/requests.js';
import type { Guards } from '../auth.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { Problem } from '../problem.js';
import { NanosSchema } from '../schemas.js';

/**
 * A symbol's best bid, best ask and trades downsampled into buckets: what
 * the book page charts. Buckets start at UTC midnight, so their size must
 * divide a day (then QuestDB's SAMPLE BY ALIGN TO CALENDAR and DuckDB's
 * arithmetic on ns put every row in the same bucket).
 */

const TAG = 'series';
export const MAX_BUCKETS = 10_000;
const DAY_MS = 86_400_000;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS } as const;

/** "500ms", "1s", "5m", "1h", "1d" -> ns: whole milliseconds that divide a day. */
const every = z.string().transform((s, ctx) => {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(s.trim());
  const ms = m === null ? NaN : Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (!(ms >= 1 && DAY_MS % ms === 0)) {
    ctx.addIssue({ code: 'custom', message: 'must be a bucket size that divides a day, with a unit: 100ms, 1s, 15s, 5m, 1h, 1d' });
    return z.NEVER;
  }
  return BigInt(ms) * 1_000_000n;
});

export const BboQuery = z.object({
  from: instant.optional().describe('first instant, inclusive: ISO-8601 with a zone or integer ns'),
  to: instant.optional().describe('last instant, inclusive; not before from'),
  every: every.optional().describe('bucket size that divides a day: 100ms, 1s, 15s, 5m, 1h, 1d (default 1s); buckets start at UTC midnight'),
  publisher_id: number('an integer from 0 to 65535').int().min(0).max(65535).optional(),
}).strict().refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'must not be before from', path: ['to'] });

const SymbolPath = z.object({ symbol: z.string().describe('a raw symbol, e.g. CLX5') });

const PriceSpanSchema = z.object({ first: z.number(), last: z.number(), min: z.number(), max: z.number() })
  .describe('first and last in row-key order, least and greatest');

const BucketSchema = z.object({
  ts: NanosSchema.describe('the bucket\'s start, ns since the epoch (u64 as a decimal string)'),
  snapshots: z.number().int(),
  bid: PriceSpanSchema.nullable().describe('best bid over the bucket\'s snapshots that have one; null when none has'),
  ask: PriceSpanSchema.nullable().describe('best ask, likewise'),
  trades: z.object({ count: z.number().int(), volume: z.number().int(), price: PriceSpanSchema.nullable() }).nullable()
    .describe('the bucket\'s trades: count, summed size, price span; null when none'),
});

const BboSchema = z.object({
  symbol: z.string(),
  publisher_id: z.number().int().nullable(),
  every: z.string(),
  every_ns: NanosSchema,
  from: NanosSchema.nullable(),
  to: NanosSchema.nullable(),
  buckets: z.array(BucketSchema).describe('in time order; buckets with no snapshot and no trade are left out'),
});

const bucketJson = (b: BboBucket): z.infer<typeof BucketSchema> =>
  ({ ts: b.ts.toString(), snapshots: b.snapshots, bid: b.bid, ask: b.ask, trades: b.trades });

export function bboRoutes(deps: { store: SnapshotStore; guards: Guards }): RouteGroup {
  const { store, guards } = deps;
  const router = Router();

  router.get('/v1/books/:symbol/bbo', guards.read, async (req, res) => {
    const q = BboQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    const everyNs = q.every ?? 1_000_000_000n;
    const buckets = await store.bbo({ symbol, everyNs, from: q.from, to: q.to, publisherId: q.publisher_id, limit: MAX_BUCKETS + 1 });
    if (buckets.length > MAX_BUCKETS) {
      throw new Problem('invalid', 'TOO_MANY_BUCKETS', `more than ${MAX_BUCKETS} buckets: ask for a larger every or a narrower from/to`, 'every');
    }
    if (buckets.length === 0 && !(await store.listInstruments()).some((i) => i.symbol === symbol)) {
      throw new Problem('not-found', 'UNKNOWN_SYMBOL', `no instrument named ${symbol}; see GET /v1/instruments`, 'symbol');
    }
    const body: z.infer<typeof BboSchema> = {
      symbol, publisher_id: q.publisher_id ?? null, every: typeof req.query.every === 'string' ? req.query.every.trim() : '1s', every_ns: everyNs.toString(),
      from: q.from?.toString() ?? null, to: q.to?.toString() ?? null, buckets: buckets.map(bucketJson),
    };
    res.json(body);
  });

  return {
    tag: { name: TAG, description: 'A symbol\'s top of book and trades downsampled over time, for charts' },
    router,
    paths: {
      '/v1/books/{symbol}/bbo': {
        get: operation(TAG, {
          summary: 'Best bid, best ask and trades downsampled into buckets (what the book page charts)',
          description: `At most ${MAX_BUCKETS} buckets: a wider range needs a larger \`every\`. Prices are numbers (the stored doubles).`,
          access: 'read',
          path: SymbolPath,
          query: BboQuery,
          responses: { 200: { description: 'The series', content: { 'application/json': BboSchema } } },
          problems: [
            problem('not-found', 'Unknown symbol (UNKNOWN_SYMBOL)'),
            problem('invalid', `A parameter is invalid, or the range holds more than ${MAX_BUCKETS} buckets (TOO_MANY_BUCKETS)`),
            problem('unavailable'),
          ],
        }),
      },
    },
  };
}
