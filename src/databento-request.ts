import { z } from 'zod';
import { BooktapeError } from './errors.js';
import { formatInstant, parseInstant } from './time.js';

/**
 * A request for Databento's historical `timeseries.get_range`: what a
 * Databento source is, wherever one is named (the CLI, POST /v1/ingest, the
 * schedule). It has one text form, `databentoSource()`, which a job carries
 * as its source and ingest_runs records: the same request always reads the
 * same, so it is queued once and its day is known to be ingested. The API key
 * is never part of it.
 *
 * A bottom-layer module: config.ts validates the schedule's settings with it.
 */

/** The symbology types booktape sends as `stype_in` (Databento's names). */
export const STYPES_IN = ['raw_symbol', 'parent', 'continuous', 'instrument_id'] as const;
export type StypeIn = (typeof STYPES_IN)[number];

/** Databento takes up to 2,000 symbols per request. */
export const MAX_SYMBOLS = 2000;

export interface DatabentoRequest {
  dataset: string;
  /** Books are rebuilt from MBO: the one schema booktape asks for. */
  schema: 'mbo';
  stype_in: StypeIn;
  /** Sorted, without repeats: the order of symbols does not change the data. */
  symbols: string[];
  /** Inclusive start and exclusive end (on ts_recv), ISO-8601 UTC. */
  start: string;
  end: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const NS_PER_DAY = 86_400_000_000_000n;

/** An instant as a user may write it: a UTC date (its midnight), ISO-8601 with a zone, or integer ns. */
export function parseRequestTime(text: string): bigint | null {
  const t = text.trim();
  return parseInstant(DAY.test(t) ? `${t}T00:00:00Z` : t);
}

/** ISO-8601 UTC, without a fraction when there is none: `2024-06-03T00:00:00Z`. */
function canonicalTime(ns: bigint): string {
  return formatInstant(ns).replace(/\.000000000Z$/, 'Z');
}

const time = (name: string) =>
  z.string().max(40).describe(`${name}: a UTC date (2024-06-03, its midnight), ISO-8601 with a zone, or integer ns since the epoch`);

/** The request as a user gives it (the API's `databento` object; the CLI's options). */
export const DatabentoRequestInput = z.object({
  dataset: z.string().regex(/^[A-Za-z0-9]+(\.[A-Za-z0-9]+)+$/, 'a dataset code such as GLBX.MDP3').max(15).describe('Databento dataset code, e.g. GLBX.MDP3'),
  symbols: z.array(z.string().min(1).max(70).regex(/^[^,]+$/, 'one symbol, no commas')).min(1).max(MAX_SYMBOLS).describe('symbols in the stype_in symbology'),
  stype_in: z.enum(STYPES_IN).default('raw_symbol').describe('symbology of `symbols` (Databento\'s stype_in); default raw_symbol'),
  schema: z.literal('mbo').default('mbo').describe('always mbo: books are rebuilt from market-by-order data'),
  start: time('inclusive start'),
  end: time('exclusive end'),
}).strict().superRefine((r, ctx) => {
  const start = parseRequestTime(r.start);
  const end = parseRequestTime(r.end);
  if (start === null) ctx.addIssue({ code: 'custom', path: ['start'], message: `"${r.start}" is not a UTC date, an instant with a zone, or ns` });
  if (end === null) ctx.addIssue({ code: 'custom', path: ['end'], message: `"${r.end}" is not a UTC date, an instant with a zone, or ns` });
  if (start !== null && end !== null && end <= start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must be after start (the range is [start, end))' });
});

/** A request that names no valid Databento request; `field` is the offending one. */
export class DatabentoRequestError extends BooktapeError {
  constructor(message: string, readonly field: string | undefined) {
    super('BAD_DATABENTO_REQUEST', 'invalid', message);
  }
}

/** Checks and normalizes a request: times in canonical form, symbols sorted and unique. */
export function databentoRequest(input: unknown): DatabentoRequest {
  const parsed = DatabentoRequestInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.') || undefined;
    throw new DatabentoRequestError(`Databento request: ${field ? `${field}: ` : ''}${issue.message}`, field);
  }
  const r = parsed.data;
  return {
    dataset: r.dataset.toUpperCase(),
    schema: 'mbo',
    stype_in: r.stype_in,
    symbols: [...new Set(r.symbols)].sort(),
    start: canonicalTime(parseRequestTime(r.start)!),
    end: canonicalTime(parseRequestTime(r.end)!),
  };
}

const SCHEME = 'databento:';

export const isDatabentoSource = (source: string): boolean => source.toLowerCase().startsWith(SCHEME);

/**
 * The request's one text form, e.g.
 * `databento:GLBX.MDP3/mbo?stype_in=parent&symbols=ES.FUT&start=2024-06-03T00:00:00Z&end=2024-06-04T00:00:00Z`.
 */
export function databentoSource(r: DatabentoRequest): string {
  // Escaped as a query, but for the characters the form itself uses, so that it reads as written.
  const enc = (s: string) => encodeURIComponent(s).replace(/%3A/gi, ':');
  return `${SCHEME}${r.dataset}/${r.schema}?stype_in=${r.stype_in}&symbols=${r.symbols.map(enc).join(',')}&start=${enc(r.start)}&end=${enc(r.end)}`;
}

/** The request a `databento:` source names, normalized; a DatabentoRequestError when it names none. */
export function parseDatabentoSource(source: string): DatabentoRequest {
  const m = /^databento:([^/?]+)(?:\/([^?]*))?\?(.*)$/i.exec(source.trim());
  if (m === null) {
    throw new DatabentoRequestError(`${source} is not a Databento source: databento:DATASET/mbo?stype_in=...&symbols=A,B&start=...&end=...`, 'source');
  }
  const q = new URLSearchParams(m[3]);
  return databentoRequest({
    dataset: m[1],
    schema: m[2] || 'mbo',
    stype_in: q.get('stype_in') ?? undefined,
    symbols: (q.get('symbols') ?? '').split(',').filter((s) => s !== ''),
    start: q.get('start') ?? '',
    end: q.get('end') ?? '',
  });
}

/** `YYYY-MM-DD` of the UTC day holding `ns`. */
export function utcDayOf(ns: bigint): string {
  return formatInstant(ns - (ns % NS_PER_DAY)).slice(0, 10);
}

/** The UTC days from `first` to `last`, both included, as `YYYY-MM-DD`; empty when last is before first. */
export function utcDays(first: string, last: string): string[] {
  const a = parseRequestTime(first);
  const b = parseRequestTime(last);
  if (a === null || b === null || !DAY.test(first.trim()) || !DAY.test(last.trim())) throw new RangeError(`not UTC dates (YYYY-MM-DD): ${first}, ${last}`);
  const days: string[] = [];
  for (let t = a; t <= b; t += NS_PER_DAY) days.push(utcDayOf(t));
  return days;
}

/** The request for one whole UTC day ([its midnight, the next)) of `base`'s dataset and symbols. */
export function dayRequest(base: Pick<DatabentoRequest, 'dataset' | 'symbols' | 'stype_in'>, day: string): DatabentoRequest {
  const start = parseRequestTime(day);
  if (start === null || !DAY.test(day)) throw new RangeError(`not a UTC date (YYYY-MM-DD): ${day}`);
  return databentoRequest({ ...base, start: day, end: utcDayOf(start + NS_PER_DAY) });
}
