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
import { CLI, CLX5, FIXTURES, ROOT, batchRecords } from './helpers.js';

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

  it('meta prints the metadata as JSON', async () => {
    const { stdout, code } = await cli('meta', `${FIXTURES}test_data.mbo.v1.dbn.zst`);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(readFileSync(`${FIXTURES}expected/test_data.mbo.v1.dbn.zst.meta.json`, 'utf8')));
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

  it('decode of a non-MBO file skips and counts on stderr', async () => {
    const { stdout, stderr, code } = await cli('decode', `${FIXTURES}test_data.trades.dbn`);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain('{"0x00":2}');
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
    });
    expect((await cliWith(env, 'ingest', file)).code).toBe(0);
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
  });

  it('demo ingests the bundled sample, serves it at the URLs it prints, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-cli-demo-'));
    const env = {
      ...process.env, BOOKTAPE_STORE: 'duckdb', BOOKTAPE_DUCKDB_PATH: join(dir, 'demo.duckdb'), PORT: '0', BOOKTAPE_TCP_PORT: '0', LOG_LEVEL: 'silent',
      BOOKTAPE_QUEUE_PREFIX: `bt-demo-${process.pid}-${Date.now()}`,
    };
    const child = spawn('node', [CLI, 'demo'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /books\s+(http:\/\/localhost:\d+)\/v1\/instruments/.exec(stderr);
          if (m) resolve(m[1]);
        });
        child.on('exit', () => reject(new Error(`demo exited early: ${stderr}`)));
      });
      expect(stderr).toContain('ingested 38212 records of CLX5 into duckdb: 32053 snapshots, 1599 trades');
      const book = await (await fetch(`${url}/v1/books/CLX5?depth=1`)).json();
      expect(book).toMatchObject({ symbol: 'CLX5', bids: [{ price: '65.400000000', size: 1 }], asks: [{ price: '64.780000000', size: 3 }] });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

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
