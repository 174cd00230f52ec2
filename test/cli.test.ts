import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeBuffer, RecordCounts } from '../src/dbn/index.js';
import { type MboJson } from '../src/encode/mbo.js';
import { DuckDbStore } from '../src/store/duckdb/store.js';
import { CLI, CLX5, FIXTURES, ROOT, batchRecords, recordsOf } from './helpers.js';

const run = promisify(execFile);
async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return cliWith({}, ...args);
}
async function cliWith(env: Record<string, string>, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('node', [CLI, ...args], { maxBuffer: 64 << 20, env: { ...process.env, BOOKTAPE_STORE: 'duckdb', ...env } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('booktape CLI', () => {
  it('--help lists every command', async () => {
    const { stdout } = await cli('--help');
    for (const cmd of ['meta', 'decode', 'book', 'mbp', 'ingest', 'enqueue', 'worker', 'serve', 'demo', 'synth']) expect(stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  });

  it('runs as the README runs it, `npx booktape`, from the built bin (executable after a build)', async () => {
    const { stdout } = await run('npx', ['--no-install', 'booktape', 'meta', CLX5], { cwd: ROOT });
    expect(JSON.parse(stdout).symbols).toEqual(['CLX5']);
    expect(statSync(CLI).mode & 0o111).not.toBe(0);
  });

  it('a reader that stops early (`| head -1`) ends the command quietly with exit 0, not a broken-pipe crash', async () => {
    const child = spawn('node', [CLI, 'decode', CLX5], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    child.stdout.destroy(); // what head does after its line
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(JSON.parse(first.split('\n')[0]).rtype).toBe(160);
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('enqueue refuses a URL no worker would fetch, before touching Redis', async () => {
    const { stderr, code } = await cliWith({ REDIS_URL: 'redis://127.0.0.1:1', BOOKTAPE_URL_ALLOW_HOSTS: 'data.example' }, 'enqueue', 'https://other.example/x.dbn');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^booktape: error \[SOURCE_NOT_ALLOWED\]: host other.example is not allowed; add it to BOOKTAPE_URL_ALLOW_HOSTS/);
  });

  it('enqueue refuses a path outside the data roots, or a missing file, before touching Redis', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-enqueue-'));
    const env = { REDIS_URL: 'redis://127.0.0.1:1', BOOKTAPE_DATA_ROOTS: dir };
    const outside = await cliWith(env, 'enqueue', '/etc/passwd');
    expect([outside.code, outside.stderr]).toEqual([2, expect.stringMatching(/^booktape: error \[SOURCE_NOT_ALLOWED\]: \/etc\/passwd is outside the data roots/)]);
    const missing = await cliWith(env, 'enqueue', join(dir, 'nope.dbn'));
    expect([missing.code, missing.stderr]).toEqual([2, `booktape: error [SOURCE_NOT_FOUND]: no such file: ${join(dir, 'nope.dbn')}\n`]);
    // Workers on another machine: only the path is judged, and then Redis is asked (here, in vain).
    const split = await cliWith({ ...env, BOOKTAPE_SOURCE_CHECK: 'path' }, 'enqueue', join(dir, 'nope.dbn'));
    expect([split.code, split.stderr]).toEqual([2, expect.stringMatching(/^booktape: error \[JOBS_UNAVAILABLE\]/)]);
  }, 120_000); // three CLI starts, each loading the services

  it('meta prints the metadata as JSON, its enums by Databento\'s names', async () => {
    const { stdout, code } = await cli('meta', `${FIXTURES}test_data.mbo.v1.dbn.zst`);
    expect(code).toBe(0);
    const decoded = JSON.parse(readFileSync(`${FIXTURES}expected/test_data.mbo.v1.dbn.zst.meta.json`, 'utf8')) as Record<string, unknown>;
    expect(decoded).toMatchObject({ schema: 0, stype_in: 1, stype_out: 0 }); // the decoder's ids, named below
    expect(JSON.parse(stdout)).toEqual({ ...decoded, schema: 'mbo', stype_in: 'raw_symbol', stype_out: 'instrument_id' });
  });

  it('decode prints Databento JSON lines exactly', async () => {
    const { stdout } = await cli('decode', `${FIXTURES}test_data.mbo.v3.dbn.zst`);
    expect(stdout).toBe(readFileSync(`${FIXTURES}expected/test_data.mbo.v3.dbn.zst.ndjson`, 'utf8'));
  });

  it('decode --format csv --limit N prints a header and N rows', async () => {
    const { stdout } = await cli('decode', CLX5, '--format', 'csv', '--limit', '3');
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,channel_id,order_id,flags,ts_in_delta,sequence');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe('1758742200001385399,1758742200000860311,160,1,432669,A,A,64830000000,1,26,8058566314544,128,17528,94225061');
  });

  it('decode, book and mbp refuse a file of another schema alike: NOT_MBO, one line, exit 2', async () => {
    for (const cmd of ['decode', 'book', 'mbp']) {
      const { stdout, stderr, code } = await cli(cmd, `${FIXTURES}test_data.trades.dbn`);
      expect(code, cmd).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^booktape: error \[NOT_MBO\]: This is a trades file; books are rebuilt from MBO .*decode.* and .*mbp.* also read MBP-1 and MBP-10.*\n$/);
    }
  });

  it('decode reads Databento\'s MBP-10 files (DBN v2 and v3 zstd alike): each record\'s fields as they are in its bytes', async () => {
    const file = readFileSync(`${FIXTURES}test_data.mbp-10.dbn`);
    const lines = (await cli('decode', `${FIXTURES}test_data.mbp-10.dbn`)).stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect((await cli('decode', `${FIXTURES}test_data.mbp-10.v3.dbn.zst`)).stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(lines);
    expect(lines).toHaveLength(2);
    for (const [k, line] of lines.entries()) {
      const o = 8 + file.readUInt32LE(4) + 368 * k;
      expect(line).toMatchObject({
        ts_recv: file.readBigUInt64LE(o + 32).toString(), ts_event: file.readBigUInt64LE(o + 8).toString(), rtype: 10,
        instrument_id: file.readUInt32LE(o + 4), depth: file[o + 31], price: file.readBigInt64LE(o + 16).toString(),
        sequence: file.readUInt32LE(o + 44), ts_in_delta: file.readInt32LE(o + 40),
      });
      expect(line.levels).toHaveLength(10);
      expect(line.levels[9]).toEqual({
        bid_px: file.readBigInt64LE(o + 48 + 288).toString(), ask_px: file.readBigInt64LE(o + 56 + 288).toString(),
        bid_sz: file.readUInt32LE(o + 64 + 288), ask_sz: file.readUInt32LE(o + 68 + 288), bid_ct: file.readUInt32LE(o + 72 + 288), ask_ct: file.readUInt32LE(o + 76 + 288),
      });
    }
    // Databento's own decode of this file's first record.
    expect(lines[0]).toMatchObject({ action: 'C', side: 'A', depth: 9, price: '3722750000000', levels: expect.arrayContaining([{ bid_px: '3720250000000', ask_px: '3720500000000', bid_sz: 24, ask_sz: 10, bid_ct: 15, ask_ct: 8 }]) });
  });

  it('decode and mbp read what mbp --format dbn wrote: the same records byte for byte, the same json and csv lines, MBP-1 cut as --depth 1 writes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-mbp-in-'));
    const records = (path: string) => recordsOf(readFileSync(path));
    const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: dir, maxBuffer: 64 << 20 });
    await sh(`node ${CLI} mbp ${CLX5} --format dbn > a.dbn && node ${CLI} mbp a.dbn --format dbn > b.dbn`);
    await sh(`node ${CLI} mbp ${CLX5} --depth 1 --format dbn > a1.dbn && node ${CLI} mbp a.dbn --depth 1 --format dbn > b1.dbn`);
    expect(records(join(dir, 'a.dbn')).length).toBe(32_053 * 368);
    expect(records(join(dir, 'b.dbn')).equals(records(join(dir, 'a.dbn')))).toBe(true);
    expect(records(join(dir, 'b1.dbn')).equals(records(join(dir, 'a1.dbn')))).toBe(true);
    for (const format of ['json', 'csv']) {
      const fromMbo = (await cli('mbp', CLX5, '--format', format)).stdout;
      expect((await cli('decode', join(dir, 'a.dbn'), '--format', format)).stdout).toBe(fromMbo);
      expect((await cli('mbp', join(dir, 'a.dbn'), '--format', format)).stdout).toBe(fromMbo);
      expect((await cli('mbp', join(dir, 'a.dbn'), '--format', format, '--depth', '1')).stdout).toBe((await cli('mbp', CLX5, '--format', format, '--depth', '1')).stdout);
    }
    expect((await cli('decode', join(dir, 'a1.dbn'), '--limit', '3')).stdout.trimEnd().split('\n').map((l) => JSON.parse(l).rtype)).toEqual([1, 1, 1]);
    const deeper = await cli('mbp', join(dir, 'a1.dbn'), '--depth', '10');
    expect([deeper.code, deeper.stdout, deeper.stderr]).toEqual([2, '', `booktape: error [BAD_DEPTH]: ${join(dir, 'a1.dbn')} holds MBP-1 records (1 level a side): write them at --depth 1\n`]);
    const sampled = await cli('mbp', join(dir, 'a.dbn'), '--every', '1s');
    expect([sampled.code, sampled.stderr]).toEqual([2, `booktape: error [NOT_MBO_OPTION]: --every works on books rebuilt from MBO; ${join(dir, 'a.dbn')} is MBP-10, already snapshots\n`]);
  });

  it('usage errors are one line on stderr and exit 2, not the whole help; --version prints the version', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['book', CLX5, '--depth', '-1'], /--depth must be a positive integer, got "-1"/],
      [['decode', CLX5, '--format', 'xml'], /--format must be one of json, csv, got "xml"/],
      [['synth', 'out.dbn'], /required option '--records <n>' not specified/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['decode', CLX5, '--nope'], /unknown option '--nope'/],
      // Commander's suggestion, on the same line as the error it belongs to.
      [['book', CLX5, '--depht', '3'], /unknown option '--depht': did you mean --depth\? \(booktape --help/],
      [['bok', CLX5], /unknown command 'bok': did you mean book\? \(booktape --help/],
      [['meta'], /missing required argument 'file'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2); // one line and its newline
      expect(r.stderr).toMatch(/^booktape: error \[USAGE\]: /);
      expect(r.stderr).toMatch(message);
    }
    const version = await cli('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).version);
  });

  it('a directory for a file, or an output directory that does not exist, is named as such (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-cli-paths-'));
    for (const cmd of ['meta', 'decode', 'book', 'mbp']) {
      const r = await cli(cmd, dir);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toBe(`booktape: error [IS_A_DIRECTORY]: ${dir} is a directory: give a .dbn or .dbn.zst file\n`);
    }
    const out = join(dir, 'missing', 'x.dbn');
    const synth = await cli('synth', out, '--records', '10');
    expect(synth.code).toBe(2);
    expect(synth.stderr).toBe(`booktape: error [NO_SUCH_DIRECTORY]: cannot write ${out}: the directory ${join(dir, 'missing')} does not exist; create it first\n`);
  });

  it('long runs print progress lines to a non-terminal stderr every BOOKTAPE_PROGRESS_MS: synth with percent and time left, book with records and rate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-cli-progress-'));
    const out = join(dir, 'p.dbn');
    const synth = await cliWith({ BOOKTAPE_PROGRESS_MS: '100' }, 'synth', out, '--records', '300000');
    expect(synth.code).toBe(0);
    const lines = synth.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines.slice(0, -1)) expect(l).toMatch(/^booktape: synth: [\d,]+ records, [\d,]+\/s, \d+\.\d%(, .+ left)?$/);
    expect(lines.at(-1)).toMatch(/^booktape: wrote 300000 records/);
    const book = await cliWith({ BOOKTAPE_PROGRESS_MS: '100' }, 'book', out, '--depth', '1');
    expect(book.code).toBe(0);
    expect(book.stderr).toMatch(/^booktape: book: [\d,]+ records, [\d,]+\/s$/m);
    JSON.parse(book.stdout); // stdout keeps only the output
    const quiet = await cli('book', CLX5, '--depth', '1'); // the default 5 s: a short run says nothing
    expect(quiet.stderr).toBe('');
  }, 180_000);

  it('enqueue with no Redis at REDIS_URL fails within seconds: one line, JOBS_UNAVAILABLE, exit 2', async () => {
    const t0 = performance.now();
    const r = await cliWith({ REDIS_URL: 'redis://127.0.0.1:1' }, 'enqueue', CLX5);
    expect(r.code).toBe(2); // FAILURE_KINDS: 'unavailable'
    expect(r.stderr).toBe('booktape: error [JOBS_UNAVAILABLE]: no Redis answered at redis://127.0.0.1:1 within 2 s: start Redis, or set REDIS_URL\n');
    // Module loading on a loaded machine included; without the fix it never returned.
    expect(performance.now() - t0).toBeLessThan(15_000);
  });

  it('ingest runs the pipeline into the configured store and prints the summary; again, it adds no rows; outside the data roots, SOURCE_NOT_ALLOWED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-cli-ingest-'));
    const file = join(dir, 'clx5.dbn');
    copyFileSync(CLX5, file);
    const env = { BOOKTAPE_DUCKDB_PATH: join(dir, 'store.duckdb'), BOOKTAPE_DATA_ROOTS: dir, LOG_LEVEL: 'silent' };
    const first = await cliWith(env, 'ingest', file);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({
      source: file, dataset: 'GLBX.MDP3', schema: 'mbo', symbols: ['CLX5'], records: 38_212, snapshots: 32_053, trades: 1_599,
      sha256: createHash('sha256').update(readFileSync(CLX5)).digest('hex'),
      run_id: expect.any(String), records_per_sec: expect.any(Number), duration_ms: expect.any(Number), other_records: expect.any(Object),
    });
    // snake_case throughout, as the API's JSON
    const keys = (o: unknown): string[] => (o && typeof o === 'object' ? Object.entries(o).flatMap(([k, v]) => (/^0x/.test(k) ? [] : [k, ...keys(v)])) : []);
    expect(keys(summary).filter((k) => /[A-Z]/.test(k))).toEqual([]);
    expect(summary).toMatchObject({ snapshots_already_present: 0, trades_already_present: 0 });
    const again = await cliWith(env, 'ingest', file);
    expect(again.code).toBe(0);
    // Written again, all of it already there: the second run adds no row, and says so.
    expect(JSON.parse(again.stdout)).toMatchObject({ snapshots: 32_053, snapshots_already_present: 32_053, trades: 1_599, trades_already_present: 1_599 });
    const store = new DuckDbStore(env.BOOKTAPE_DUCKDB_PATH);
    await store.init();
    try {
      expect(await store.countSnapshots()).toBe(32_053);
    } finally {
      await store.close();
    }
    const outside = await cliWith(env, 'ingest', CLX5);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/^booktape: error \[SOURCE_NOT_ALLOWED\]: .+\n$/);
  }, 180_000); // three CLI runs, each loading the services and DuckDB

  it('demo ingests the bundled sample once, serves it at the URLs it prints, and exits 0 on SIGTERM; a second demo serves the store at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-cli-demo-'));
    const env = {
      ...process.env, BOOKTAPE_STORE: 'duckdb', BOOKTAPE_DUCKDB_PATH: join(dir, 'demo.duckdb'), PORT: '0', BOOKTAPE_TCP_PORT: '0', LOG_LEVEL: 'silent',
      BOOKTAPE_QUEUE_PREFIX: `bt-demo-${process.pid}-${Date.now()}`,
    };
    /** Runs the demo until it serves; checks the book it serves, stops it (exit 0) and returns what it printed. */
    const demo = async (): Promise<{ stderr: string; ms: number }> => {
      const started = performance.now();
      const child = spawn('node', [CLI, 'demo'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      let stderr = '';
      try {
        const url = await new Promise<string>((resolve, reject) => {
          child.stderr.on('data', (d: Buffer) => {
            stderr += d.toString();
            const m = /books\s+(http:\/\/localhost:\d+)\/v1\/instruments/.exec(stderr);
            if (m) resolve(m[1]);
          });
          child.on('exit', () => reject(new Error(`demo exited early: ${stderr}`)));
        });
        const book = await (await fetch(`${url}/v1/books/CLX5?depth=1`)).json();
        expect(book).toMatchObject({ symbol: 'CLX5', bids: [{ price: '65.400000000', size: 1 }], asks: [{ price: '64.780000000', size: 3 }] });
        const [clx5] = await (await fetch(`${url}/v1/instruments`)).json();
        expect(clx5.snapshots).toBe(32_053);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      return { stderr, ms: performance.now() - started };
    };
    const first = await demo();
    expect(first.stderr).toContain('ingested 38212 records of CLX5 into duckdb: 32053 snapshots, 1599 trades');
    // The banner's replays name what the store holds, and how long the whole of it takes at the pace shown.
    expect(first.stderr).toMatch(/replay {5}curl -N 'http:\/\/localhost:\d+\/v1\/replay\?symbols=CLX5&rate=1000' {3}\(32053 frames at 1000\/s: 32 s\)\n/);
    expect(first.stderr).toMatch(/replay {5}npx booktape replay --tcp \d+ --symbols CLX5 --rate 1000 {3}\(the same over TCP\)\n/);
    // The store holds a succeeded run of the sample's content (ingest_runs, by sha256): not ingested again.
    const second = await demo();
    expect(second.stderr).toContain(`booktape: ${join(dir, 'demo.duckdb')} already holds CLX5 (data/CLX5_mbo.dbn, ingested before): serving it`);
    expect(second.stderr).not.toContain('ingested 38212');
    const store = new DuckDbStore(join(dir, 'demo.duckdb'));
    await store.init();
    try {
      expect(await store.countSnapshots()).toBe(32_053);
    } finally {
      await store.close();
    }
    console.log(`demo to serving: first start (ingest) ${first.ms.toFixed(0)} ms, second start ${second.ms.toFixed(0)} ms`);
  }, 120_000);

  it('errors are one line with a code and exit 2, no stack trace', async () => {
    const bad = await cli('decode', join(FIXTURES, 'expected', 'test_data.mbo.dbn.ndjson'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^booktape: error \[BAD_MAGIC\]: Not a DBN file.*at byte 0\)\n$/);
    const missing = await cli('meta', '/nonexistent/x.dbn');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[NOT_FOUND]');
    const badOpt = await cli('decode', CLX5, '--limit', 'ten');
    expect(badOpt.code).not.toBe(0);
    expect(badOpt.stderr).toContain('--limit must be a positive integer');
  });

  it('bad book and mbp options are usage errors with a code that say what to send', async () => {
    const cases: Array<[string[], string, string]> = [
      [['book', CLX5, '--at', '2025-02-30T00:00:00Z'], 'BAD_TIME', 'from 1970 to 2554'],
      [['book', CLX5, '--at', 'noon'], 'BAD_TIME', 'ISO-8601'],
      [['mbp', CLX5, '--every', '10x'], 'BAD_INTERVAL', 'e.g. 100ms'],
      [['mbp', CLX5, '--format', 'dbn', '--depth', '5'], 'BAD_DEPTH', '--depth 10'],
    ];
    for (const [args, code, hint] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`[${code}]`);
      expect(r.stderr).toContain(hint);
      expect(r.stdout).toBe('');
    }
    // Binary output to a terminal: `script` gives the CLI a pseudo-terminal as stdout.
    const tty = await run('script', ['-qec', `node ${CLI} mbp ${CLX5} --format dbn`, '/dev/null']).then(
      (r) => ({ ...r, code: 0 }), (e: { stdout: string; code: number }) => e);
    expect(tty.code).toBe(2);
    expect(tty.stdout).toContain('[BINARY_TO_TTY]');
    expect(tty.stdout).toContain('redirect it to a file');
  });

  it('book --orders lists each level\'s queue (json, csv, text) of the same book that book prints; --format csv or text needs --orders', async () => {
    const at = '2025-09-24T21:30:00Z';
    const plain = JSON.parse((await cli('book', CLX5, '--at', at, '--depth', '5')).stdout) as { books: Array<Record<string, unknown> & { bids: object[]; asks: object[] }> };
    const json = JSON.parse((await cli('book', CLX5, '--at', at, '--depth', '5', '--orders', '--format', 'json')).stdout) as {
      books: Array<{ symbol: string; bids: OrdersLevel[]; asks: OrdersLevel[] }>;
    };
    type OrdersLevel = { price: string; size: number; count: number; orders: Array<{ order_id: string; size: number; ts_recv: string; position: number; size_ahead: number }> };
    // The same book, levels and all; every level's orders add up to it, front first.
    const strip = (levels: OrdersLevel[]) => levels.map(({ orders: _, ...l }) => l);
    expect(json.books.map((b) => ({ ...b, bids: strip(b.bids), asks: strip(b.asks) }))).toEqual(plain.books);
    const levels = [...json.books[0].bids, ...json.books[0].asks];
    expect(levels.length).toBe(10);
    let ahead = 0;
    for (const l of levels) {
      expect(l.orders.reduce((s, o) => s + o.size, 0)).toBe(l.size);
      expect(l.orders.length).toBe(l.count);
      ahead = 0;
      l.orders.forEach((o, k) => {
        expect([o.position, o.size_ahead]).toEqual([k, ahead]);
        expect(BigInt(o.ts_recv) <= 1758749400000000000n).toBe(true); // queued at or before --at
        ahead += o.size;
      });
    }
    const csv = (await cli('book', CLX5, '--at', at, '--depth', '5', '--orders', '--format', 'csv')).stdout.trim().split('\n');
    expect(csv[0]).toBe('symbol,instrument_id,publisher_id,side,level,price,level_size,level_count,position,order_id,size,size_ahead,ts_recv');
    const fromJson = (['B', 'A'] as const).flatMap((side) => json.books[0][side === 'B' ? 'bids' : 'asks'].flatMap((l, k) =>
      l.orders.map((o) => `CLX5,432669,1,${side},${k},${l.price},${l.size},${l.count},${o.position},${o.order_id},${o.size},${o.size_ahead},${o.ts_recv}`)));
    expect(csv.slice(1)).toEqual(fromJson);
    const text = (await cli('book', CLX5, '--at', at, '--depth', '5', '--orders')).stdout;
    expect(text).toMatch(/^GLBX\.MDP3: 1 book at 2025-09-24T21:30:00\.000000000Z\nCLX5  instrument 432669  publisher 1  last record 2025-09-24T21:/);
    const first = json.books[0].bids[0];
    expect(text).toContain(`    ${first.price}  size ${first.size}  ${first.count} order`);
    expect(text).toContain(`${first.orders[0].order_id}  size`);
    const misuse = await cli('book', CLX5, '--format', 'csv');
    expect([misuse.code, misuse.stdout, misuse.stderr]).toEqual([2, '', 'booktape: error [NEEDS_ORDERS]: --format csv lists orders: add --orders (the book without them is JSON)\n']);
  });

  it('synth is deterministic per seed, and its zstd output decodes to the same records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-synth-'));
    const [a, b, z, other] = ['a.dbn', 'b.dbn', 'a.dbn.zst', 'c.dbn'].map((f) => join(dir, f));
    await cli('synth', a, '--records', '20000', '--seed', '42', '--instruments', '3');
    await cli('synth', b, '--records', '20000', '--seed', '42', '--instruments', '3');
    await cli('synth', z, '--records', '20000', '--seed', '42', '--instruments', '3', '--zstd');
    await cli('synth', other, '--records', '20000', '--seed', '43', '--instruments', '3');
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(other))).toBe(false);
    const plain = decodeBuffer(readFileSync(a));
    const packed = decodeBuffer(readFileSync(z));
    expect(packed.metadata).toEqual(plain.metadata);
    expect(Buffer.from(packed.batch.bytes.subarray(packed.batch.start)).equals(plain.batch.bytes.subarray(plain.batch.start))).toBe(true);
    // Checksummed like Databento's own files (frame header descriptor bit 2),
    // so damage is an error rather than wrong values: here, to the checksum itself.
    const zst = readFileSync(z);
    expect(zst[4] & 0x04).toBe(0x04);
    zst[zst.length - 1] ^= 0xff;
    const damaged = join(dir, 'damaged.dbn.zst');
    writeFileSync(damaged, zst);
    const bad = await cli('decode', damaged);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[ZSTD_CORRUPT]');

    const recs: MboJson[] = [];
    const counts = new RecordCounts();
    batchRecords(plain.batch, recs, counts);
    expect(counts.mbo).toBe(20_000);
    const actions = new Set(recs.map((r) => r.action));
    for (const act of ['A', 'C', 'M', 'T', 'F']) expect(actions.has(act)).toBe(true);
    expect(new Set(recs.map((r) => `${r.instrument_id}/${r.publisher_id}`)).size).toBe(4); // 3 instruments, 1 on two publishers
    expect(recs.some((r) => BigInt(r.order_id) > 2n ** 53n)).toBe(true);
    expect(recs[recs.length - 1].flags & 128).toBe(128);
    expect(plain.metadata.mappings.map((m) => m.raw_symbol)).toEqual(['SYN0', 'SYN1', 'SYN2']);
  });
});
