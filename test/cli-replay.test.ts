import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDbnStream } from '../src/dbn/index.js';
import { CLI, CLX5 } from './helpers.js';
import { READ_TOKEN, serve, type Served } from './api/served.js';

/**
 * `booktape replay` against a real server (HTTP and TCP on free ports, the
 * embedded store holding CLX5, a read token): what it writes is what the
 * server sends, filters and pace included, and every failure is one typed
 * line and exit 2.
 */
let s: Served;
beforeAll(async () => {
  s = await serve({ 'clx5.dbn': CLX5 });
}, 120_000);
afterAll(async () => {
  await s?.close();
});

interface Run { stdout: Buffer; stderr: string; code: number; ms: number }

async function replay(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const started = performance.now();
  const options = { encoding: 'buffer' as const, maxBuffer: 256 << 20, env: { ...process.env, BOOKTAPE_READ_TOKEN: READ_TOKEN, ...env } };
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, 'replay', ...args], options);
    return { stdout, stderr: stderr.toString(), code: 0, ms: performance.now() - started };
  } catch (err) {
    const e = err as { stdout: Buffer; stderr: Buffer; code: number };
    return { stdout: e.stdout, stderr: e.stderr.toString(), code: e.code, ms: performance.now() - started };
  }
}

const http = () => ['--url', s.base];
const tcp = () => ['--tcp', `127.0.0.1:${s.server.tcpPort}`];
/** What the server sends for a query, fetched directly. */
const direct = async (query: string) =>
  Buffer.from(await (await fetch(`${s.base}/v1/replay?${query}`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).arrayBuffer());
const lines = (b: Buffer) => b.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** A free port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

// Each case starts several CLI processes (about a second each at rest, much more on a loaded machine).
const SPAWNS_MS = 120_000;

describe('booktape replay', () => {
  const window = ['--symbols', 'CLX5', '--from', '2025-09-24T20:00:00Z', '--to', '2025-09-24T20:00:10Z'];
  const windowQuery = 'symbols=CLX5&from=2025-09-24T20:00:00Z&to=2025-09-24T20:00:10Z';

  it('over HTTP and over TCP writes exactly the NDJSON the server sends, and says how it ended', async () => {
    const want = await direct(windowQuery);
    const frames = lines(want).length - 2;
    expect(frames).toBeGreaterThan(50);
    for (const transport of [http(), tcp()]) {
      const r = await replay([...transport, ...window]);
      expect([r.code, r.stderr], transport.join(' ')).toEqual([0, `booktape: replay ended: ${frames} frames\n`]);
      expect(r.stdout.equals(want), transport.join(' ')).toBe(true);
    }
  }, SPAWNS_MS);

  it('--format dbn over HTTP and TCP: the server\'s DBN stream, byte for byte, all the records its metadata announces', async () => {
    const want = await direct(`${windowQuery}&format=dbn&depth=1`);
    for (const transport of [http(), tcp()]) {
      const r = await replay([...transport, ...window, '--format', 'dbn', '--depth', '1']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.equals(want)).toBe(true);
      const dbn = await openDbnStream((async function* () { yield new Uint8Array(r.stdout); })());
      expect(dbn.metadata.schema).toBe(1); // mbp-1
      expect(r.stderr).toBe(`booktape: replay ended: ${dbn.metadata.limit} records\n`);
      await dbn.close();
    }
  }, SPAWNS_MS);

  it('takes the replay API\'s filters: --after, --depth, --publisher-id, --speed', async () => {
    type Frame = { ts_recv: string; instrument_id: number; publisher_id: number; sequence: number; sub_sequence: number; bids: unknown[]; asks: unknown[] };
    const keyOf = (f: Frame) => `${f.ts_recv},${f.instrument_id},${f.publisher_id},${f.sequence},${f.sub_sequence}`;
    const all = lines(await direct(windowQuery)) as unknown as Frame[];
    const tenth = keyOf(all[10]);
    const after = lines((await replay([...http(), ...window, '--after', tenth, '--depth', '2', '--publisher-id', '1'])).stdout);
    expect(after[0]).toMatchObject({ type: 'header', after: tenth, depth: 2, publisher_id: 1 });
    const snapshots = after.filter((l) => l.type === 'snapshot') as unknown as Frame[];
    expect(snapshots.map(keyOf)).toEqual(all.slice(11, -1).map(keyOf));
    for (const f of snapshots) expect(Math.max(f.bids.length, f.asks.length)).toBeLessThanOrEqual(2);
    const sped = await replay([...tcp(), ...window, '--speed', '100']);
    expect(lines(sped.stdout)[0]).toMatchObject({ type: 'header', speed: 100, frames: all.length - 2, seconds: expect.any(Number) });
    expect(sped.stderr).toMatch(/^booktape: replaying \d+ frames at 100x recorded time: under a second\n/);
  }, SPAWNS_MS);

  it('--rate paces it, and it says first how many frames and how long', async () => {
    // 41 frames at 20 a second: the last is due 2 s after the first.
    const all = lines(await direct(windowQuery));
    const to = (all[41] as { ts_recv: string }).ts_recv;
    for (const transport of [http(), tcp()]) {
      const r = await replay([...transport, '--symbols', 'CLX5', '--from', '2025-09-24T20:00:00Z', '--to', to, '--rate', '20']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('booktape: replaying 41 frames at 20 frames/s: about 2 s\nbooktape: replay ended: 41 frames\n');
      expect(lines(r.stdout)[0]).toMatchObject({ rate: 20, frames: 41, seconds: 2 });
      expect(r.ms).toBeGreaterThan(2_000);
    }
  }, SPAWNS_MS);

  it('a server that does not answer is SERVER_UNAVAILABLE, exit 2, on either transport', async () => {
    const port = await closedPort();
    for (const transport of [['--url', `http://127.0.0.1:${port}`], ['--tcp', String(port)]]) {
      const r = await replay([...transport, '--symbols', 'CLX5']);
      expect(r.code).toBe(2);
      expect(r.stdout.length).toBe(0);
      expect(r.stderr).toMatch(/^booktape: error \[SERVER_UNAVAILABLE\]: no booktape server answered at .*ECONNREFUSED.*start one/);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
  }, SPAWNS_MS);

  it('what the server refuses is its code, one line, exit 2: an unknown symbol, no token, a bad window', async () => {
    for (const transport of [http(), tcp()]) {
      const unknown = await replay([...transport, '--symbols', 'NOPE']);
      expect([unknown.code, unknown.stderr]).toEqual([2, 'booktape: error [UNKNOWN_SYMBOL]: no instrument named NOPE; see GET /v1/instruments\n']);
      expect(unknown.stdout.length).toBe(0);
      const anonymous = await replay([...transport, '--symbols', 'CLX5'], { BOOKTAPE_READ_TOKEN: '' });
      expect(anonymous.code).toBe(2);
      expect(anonymous.stderr).toMatch(/^booktape: error \[UNAUTHORIZED\]: .*token/);
      const withToken = await replay([...transport, '--token', READ_TOKEN, ...window], { BOOKTAPE_READ_TOKEN: '' });
      expect(withToken.code, withToken.stderr).toBe(0);
    }
  }, SPAWNS_MS);

  it('bad options are usage errors before any connection, named as the option', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--rate', '-1'], /--rate must be 0 \(as fast as possible\) or from 0.001/],
      [['--from', 'yesterday'], /--from must be an instant/],
      [['--rate', '5', '--speed', '2'], /--rate give rate or speed, not both/],
      [['--format', 'dbn', '--depth', '5'], /--depth format=dbn writes MBP-1 or MBP-10 records/],
      [['--tcp', 'nowhere:port'], /--tcp must be \[host:\]port/],
      [['--url', 'not a url'], /--url must be the server's address/],
    ];
    for (const [args, message] of cases) {
      const r = await replay(['--url', 'http://127.0.0.1:9', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^booktape: error \[USAGE\]: /);
      expect(r.stderr).toMatch(message);
    }
  }, SPAWNS_MS);

  it('a stream cut short (the server stopped under it) is REPLAY_CUT, exit 2, after the frames that came: NDJSON and DBN', async () => {
    const victim = await serve({ 'clx5.dbn': CLX5 });
    const started = [[['--url', victim.base], 'ndjson'], [['--tcp', `127.0.0.1:${victim.server.tcpPort}`], 'dbn']].map(([transport, format]) => {
      const child = spawn('node', [CLI, 'replay', ...transport, '--symbols', 'CLX5', '--rate', '200', '--format', format as string], {
        env: { ...process.env, BOOKTAPE_READ_TOKEN: READ_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      const run = { stdout: 0, stderr: '', code: new Promise<number | null>((resolve) => child.on('exit', resolve)) };
      child.stdout.on('data', (d: Buffer) => { run.stdout += d.length; });
      child.stderr.on('data', (d: Buffer) => { run.stderr += d.toString(); });
      return run;
    });
    try {
      for (const run of started) {
        for (let i = 0; i < 200 && !run.stderr.includes('replaying'); i++) await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await victim.close(); // stops the replays in flight: their streams end short
    }
    for (const run of started) {
      expect(await run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^booktape: replaying 32053 frames at 200 frames\/s: about 3 min\nbooktape: error \[REPLAY_CUT\]: the replay stream was cut: .*--after/);
      expect(run.stdout).toBeGreaterThan(0);
    }
  }, 120_000);
});
