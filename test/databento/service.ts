import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { compress } from 'zstd-napi';
import { encodeMetadata, parseMetadata, readPrelude, type Metadata } from '../../src/dbn/index.js';
import { parseRequestTime } from '../../src/databento-request.js';

/**
 * A local stand-in for Databento's historical HTTP API, following its
 * documented contract (docs/databento.md cites each part): the paths under
 * /v0/, HTTP basic auth with the API key as user name and an empty password,
 * form-encoded parameters, JSON answers with `detail` on errors, and
 * `timeseries.get_range` answering a zstd-compressed DBN stream of the
 * records in [start, end) of the resolved symbols, cut from the project's own
 * DBN files. Tests script failures into it (statuses, Retry-After, a socket
 * destroyed mid-body) and read back what each request sent.
 */

/** Record offsets (src/dbn/layout.ts): instrument_id in the header, ts_event, and MBO ts_recv. */
const INSTRUMENT_ID = 4;
const TS_EVENT = 8;
const TS_RECV = 40;
const NS_PER_DAY = 86_400_000_000_000n;

interface ArchivedRecord {
  bytes: Buffer;
  instrumentId: number;
  tsRecv: bigint;
}

export interface Archive {
  metadata: Metadata;
  records: ArchivedRecord[];
  /** raw symbol -> instrument ids. */
  instruments: Map<string, Set<number>>;
}

/**
 * The records of a plain DBN MBO file, and copies of them moved on by whole
 * days (`shiftDays`), so that one small file stands for several sessions.
 */
export function archiveOf(path: string, shiftDays: number[] = [0]): Archive {
  const bytes = readFileSync(path);
  const prelude = readPrelude(bytes);
  const metadata = parseMetadata(bytes, prelude);
  const records: ArchivedRecord[] = [];
  for (const days of shiftDays) {
    const shift = BigInt(days) * NS_PER_DAY;
    for (let o = 8 + prelude.metadataLength; o < bytes.length; o += bytes[o] * 4) {
      const r = Buffer.from(bytes.subarray(o, o + bytes[o] * 4));
      r.writeBigUInt64LE(r.readBigUInt64LE(TS_EVENT) + shift, TS_EVENT);
      r.writeBigUInt64LE(r.readBigUInt64LE(TS_RECV) + shift, TS_RECV);
      records.push({ bytes: r, instrumentId: r.readUInt32LE(INSTRUMENT_ID), tsRecv: r.readBigUInt64LE(TS_RECV) });
    }
  }
  records.sort((a, b) => (a.tsRecv < b.tsRecv ? -1 : a.tsRecv > b.tsRecv ? 1 : 0));
  const instruments = new Map<string, Set<number>>();
  for (const m of metadata.mappings) instruments.set(m.raw_symbol, new Set(m.intervals.map((iv) => Number(iv.symbol))));
  return { metadata, records, instruments };
}

/** An answer scripted ahead of the service's own: an error status, or the real body cut off after some bytes. */
export type Scripted =
  | { status: number; body?: unknown; text?: string; headers?: Record<string, string> }
  /** The real body, the socket destroyed after some bytes; with `cutWhen`, not before it resolves (so the client has used what it got). */
  | { cutAfterBytes: number; cutWhen?: () => Promise<void> }
  /** No answer at all: the connection stays open and silent. */
  | { hang: true };

export interface ServiceRequest {
  method: string;
  path: string;
  fields: Record<string, string>;
  /** The basic-auth user name sent, if any. */
  user: string | null;
  /** When it arrived (ms since the epoch). */
  at: number;
}

export interface FakeDatabento {
  /** The API's base, as BOOKTAPE_DATABENTO_URL takes it. */
  url: string;
  requests: ServiceRequest[];
  /** Queues answers given to the next requests of `path` (e.g. 'timeseries.get_range'), in order, before the normal one. */
  script(path: string, ...answers: Scripted[]): void;
  /** US dollars per GB of billable (uncompressed) bytes. */
  pricePerGb: number;
  /** The exclusive end of the available range (default: the end of the archive's last day). */
  availableEnd: bigint;
  close(): Promise<void>;
}

const SYMBOLOGY_FAILED = {
  detail: {
    case: 'symbology_invalid_request',
    message: 'None of the symbols could be resolved',
    status_code: 422,
    docs: 'https://databento.com/docs/standards-and-conventions/symbology',
  },
};

async function fieldsOf(req: IncomingMessage, url: URL): Promise<Record<string, string>> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const form = req.method === 'POST' ? new URLSearchParams(Buffer.concat(parts).toString('utf8')) : url.searchParams;
  return Object.fromEntries(form.entries());
}

function userOf(req: IncomingMessage): { user: string; password: string } | null {
  const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  if (m === null) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export async function startFakeDatabento(opts: { key: string; archive: Archive }): Promise<FakeDatabento> {
  const { archive } = opts;
  const lastTs = archive.records.at(-1)?.tsRecv ?? 0n;
  const scripts = new Map<string, Scripted[]>();
  const sockets = new Set<Socket>();
  const service: FakeDatabento = {
    url: '',
    requests: [],
    pricePerGb: 100,
    availableEnd: lastTs - (lastTs % NS_PER_DAY) + NS_PER_DAY,
    script: (path, ...answers) => scripts.set(path, [...(scripts.get(path) ?? []), ...answers]),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  /** The records of a query, or the error answer that Databento would give instead. */
  function select(f: Record<string, string>): { records: ArchivedRecord[]; resolved: Map<string, Set<number>>; notFound: string[]; start: bigint; end: bigint } | { status: number; body: unknown } {
    if (f.dataset !== archive.metadata.dataset) return { status: 422, body: { detail: `dataset ${f.dataset} is not one of the datasets this key may use` } };
    if (f.schema !== 'mbo') return { status: 422, body: { detail: `schema ${f.schema} is not served by this test service` } };
    const start = parseRequestTime(f.start ?? '');
    const end = parseRequestTime(f.end ?? '');
    if (start === null || end === null || end <= start) return { status: 422, body: { detail: 'start and end must be instants with start < end' } };
    if (start >= service.availableEnd) return { status: 422, body: { detail: { case: 'data_start_after_available_end', message: `start is after the end of the available range` } } };
    const symbols = (f.symbols ?? '').split(',').filter(Boolean);
    const resolved = new Map<string, Set<number>>();
    const notFound: string[] = [];
    for (const s of symbols) {
      const ids = new Set<number>();
      if (f.stype_in === 'raw_symbol') for (const id of archive.instruments.get(s) ?? []) ids.add(id);
      else if (f.stype_in === 'parent' && s.endsWith('.FUT')) {
        const root = s.slice(0, -4);
        for (const [raw, set] of archive.instruments) if (new RegExp(`^${root}[FGHJKMNQUVXZ]\\d{1,2}$`).test(raw)) for (const id of set) ids.add(id);
      } else if (f.stype_in === 'instrument_id') for (const set of archive.instruments.values()) if (set.has(Number(s))) ids.add(Number(s));
      if (ids.size > 0) resolved.set(s, ids);
      else notFound.push(s);
    }
    if (resolved.size === 0) return { status: 422, body: SYMBOLOGY_FAILED };
    const wanted = new Set([...resolved.values()].flatMap((s) => [...s]));
    const records = archive.records.filter((r) => r.tsRecv >= start && r.tsRecv < end && wanted.has(r.instrumentId));
    return { records, resolved, notFound, start, end };
  }

  function dbnOf(sel: { records: ArchivedRecord[]; resolved: Map<string, Set<number>>; notFound: string[]; start: bigint; end: bigint }, f: Record<string, string>): Buffer {
    const day = (ns: bigint) => Number(new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10).replaceAll('-', ''));
    const meta: Metadata = {
      ...archive.metadata,
      version: 3,
      start: sel.start.toString(),
      end: sel.end.toString(),
      stype_in: ['instrument_id', 'raw_symbol', 'smart', 'continuous', 'parent'].indexOf(f.stype_in),
      stype_out: 0,
      symbols: (f.symbols ?? '').split(',').filter(Boolean),
      partial: [],
      not_found: sel.notFound,
      mappings: [...sel.resolved].map(([symbol, ids]) => ({
        raw_symbol: symbol,
        intervals: [...ids].map((id) => ({ start_date: day(sel.start), end_date: day(sel.end - 1n) + 1, symbol: String(id) })),
      })),
    };
    return Buffer.concat([encodeMetadata(meta), ...sel.records.map((r) => r.bytes)]);
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/v0\//, '');
    const fields = await fieldsOf(req, url);
    const auth = userOf(req);
    service.requests.push({ method: req.method ?? '', path, fields, user: auth?.user ?? null, at: Date.now() });
    if (!url.pathname.startsWith('/v0/')) return json(res, 404, { detail: 'Not Found' });
    // Basic auth: the key as user name, an empty password. The refusal names the key it was given, as a careless service might.
    if (auth === null || auth.user !== opts.key || auth.password !== '') {
      return json(res, 401, { detail: `Invalid username or API key: ${auth?.user ?? '(none)'}` });
    }
    const scripted = scripts.get(path)?.shift();
    if (scripted !== undefined && 'status' in scripted) {
      if (scripted.text !== undefined) {
        res.writeHead(scripted.status, { 'content-type': 'text/html', ...scripted.headers }).end(scripted.text);
        return;
      }
      return json(res, scripted.status, scripted.body ?? {}, scripted.headers);
    }
    if (scripted !== undefined && 'hang' in scripted) return;
    switch (path) {
      case 'metadata.get_dataset_range': {
        if (fields.dataset !== archive.metadata.dataset) return json(res, 422, { detail: `dataset ${fields.dataset} is not one of the datasets this key may use` });
        const start = archive.records[0]?.tsRecv ?? 0n;
        const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
        const range = { start: iso(start - (start % NS_PER_DAY)), end: iso(service.availableEnd) };
        return json(res, 200, { ...range, schema: { mbo: range } });
      }
      case 'metadata.get_cost':
      case 'metadata.get_billable_size': {
        const sel = select(fields);
        if ('status' in sel) return json(res, sel.status, sel.body);
        const bytes = sel.records.reduce((n, r) => n + r.bytes.length, 0);
        return json(res, 200, path === 'metadata.get_cost' ? (bytes / 1e9) * service.pricePerGb : bytes);
      }
      case 'timeseries.get_range': {
        if (req.method !== 'POST') return json(res, 405, { detail: 'Method Not Allowed' });
        if (fields.encoding !== 'dbn' || fields.compression !== 'zstd') return json(res, 400, { detail: 'this test service answers encoding=dbn, compression=zstd only' });
        const sel = select(fields);
        if ('status' in sel) return json(res, sel.status, sel.body);
        const body = compress(dbnOf(sel, fields));
        // Streamed, as Databento streams: no content-length.
        res.writeHead(sel.notFound.length > 0 ? 206 : 200, { 'content-type': 'application/octet-stream' });
        const cut = scripted !== undefined && 'cutAfterBytes' in scripted ? scripted.cutAfterBytes : Infinity;
        for (let o = 0; o < body.length; o += 16 * 1024) {
          if (o >= cut) {
            if (scripted !== undefined && 'cutWhen' in scripted) await scripted.cutWhen?.();
            res.socket?.destroy();
            return;
          }
          if (!res.write(body.subarray(o, Math.min(o + 16 * 1024, body.length)))) await new Promise((r) => res.once('drain', r));
        }
        res.end();
        return;
      }
      default:
        return json(res, 404, { detail: 'Not Found' });
    }
  }

  const server: Server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => { if (!res.headersSent) json(res, 500, { detail: String(err) }); else res.destroy(); });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  service.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v0/`;
  return service;
}
