import { z } from 'zod';
import { parseInstant } from '../time.js';
import type { RowKey } from '../store/port.js';

/*
 * What a replay or an export asks for, as the HTTP query string and the TCP
 * request line give it: validated once here for both transports.
 */

/** ISO-8601 with a zone, or integer ns since the epoch. */
export const instant = z.string().transform((s, ctx) => {
  const ns = parseInstant(s);
  if (ns === null) {
    ctx.addIssue({ code: 'custom', message: 'must be an instant from 1970 to 2554 as ISO-8601 with a zone (2025-09-24T20:00:00Z) or integer nanoseconds since the epoch' });
    return z.NEVER;
  }
  return ns;
});

/** A query-string number; the message says what to send instead of "received NaN". */
export const number = (what: string) => z.coerce.number({ error: `must be ${what}` });
/** Levels per side, 1 to `max`. */
const levels = (max: number) => number(`an integer from 1 to ${max}`).int(`must be an integer from 1 to ${max}`).min(1).max(max);
export const depth = (max: number, fallback: number) => levels(max).default(fallback);

/**
 * A range whose end is before its start can only be a mistake (swapped
 * bounds, a wrong zone): say so rather than answer with nothing.
 */
const ordered = { message: 'must not be before from', path: ['to'] };
const inOrder = (q: { from?: bigint; to?: bigint }) => q.from === undefined || q.to === undefined || q.from <= q.to;
const symbols = z
  .string()
  .max(4096)
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .refine((xs) => xs.every((x) => /^[A-Za-z0-9._:\- ]{1,64}$/.test(x)), 'symbols are comma-separated raw symbols');

const U32 = 0xffffffff;
/**
 * A row's key, as the row shows it: "ts_recv,instrument_id,publisher_id,
 * sequence,sub_sequence". Given as `after`, reads continue past that row.
 */
export const rowKey = z.string().transform((s, ctx) => {
  const m = /^(\d{1,20}),(\d{1,10}),(\d{1,5}),(\d{1,10}),(\d{1,5})$/.exec(s);
  const key = m && { tsRecv: BigInt(m[1]), instrumentId: Number(m[2]), publisherId: Number(m[3]), sequence: Number(m[4]), subSequence: Number(m[5]) };
  if (key === null || key.tsRecv >= 2n ** 64n || key.instrumentId > U32 || key.publisherId > 0xffff || key.sequence > U32 || key.subSequence > 0xffff) {
    ctx.addIssue({ code: 'custom', message: 'must be the key of a row: ts_recv,instrument_id,publisher_id,sequence,sub_sequence (the last row of a page, to read the next)' });
    return z.NEVER;
  }
  return key;
});

/** A row key as `after` takes it. */
export const rowKeyText = (k: RowKey): string => `${k.tsRecv},${k.instrumentId},${k.publisherId},${k.sequence},${k.subSequence}`;

/** DBN has MBP-1 and MBP-10 records only. */
const dbnDepth = {
  message: 'format=dbn writes MBP-1 or MBP-10 records: depth must be 1 or 10',
  path: ['depth'],
};
const dbnHasDepth = (q: { format: string; depth?: number }) => q.format !== 'dbn' || q.depth === undefined || q.depth === 1 || q.depth === 10;

/** One publisher's books, where a symbol is stored from several. */
export const publisherId = number('an integer from 0 to 65535').int('must be an integer from 0 to 65535').min(0).max(65535).optional();

/** GET /v1/books/{symbol}/snapshots: an export of a range. */
export const SnapshotsQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  limit: number('an integer from 1 to 1000000').int().min(1).max(1_000_000).default(10_000),
  after: rowKey.optional(),
  depth: depth(50, 10),
  publisher_id: publisherId,
  format: z.enum(['json', 'ndjson', 'csv', 'dbn']).default('ndjson'),
}).strict().refine(inOrder, ordered).refine(dbnHasDepth, dbnDepth);

/**
 * A pace: 0 (unpaced) or from MIN_PACE up. Below it a frame would be due
 * hours or years after the one before; a replay that slow holds its stream
 * slot and its rows for nothing.
 */
export const MIN_PACE = 0.001;
const pace = (what: string, max: number) => number(`${what}: 0 (as fast as possible) or ${MIN_PACE} to ${max}`)
  .refine((x) => x === 0 || (x >= MIN_PACE && x <= max), `must be 0 (as fast as possible) or from ${MIN_PACE} to ${max}`)
  .default(0);

/** GET /v1/replay's query, and the TCP replay's request line. */
export const ReplayQuery = z.object({
  schema: z.enum(['mbp', 'mbo']).default('mbp').describe('mbp: the stored snapshots (MBP-N); mbo: the stored MBO records themselves'),
  symbols: symbols.optional().default([]),
  from: instant.optional(),
  to: instant.optional(),
  after: rowKey.optional(),
  depth: levels(50).optional().describe('levels per side of snapshots (default 10); not with schema=mbo'),
  publisher_id: publisherId,
  rate: pace('messages per second', 10_000_000),
  speed: pace('a multiple of recorded time', 1_000_000),
  format: z.enum(['ndjson', 'dbn']).default('ndjson'),
}).strict()
  .refine((q) => !(q.rate > 0 && q.speed > 0), { message: 'give rate or speed, not both', path: ['rate'] })
  .refine(inOrder, ordered)
  .refine(dbnHasDepth, dbnDepth)
  .refine((q) => !(q.schema === 'mbo' && q.depth !== undefined), { message: 'depth is for snapshots (schema=mbp): schema=mbo sends every stored MBO record', path: ['depth'] });

/** A snapshot replay's depth when the request gives none. */
export const REPLAY_DEPTH = 10;
export type ExportRequest = z.infer<typeof SnapshotsQuery>;
