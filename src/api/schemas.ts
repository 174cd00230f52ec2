import { z } from 'zod';

/**
 * Response shapes that more than one route answers with, written once. What
 * a client sends is described by the zod schemas the routes validate with.
 */

const decimal = z.string().describe('an exact decimal string with nine places, e.g. "65.400000000"');
const ns = z.string().regex(/^\d+$/).describe('nanoseconds since the epoch, as a decimal string (u64)');

export const LevelSchema = z.object({ price: decimal, size: z.number().int(), count: z.number().int() });

/** One snapshot line of an export or a replay (bids/asks as [price, size, count], best first). */
export const SnapshotFrameSchema = z.object({
  type: z.literal('snapshot'),
  symbol: z.string().nullable(),
  instrument_id: z.number().int(),
  publisher_id: z.number().int(),
  ts_recv: ns,
  ts_event: ns,
  sequence: z.number().int(),
  sub_sequence: z.number().int(),
  action: z.string(),
  side: z.string(),
  price: decimal.nullable(),
  size: z.number().int(),
  flags: z.number().int(),
  crossed: z.boolean(),
  locked: z.boolean(),
  bids: z.array(z.tuple([decimal, z.number().int(), z.number().int()])),
  asks: z.array(z.tuple([decimal, z.number().int(), z.number().int()])),
});

export { ns as NanosSchema };
