import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, CLX5 } from '../helpers.js';
import { READ_TOKEN, serve, type Served } from '../api/served.js';
import { tcpExchange } from '../api/tcp-client.js';

const run = promisify(execFile);
const auth = { headers: { authorization: `Bearer ${READ_TOKEN}` } };
const ndjson = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const cli = async (...args: string[]) => (await run('node', [CLI, ...args], { maxBuffer: 256 << 20 })).stdout;

let s: Served;
/** CLX5's records as `booktape decode` prints them. */
let decoded: Array<Record<string, unknown>>;
beforeAll(async () => {
  s = await serve({ 'CLX5_mbo.dbn': CLX5 });
  decoded = ndjson(await cli('decode', CLX5));
}, 120_000);
afterAll(async () => s?.close());

/** A replay line without the two fields the store adds to Databento's shape. */
const record = (line: Record<string, unknown>) => {
  const { symbol: _, sub_sequence: __, ...rest } = line;
  return rest;
};
/** A line's key, as `after` takes it. */
const keyOf = (l: Record<string, unknown>) => `${l.ts_recv},${l.instrument_id},${l.publisher_id},${l.sequence},${l.sub_sequence}`;

describe('GET /v1/replay?schema=mbo: the stored MBO records themselves', () => {
  it('NDJSON: a header, every record as `booktape decode` prints it (plus symbol and sub_sequence), in file order, and the end marker', async () => {
    const res = await fetch(`${s.base}/v1/replay?schema=mbo&symbols=CLX5`, auth);
    expect(res.status).toBe(200);
    const lines = ndjson(await res.text());
    expect(lines[0]).toMatchObject({ type: 'header', schema: 'mbo', symbols: ['CLX5'] });
    expect(lines.at(-1)).toEqual({ type: 'end', complete: true, frames: 38_212, first_ts_recv: '1758742200001385399', last_ts_recv: '1758751199999903747' });
    const records = lines.slice(1, -1);
    expect(records.map(record)).toEqual(decoded);
    expect(records.every((l) => l.symbol === 'CLX5')).toBe(true);
    // Keys are unique: sub_sequence numbers a book's records that share ts_recv and sequence.
    expect(new Set(records.map(keyOf)).size).toBe(records.length);
    expect(records.some((l) => (l.sub_sequence as number) > 0)).toBe(true);
  });

  it('resumes with after=<the last record\'s key> with nothing skipped or repeated, over HTTP and TCP alike', async () => {
    const all = ndjson(await (await fetch(`${s.base}/v1/replay?schema=mbo`, auth)).text()).slice(1, -1);
    // Cut inside a packet: a record whose next shares its ts_recv.
    const cut = all.findIndex((l, k) => k > 10_000 && all[k + 1].ts_recv === l.ts_recv);
    const after = keyOf(all[cut]);
    const rest = ndjson(await (await fetch(`${s.base}/v1/replay?schema=mbo&after=${after}`, auth)).text());
    expect(rest.slice(1, -1)).toEqual(all.slice(cut + 1));
    const tcp = ndjson(await tcpExchange(s.server.tcpPort, `${JSON.stringify({ schema: 'mbo', after, token: READ_TOKEN })}\n`));
    expect(tcp).toEqual(rest);
  });

  it('format=dbn: a DBN MBO stream of the file\'s own records, which `booktape decode` reads and from which `booktape book` rebuilds the same book as from the file, over HTTP and TCP', async () => {
    const res = await fetch(`${s.base}/v1/replay?schema=mbo&symbols=CLX5&format=dbn`, auth);
    expect(res.headers.get('x-booktape-records')).toBe('38212');
    const bytes = Buffer.from(await res.arrayBuffer());
    const file = join(s.dir, 'replay.mbo.dbn');
    writeFileSync(file, bytes);
    const meta = JSON.parse(await cli('meta', file)) as { schema: string; limit: string; symbols: string[] };
    expect(meta).toMatchObject({ schema: 'mbo', limit: '38212', symbols: ['CLX5'] });
    // The records, byte for byte the source file's.
    const source = readFileSync(CLX5);
    const records = (b: Buffer) => b.subarray(8 + b.readUInt32LE(4));
    expect(records(bytes).equals(records(source))).toBe(true);
    expect(ndjson(await cli('decode', file))).toEqual(decoded);
    for (const at of ['2025-09-24T20:00:00Z', '2025-09-24T21:30:00.25Z']) {
      const fromReplay = JSON.parse(await cli('book', file, '--orders', '--format', 'json', '--depth', 'all', '--at', at)) as { books: unknown };
      const fromFile = JSON.parse(await cli('book', CLX5, '--orders', '--format', 'json', '--depth', 'all', '--at', at)) as { books: unknown };
      expect(fromReplay.books).toEqual(fromFile.books);
    }
    const tcp = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const socket = connect(s.server.tcpPort, '127.0.0.1');
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.end(`${JSON.stringify({ schema: 'mbo', symbols: 'CLX5', format: 'dbn', token: READ_TOKEN })}\n`);
    });
    expect(tcp.equals(bytes)).toBe(true);
  });

  it('is paced by rate and by speed, on the records\' own ts_recv', async () => {
    const all = ndjson(await (await fetch(`${s.base}/v1/replay?schema=mbo&symbols=CLX5`, auth)).text()).slice(1, -1);
    const to = all[399].ts_recv as string;
    let t0 = performance.now();
    const paced = ndjson(await (await fetch(`${s.base}/v1/replay?schema=mbo&symbols=CLX5&to=${to}&rate=1000`, auth)).text());
    expect(paced.at(-1)).toMatchObject({ type: 'end', frames: 400 });
    expect((performance.now() - t0) / 1000).toBeGreaterThan(0.35); // 400 records at 1000/s
    // The first 20 s of recorded time at 100x: about 0.2 s.
    const from = BigInt(all[0].ts_recv as string);
    t0 = performance.now();
    await (await fetch(`${s.base}/v1/replay?schema=mbo&symbols=CLX5&to=${from + 20_000_000_000n}&speed=100`, auth)).text();
    expect((performance.now() - t0) / 1000).toBeGreaterThan(0.15);
  });

  it('refuses what it cannot serve: depth with schema=mbo, an unknown schema, a symbol stored without MBO', async () => {
    for (const [query, field] of [['schema=mbo&depth=5', 'depth'], ['schema=mbp-10', 'schema']]) {
      const res = await fetch(`${s.base}/v1/replay?${query}`, auth);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'INVALID_PARAMETER', field });
    }
    expect(JSON.parse(await tcpExchange(s.server.tcpPort, `${JSON.stringify({ schema: 'mbo', depth: 5, token: READ_TOKEN })}\n`))).toMatchObject({ type: 'error', code: 'INVALID_PARAMETER' });
    const depthOnly = await serve({ 'CLX5_mbo.dbn': CLX5 }, { BOOKTAPE_STORE_MBO: 'false' });
    try {
      const res = await fetch(`${depthOnly.base}/v1/replay?schema=mbo&symbols=CLX5`, auth);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'NO_MBO_STORED', field: 'symbols' });
      const tcp = JSON.parse(await tcpExchange(depthOnly.server.tcpPort, `${JSON.stringify({ schema: 'mbo', symbols: 'CLX5', token: READ_TOKEN })}\n`));
      expect(tcp).toMatchObject({ type: 'error', code: 'NO_MBO_STORED' });
    } finally {
      await depthOnly.close();
    }
  });
});
