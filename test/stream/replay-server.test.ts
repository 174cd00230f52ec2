/**
 * Replay against a real `booktape serve` process on free ports: DBN over
 * HTTP and TCP, the TCP read token, the stream bound, disconnects and
 * SIGTERM during paced replays.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/api/metrics.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { ActiveReads } from '../../src/stream/active-reads.js';
import { createReplayServer } from '../../src/stream/tcp.js';
import { CLI, CLX5, decodeAll, recordsOf } from '../helpers.js';
import { tcpExchange } from '../api/tcp-client.js';

const dir = mkdtempSync(join(tmpdir(), 'booktape-replay-server-'));
const dbPath = join(dir, 's.duckdb');
const baseEnv = {
  ...process.env, BOOKTAPE_DUCKDB_PATH: dbPath, BOOKTAPE_DATA_ROOTS: dir, PORT: '0', BOOKTAPE_TCP_PORT: '0',
  REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'info', // reads only
};
const RECORD = 368;
let mbp10: Buffer;

interface Served { proc: ChildProcess; http: string; tcp: number; exited: Promise<number | null> }
let running: Served | null = null;

/** Starts `booktape serve` with `env` over the test's; resolves once it logged its ports. */
async function serve(env: Record<string, string> = {}): Promise<Served> {
  const proc = spawn('node', [CLI, 'serve'], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  let log = '';
  const ports = await new Promise<{ http: string; tcp: number }>((resolve, reject) => {
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      log += d;
      for (const line of log.split('\n')) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as { msg: string; http?: string; tcp?: number };
        if (e.msg === 'serving') resolve({ http: e.http!.replace('localhost', '127.0.0.1'), tcp: e.tcp! });
      }
    });
    void exited.then(() => reject(new Error(`serve exited: ${log}`)));
  });
  return { proc, exited, ...ports };
}

let copies = 0;
/** A copy of the ingested store: DuckDB lets one process open a file. */
function storeCopy(): string {
  const path = join(dir, `copy-${copies++}.duckdb`);
  copyFileSync(dbPath, path);
  return path;
}

/** A server of its own, on its own copy of the store, for one test (stopped after it). */
async function own(env: Record<string, string> = {}): Promise<Served> {
  running = await serve({ BOOKTAPE_DUCKDB_PATH: storeCopy(), ...env });
  return running;
}

/** The server the tests that leave it running share (a start takes seconds on a busy machine). */
let sharedServer: Promise<Served> | null = null;
const shared = () => (sharedServer ??= serve());
afterAll(async () => {
  const s = await sharedServer;
  s?.proc.kill('SIGKILL');
  await s?.exited;
});

/** SIGTERM, and the seconds until the process exited. */
async function terminate(s: Served): Promise<number> {
  const t0 = performance.now();
  s.proc.kill('SIGTERM');
  await s.exited;
  return (performance.now() - t0) / 1000;
}

afterEach(async () => {
  if (running !== null && running.proc.exitCode === null) {
    running.proc.kill('SIGKILL');
    await running.exited;
  }
  running = null;
});

beforeAll(() => {
  copyFileSync(CLX5, join(dir, 'clx5.dbn'));
  execFileSync('node', [CLI, 'ingest', join(dir, 'clx5.dbn')], { env: baseEnv, stdio: 'ignore' });
  mbp10 = execFileSync('node', [CLI, 'mbp', CLX5, '--format', 'dbn', '--depth', '10'], { maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] });
}, 120_000);


/** All bytes a TCP replay sends for `request`, and whether the server ended the stream cleanly. */
function tcpBytes(port: number, request: object, onData?: (bytes: number) => void): Promise<{ bytes: Buffer; clean: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      onData?.(d.length);
    });
    socket.on('end', () => resolve({ bytes: Buffer.concat(parts), clean: true }));
    socket.on('error', () => resolve({ bytes: Buffer.concat(parts), clean: false }));
    socket.end(`${JSON.stringify(request)}\n`);
  });
}

/** A DBN stream's metadata limit and its whole records. */
async function dbnStream(bytes: Buffer) {
  const decoded = await decodeAll(Readable.from([bytes]));
  return { limit: Number(decoded.metadata.limit), records: decoded.counts.other.get(0x0a) ?? 0, metadata: decoded.metadata };
}

describe('format=dbn replays', () => {
  it('over HTTP and TCP: the records of `booktape mbp --format dbn`, record by record, with a metadata the project decoder reads', async () => {
    const s = await shared();
    const res = await fetch(`${s.http}/v1/replay?symbols=CLX5&format=dbn`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-booktape-records')).toBe('32053');
    const http = Buffer.from(await res.arrayBuffer());
    const tcp = await tcpBytes(s.tcp, { symbols: 'CLX5', format: 'dbn' });
    expect(tcp.clean).toBe(true);
    const expected = recordsOf(mbp10);
    for (const [name, got] of [['http', http], ['tcp', tcp.bytes]] as const) {
      const { limit, records, metadata } = await dbnStream(got);
      expect(metadata).toMatchObject({ version: 3, schema: 2, symbols: ['CLX5'], stype_in: 1, stype_out: 0 });
      expect(metadata.mappings[0].intervals[0].symbol).toBe('432669');
      expect([limit, records], name).toEqual([32_053, 32_053]);
      const body = recordsOf(got);
      expect(body.length, name).toBe(expected.length);
      for (let o = 0; o < expected.length; o += RECORD) {
        if (!body.subarray(o, o + RECORD).equals(expected.subarray(o, o + RECORD))) throw new Error(`${name}: record ${o / RECORD} differs`);
      }
    }
    // booktape reads the replay back: decode prints what mbp prints from the MBO file.
    const replayed = join(dir, 'replay.mbp-10.dbn');
    writeFileSync(replayed, http);
    const lines = (args: string[]) => execFileSync('node', [CLI, ...args], { maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    expect(lines(['decode', replayed, '--limit', '500'])).toBe(lines(['mbp', CLX5]).split('\n').slice(0, 500).join('\n') + '\n');
    // The export route too, with its limit, at depth 1 (MBP-1).
    const page = await fetch(`${s.http}/v1/books/CLX5/snapshots?format=dbn&depth=1&limit=1000`);
    expect(page.headers.get('x-booktape-records')).toBe('1000');
    const mbp1 = execFileSync('node', [CLI, 'mbp', CLX5, '--format', 'dbn', '--depth', '1'], { maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(recordsOf(Buffer.from(await page.arrayBuffer()))).toEqual(recordsOf(mbp1).subarray(0, 1000 * 80));
    // DBN has MBP-1 and MBP-10 only.
    expect((await fetch(`${s.http}/v1/replay?symbols=CLX5&format=dbn&depth=5`)).status).toBe(400);
  }, 60_000);

  it('a stream cut by a shutdown is detected as cut: fewer records than the metadata\'s limit, and over HTTP no proper end', async () => {
    const s = await own();
    const res = await fetch(`${s.http}/v1/replay?symbols=CLX5&format=dbn&rate=2000`);
    const announced = Number(res.headers.get('x-booktape-records'));
    const reader = res.body!.getReader();
    const parts: Uint8Array[] = [];
    const httpDone = (async () => {
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) return 'ended';
          parts.push(r.value);
        }
      } catch {
        return 'failed';
      }
    })();
    let tcpReceived = 0;
    const tcp = tcpBytes(s.tcp, { symbols: 'CLX5', format: 'dbn', rate: 2000 }, (n) => { tcpReceived += n; });
    // Both have sent records (past the metadata) and go on for ~15 s more.
    for (let i = 0; i < 200 && (tcpReceived < 10 * RECORD || parts.reduce((n, p) => n + p.length, 0) < 10 * RECORD); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await terminate(s)).toBeLessThan(5);
    expect(await httpDone).toBe('failed'); // the chunked body never got its last chunk
    const http = await dbnStream(Buffer.concat(parts));
    expect(http.limit).toBe(announced);
    expect(http.records).toBeGreaterThan(0);
    expect(http.records).toBeLessThan(http.limit);
    const t = await dbnStream((await tcp).bytes);
    expect(t.records).toBeGreaterThan(0);
    expect(t.records).toBeLessThan(t.limit);
  }, 60_000);
});

describe('paced replays end at once on a disconnect or a shutdown', () => {
  it('SIGTERM during replays at rate=0.002 (HTTP and TCP, NDJSON and DBN): serve exits within 3 s', async () => {
    const s = await own();
    const clients: Array<Promise<unknown>> = [];
    const sockets: Socket[] = [];
    for (const format of ['ndjson', 'dbn']) {
      const res = await fetch(`${s.http}/v1/replay?symbols=CLX5&rate=0.002&format=${format}`);
      clients.push(res.arrayBuffer().catch(() => null));
      const sock = connect(s.tcp, '127.0.0.1');
      sock.on('error', () => undefined);
      sock.write(`{"symbols":"CLX5","rate":0.002,"format":"${format}"}\n`);
      sockets.push(sock);
    }
    await new Promise((r) => setTimeout(r, 500)); // each has sent its first frame and sleeps ~500 s
    expect(await terminate(s)).toBeLessThan(3);
    expect(await s.exited).toBe(0);
  }, 30_000);

  it('clients at rate=0.002 that hang up after 1 s leave no stream open', async () => {
    const s = await shared();
    const aborts = Array.from({ length: 20 }, () => new AbortController());
    await Promise.all(aborts.map(async (a, k) => {
      const res = await fetch(`${s.http}/v1/replay?symbols=CLX5&rate=0.002${k % 2 ? '&format=dbn' : ''}`, { signal: a.signal });
      void res.body!.getReader().read().catch(() => undefined);
    }));
    const active = async () => {
      const text = await (await fetch(`${s.http}/metrics`)).text();
      return Number(/booktape_replay_active_streams\{transport="http"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    expect(await active()).toBe(20);
    await new Promise((r) => setTimeout(r, 1000));
    for (const a of aborts) a.abort();
    const t0 = performance.now();
    while ((await active()) > 0 && performance.now() - t0 < 2_000) await new Promise((r) => setTimeout(r, 50));
    expect(await active()).toBe(0); // within 2 s (a few ms when the machine is idle), not at the next frame ~500 s on
  }, 30_000);

  it('rate and speed are bounded: a pace below 0.001 is refused, not streamed unpaced', async () => {
    const s = await shared();
    for (const q of ['rate=1e-300', 'speed=1e-300', 'rate=0.0001', 'rate=-1']) {
      const res = await fetch(`${s.http}/v1/replay?symbols=CLX5&${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('INVALID_PARAMETER');
    }
    const line = JSON.parse(await tcpExchange(s.tcp, '{"symbols":"CLX5","rate":1e-300}\n'));
    expect(line).toMatchObject({ type: 'error', status: 400, code: 'INVALID_PARAMETER' });
    expect(line.detail).toMatch(/^rate: /);
  }, 30_000);
});

describe('BOOKTAPE_MAX_STREAMS', () => {
  it('past the bound a replay or export is refused at once (HTTP 503, a TCP error line); a slot freed is taken again', async () => {
    const s = await own({ BOOKTAPE_MAX_STREAMS: '2' });
    const held = [new AbortController(), new AbortController()];
    for (const a of held) {
      const res = await fetch(`${s.http}/v1/replay?symbols=CLX5&rate=1`, { signal: a.signal });
      expect(res.status).toBe(200);
      void res.body!.getReader().read().catch(() => undefined);
    }
    const refused = await fetch(`${s.http}/v1/replay?symbols=CLX5`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('TOO_MANY_STREAMS');
    expect((await fetch(`${s.http}/v1/books/CLX5/snapshots?limit=10`)).status).toBe(503);
    const line = JSON.parse(await tcpExchange(s.tcp, '{"symbols":"CLX5"}\n'));
    expect(line).toMatchObject({ type: 'error', status: 503, code: 'TOO_MANY_STREAMS' });
    expect((await fetch(`${s.http}/v1/books/CLX5`)).status).toBe(200); // lookups are not streams
    held[0].abort();
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${s.http}/v1/books/CLX5/snapshots?limit=10`)).status).toBe(200);
  }, 30_000);
});

describe('the TCP port', () => {
  it('with a read token it needs "token" in the request line, compared exactly; HTTP still answers 401 without it', async () => {
    const token = 'read-token-0123456789';
    const s = await own({ BOOKTAPE_READ_TOKEN: token });
    expect((await fetch(`${s.http}/v1/replay?symbols=CLX5`)).status).toBe(401);
    for (const request of ['{"symbols":"CLX5"}', `{"symbols":"CLX5","token":"${token}x"}`, '{"symbols":"CLX5","token":"read-token-012345678X"}', '{"symbols":"CLX5","token":1}']) {
      const text = await tcpExchange(s.tcp, `${request}\n`);
      expect(text.split('\n').filter(Boolean)).toHaveLength(1);
      expect(JSON.parse(text), request).toMatchObject({ type: 'error', status: 401, code: 'UNAUTHORIZED' });
    }
    const lines = (await tcpExchange(s.tcp, `{"symbols":"CLX5","to":"1758742200500000000","token":"${token}"}\n`)).trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'end', complete: true });
  }, 30_000);

  it('errors: no stray ": ", a non-object is not JSON object, unknown symbols are UNKNOWN_SYMBOL, a half-close ends the line', async () => {
    const s = await shared();
    const ask = async (payload: string, halfClose = true) => JSON.parse(await tcpExchange(s.tcp, payload, { halfClose })) as { code: string; detail: string };
    const unknownKey = await ask('{"symbols":"CLX5","nope":1}\n');
    expect(unknownKey.code).toBe('INVALID_PARAMETER');
    expect(unknownKey.detail).toMatch(/^Unrecognized key/);
    expect(await ask('[1,2]\n')).toMatchObject({ code: 'INVALID_JSON', detail: 'the request line is not a JSON object' });
    expect(await ask('null\n')).toMatchObject({ code: 'INVALID_JSON' });
    expect(await ask('{"symbols":"CLX5,NOPE"}\n')).toMatchObject({ code: 'UNKNOWN_SYMBOL', detail: expect.stringContaining('NOPE') });
    const t0 = performance.now();
    const lines = (await tcpExchange(s.tcp, '{"symbols":"CLX5","to":"1758742200500000000"}')).trim().split('\n'); // no newline, then a half-close
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'end', complete: true });
  }, 30_000);

  it('a connection that got an error line or REQUEST_TIMEOUT is closed even when the client never closes its side', async () => {
    const store = new DuckDbStore(storeCopy());
    const tcp = createReplayServer(store, createMetrics(null), pino({ level: 'silent' }), new ActiveReads(), { requestTimeoutMs: 300 });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const connections = () => new Promise<number>((r) => tcp.getConnections((_e, n) => r(n)));
    try {
      const clients: Socket[] = [];
      const received: string[] = [];
      for (const payload of ['nope\n', '[1]\n', '{"symbols":"NOPE"}\n', null, null]) {
        // allowHalfOpen: the client never ends its side by itself, even after the server's FIN.
        const sock = connect({ port: (tcp.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
        const k = received.push('') - 1;
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => { received[k] += d; });
        sock.on('error', () => undefined);
        if (payload !== null) sock.write(payload);
        clients.push(sock);
      }
      // Each got its error line, and the server closed every connection (bounded: a busy machine is slow, a leak is forever).
      const t0 = performance.now();
      while (((await connections()) > 0 || received.some((r) => !r.endsWith('\n'))) && performance.now() - t0 < 8_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(received.map((r) => (JSON.parse(r) as { code: string }).code)).toEqual(['INVALID_JSON', 'INVALID_JSON', 'UNKNOWN_SYMBOL', 'REQUEST_TIMEOUT', 'REQUEST_TIMEOUT']);
      expect(await connections()).toBe(0);
      for (const c of clients) c.destroy();
    } finally {
      tcp.close();
      await store.close();
    }
  }, 20_000);
});
