import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuestDbStore, execEndpoint } from '../../src/store/questdb/store.js';
import { versionProblem } from '../../src/store/questdb/schema.js';
import { nsLiteral, nsOf } from '../../src/store/questdb/rows.js';
import { StoreError, type StoredSnapshot } from '../../src/store/port.js';
import { PG_PORT, pgOptions } from '../../src/store/questdb/connection.js';
import type { Statement } from '../../src/store/questdb/statement.js';
import { fakePg } from './pg-fake.js';
import { mboPageSql } from '../../src/store/questdb/mbo-range.js';
import { NO_QDB, qdbConf } from '../questdb.js';
import { freshQuestDb, proxyTo, TABLES } from './questdb-server.js';
import { CLI, ROOT, waitFor } from '../helpers.js';
import { loadConfig } from '../../src/config.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { enqueueIngest, ingestQueue } from '../../jobs/queue.js';
import { RedisIngestJobs } from '../../jobs/ingest-jobs.js';
import { questdbRuns } from './runs.js';
import { clx5Batches, clx5FirstBatch, clx5L3Batches, storeContract } from './contract.js';
import { l3Contract } from './l3-contract.js';


describe.skipIf(!qdbConf)(`QuestDB store: the contract${NO_QDB}`, () => {
  storeContract(freshQuestDb);
});

describe.skipIf(!qdbConf)(`QuestDB store: the L3 contract${NO_QDB}`, () => {
  l3Contract(freshQuestDb);
});

describe.skipIf(!qdbConf)(`QuestDB store on a real server${NO_QDB}`, () => {
  it('loses no rows when its tables are dropped and recreated under a writer: the flush says so, and a re-run writes them all', async () => {
    const writer = await freshQuestDb();
    const other = new QuestDbStore(qdbConf!);
    const b = clx5FirstBatch();
    const sym = (id: number) => (id === 432669 ? 'CLX5' : null);
    await writer.writeSnapshots(b, sym);
    await writer.flush();
    // Another process drops and recreates the tables (a test's setup, an operator) while the writer's connection stays open.
    for (const t of TABLES) await other.exec(`DROP TABLE IF EXISTS ${t}`);
    await other.init();
    await writer.writeSnapshots(b, sym);
    await expect(writer.flush()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/dropped or recreated/) });
    // The caller (a job) runs again: every row lands.
    await writer.writeSnapshots(b, sym);
    await writer.flush();
    expect(await writer.countSnapshots()).toBe(b.length);
    await writer.close();
    await other.close();
  });

  it('the SQL in docs/questdb.md, the README and the Grafana dashboards runs on the schema, with rows to show', async () => {
    const store = await freshQuestDb();
    const batches = clx5Batches();
    for (const [s, tr] of batches) { await store.writeSnapshots(s, (id) => (id === 432669 ? 'CLX5' : null)); await store.writeTrades(tr, (id) => (id === 432669 ? 'CLX5' : null)); }
    for (const [e, c] of clx5L3Batches()) { await store.writeMboEvents(e, (id) => (id === 432669 ? 'CLX5' : null)); await store.writeCheckpoints(c, (id) => (id === 432669 ? 'CLX5' : null)); }
    await store.recordRun({
      runId: 'docs', source: 'CLX5_mbo.dbn', sha256: 'ab'.repeat(32), dataset: 'GLBX.MDP3', schema: 'mbo', symbols: ['CLX5'], records: 1, snapshots: 1,
      trades: 1, anomalies: {}, startedAt: new Date(Date.now() - 1000), finishedAt: new Date(), status: 'succeeded', error: null,
    });
    await store.flush();
    const statements = (text: string) => text.split(/;\s*\n/).map((s) => s.split('\n').filter((l) => !l.trim().startsWith('--')).join('\n').trim().replace(/;$/, '')).filter(Boolean);
    const fences = (md: string) => [...md.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
    const docs = fences(readFileSync(`${ROOT}docs/questdb.md`, 'utf8')).flatMap(statements);
    const readme = fences(readFileSync(`${ROOT}README.md`, 'utf8')).flatMap((block) => block.split(/\n(?=--)/))
      .filter((part) => /^-- QuestDB/.test(part)).flatMap(statements);
    const grafana = ['books', 'pipeline'].flatMap((d) => [...readFileSync(`${ROOT}dashboards/${d}.json`, 'utf8')
      .matchAll(/"(?:rawSql|query)": "(SELECT[^"]*)"/g)].map((m) => m[1]
      .replace(/\$__timeFilter\((\w+)\)/g, "$1 BETWEEN '2025-09-24T00:00:00Z' AND now()").replace(/\$\{__interval_ms\}/g, '1000').replace(/\$symbol/g, 'CLX5')));
    expect(docs.length).toBeGreaterThanOrEqual(11);
    expect(readme.length).toBeGreaterThanOrEqual(1);
    expect(grafana.length).toBeGreaterThanOrEqual(8);
    for (const sql of [...docs, ...readme, ...grafana]) {
      const r = await store.exec(sql).catch((err: Error) => { throw new Error(`${err.message}\n  in: ${sql}`); });
      expect(r.dataset.length, sql).toBeGreaterThan(0);
    }
    await store.close();
  });

  it("CLX5's BBO series is the same on QuestDB (SAMPLE BY) as on DuckDB (bucket arithmetic): same buckets, same first/last/min/max", async () => {
    const sym = (id: number) => (id === 432669 ? 'CLX5' : null);
    const quest = await freshQuestDb();
    const duck = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-bbo-')), 'bbo.duckdb'));
    await duck.init();
    for (const store of [quest, duck]) {
      for (const [s, t] of clx5Batches()) { await store.writeSnapshots(s, sym); await store.writeTrades(t, sym); }
      await store.flush();
    }
    for (const everyNs of [1_000_000_000n, 60_000_000_000n]) {
      const q = { symbol: 'CLX5', everyNs, limit: 100_000 };
      const [fromQuest, fromDuck] = await Promise.all([quest.bbo(q), duck.bbo(q)]);
      // Many buckets, with both sides and trades in them: a comparison of something.
      expect(fromDuck.length).toBeGreaterThan(everyNs === 1_000_000_000n ? 100 : 10);
      expect(fromDuck.some((b) => b.bid !== null && b.ask !== null && b.trades !== null)).toBe(true);
      expect(fromQuest, `every ${everyNs} ns`).toEqual(fromDuck);
    }
    await quest.close();
    await duck.close();
  });

  it('hour partitions; finished hours converted to Parquet as docs/questdb.md says read back the same rows and books', async () => {
    const store = await freshQuestDb();
    for (const [s, tr] of clx5Batches()) { await store.writeSnapshots(s, (id) => (id === 432669 ? 'CLX5' : null)); await store.writeTrades(tr, (id) => (id === 432669 ? 'CLX5' : null)); }
    await store.flush();
    const partitions = async () => (await store.exec("SELECT name, isParquet FROM table_partitions('book_snapshots')")).dataset as [string, boolean][];
    const hours = await partitions();
    expect(hours.map(([name]) => name)).toEqual(['2025-09-24T19', '2025-09-24T20', '2025-09-24T21']);
    const rows = async () => { const out: StoredSnapshot[] = []; for await (const b of store.readRange({ symbols: ['CLX5'] })) out.push(...b); return out; };
    const instants = [1758742200001385399n, 1758745800000000000n, 1758750000123456789n, 10n ** 19n];
    const before = { rows: await rows(), books: await Promise.all(instants.map((t) => store.bookAt('CLX5', t))) };
    expect(before.rows.length).toBe(32_053);
    // The statement docs/questdb.md gives: every hour of the day.
    const docs = /ALTER TABLE book_snapshots CONVERT PARTITION TO PARQUET WHERE ts_recv < '2025-09-25';/;
    expect(readFileSync(`${ROOT}docs/questdb.md`, 'utf8')).toMatch(docs);
    await store.exec("ALTER TABLE book_snapshots CONVERT PARTITION TO PARQUET WHERE ts_recv < '2025-09-25'");
    const converted = await waitFor('the conversion', async () => { const p = await partitions(); return p.every(([, parquet]) => parquet) ? p : null; });
    expect(converted.map(([name]) => name)).toEqual(hours.map(([name]) => name));
    expect(await rows()).toEqual(before.rows);
    expect(await Promise.all(instants.map((t) => store.bookAt('CLX5', t)))).toEqual(before.books);
    await store.close();
  });

  it('BOOKTAPE_QDB_TTL_DAYS sets the TTL of snapshots and trades at start; 0 clears it; unset leaves it', async () => {
    const probe = new QuestDbStore(qdbConf!);
    const ttl = async () => (await probe.exec(`SELECT ttlValue, ttlUnit FROM tables() WHERE table_name IN ('book_snapshots', 'trades')`)).dataset;
    // An ALTER of a WAL table is applied with the WAL: wait for it.
    const settled = async (want: unknown[][]) => {
      for (let t0 = Date.now(); Date.now() - t0 < 15_000; await new Promise((r) => setTimeout(r, 100))) {
        if (JSON.stringify(await ttl()) === JSON.stringify(want)) return want;
      }
      return ttl();
    };
    const start = async (ttlDays?: number) => {
      const store = new QuestDbStore(qdbConf!, ttlDays === undefined ? {} : { ttlDays });
      await store.init();
      await store.close();
    };
    await start(30);
    expect(await settled([[30, 'DAY'], [30, 'DAY']])).toEqual([[30, 'DAY'], [30, 'DAY']]);
    await start();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await ttl()).toEqual([[30, 'DAY'], [30, 'DAY']]);
    await start(0);
    expect((await settled([[0, 'HOUR'], [0, 'HOUR']])).map((r) => r[0])).toEqual([0, 0]);
    await probe.close();
  });

  it('refuses a server older than 9.1 by name; this one passes', async () => {
    const store = new QuestDbStore(qdbConf!);
    const [[build]] = (await store.exec('SELECT build()')).dataset;
    expect(versionProblem(String(build))).toBeNull();
    await store.close();
  });
});

/**
 * Each query the store sends, as QuestDB plans it: a lookup reads backwards
 * from its instant on the designated timestamp, a range page forwards from
 * its start; neither filters and sorts the whole table (a book lookup cost
 * 35-91 ms on 772k rows that way).
 */
describe.skipIf(!qdbConf)(`QuestDB query plans${NO_QDB}`, () => {
  let store: QuestDbStore;
  beforeAll(async () => {
    store = new QuestDbStore(qdbConf!);
    await store.init();
  });
  afterAll(async () => store.close());
  const plan = (stmt: Statement) => store.plan(stmt);
  const at = 1758742200001385399n;

  it('the book at an instant: an interval scanned backwards from it, no sort', async () => {
    for (const p of [await plan(QuestDbStore.lookupSql('CLX5', at, undefined, 8)), await plan(QuestDbStore.lookupSql('CLX5', at, 1, 8))]) {
      expect(p).toMatch(/Interval backward scan/);
      expect(p).not.toMatch(/Sort/);
    }
    const latest = await plan(QuestDbStore.lookupSql('CLX5', undefined, undefined, 8));
    expect(latest).toMatch(/backward scan/);
    expect(latest).not.toMatch(/Sort/);
  });

  it('the rows at one instant: an interval of one ns', async () => {
    const p = await plan(QuestDbStore.instantSql('CLX5', at, undefined));
    expect(p).toMatch(/Interval forward scan/);
  });

  it('a range page: an interval scanned forwards from its start, no sort', async () => {
    const bounded = await plan(QuestDbStore.pageSql({ symbols: ['CLX5'], to: at + 10n ** 12n }, { ts: at, inclusive: false }, 2000));
    expect(bounded).toMatch(/Interval forward scan/);
    expect(bounded).not.toMatch(/Sort/);
    const open = await plan(QuestDbStore.pageSql({ symbols: [] }, null, 2000));
    expect(open).toMatch(/forward scan/);
    expect(open).not.toMatch(/Sort/);
  });

  it('an MBO range page: the same forward interval scan, on mbo_events', async () => {
    const bounded = await plan(mboPageSql({ symbols: ['CLX5'], publisherId: 1, to: at + 10n ** 12n }, { ts: at, inclusive: true }, 4000));
    expect(bounded).toMatch(/Interval forward scan on: mbo_events/);
    expect(bounded).not.toMatch(/Sort/);
  });
});

/**
 * Scale-out: workers as separate processes (as on separate hosts) sharing
 * one Redis and one QuestDB. Rows must equal a clean serial run of the same
 * files (ingested here into the embedded store, one after the other).
 */
describe.skipIf(!qdbConf)(`QuestDB scale-out: workers on one queue and one QuestDB${NO_QDB}`, () => {
  const children: ChildProcess[] = [];
  const queues: Array<{ close(): Promise<void>; obliterate(o: { force: boolean }): Promise<void> }> = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const q of queues) { await q.obliterate({ force: true }).catch(() => undefined); await q.close(); }
  });

  const dir = mkdtempSync(join(tmpdir(), 'booktape-qdb-scale-'));
  const env = {
    BOOKTAPE_STORE: 'questdb', QDB_CLIENT_CONF: qdbConf ?? '', REDIS_URL: 'redis://127.0.0.1:6379',
    BOOKTAPE_QUEUE_PREFIX: `bt-qdb-${randomBytes(6).toString('hex')}`, BOOKTAPE_DATA_ROOTS: dir, BOOKTAPE_INBOX: join(dir, 'inbox'),
    BOOKTAPE_JOB_BACKOFF_MS: '200', BOOKTAPE_JOB_LOCK_MS: '2000', LOG_LEVEL: 'silent',
  };
  const worker = () => {
    const child = spawn('node', [CLI, 'worker'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const synth = async (name: string, records: number, seed: number) => {
    const path = join(dir, name);
    const p = spawn('node', [CLI, 'synth', path, '--records', String(records), '--seed', String(seed)], { stdio: 'ignore' });
    await new Promise((r) => p.on('exit', r));
    return path;
  };
  /** What a clean serial run leaves: every file ingested one after the other into a fresh embedded store. */
  const serial = async (files: string[]) => {
    const store = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-serial-')), 'serial.duckdb'));
    await store.init();
    const policy = { dataRoots: [dir], allowHosts: [], maxBytes: Infinity, timeoutMs: 10_000, maxRedirects: 0 };
    for (const f of files) await ingest(f, { store, sourcePolicy: policy, snapshotPolicy: { depth: 10, intervalNs: 0 } });
    const out = { count: await store.countSnapshots(), instruments: await store.listInstruments() };
    await store.close();
    return out;
  };
  const landed = async () => {
    const store = new QuestDbStore(qdbConf!);
    await store.flush();
    const out = { count: await store.countSnapshots(), instruments: await store.listInstruments() };
    await store.close();
    return out;
  };
  const done = async (job: { getState(): Promise<string> }, ms: number) => {
    const until = Date.now() + ms;
    for (;;) {
      const state = await job.getState();
      if (state === 'completed') return;
      if (state === 'failed' || Date.now() > until) throw new Error(`job ${state}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('two workers ingest two files at once: the rows of a clean serial run', async () => {
    const store = await freshQuestDb();
    await store.close();
    const files = [await synth('a.dbn', 150_000, 11), await synth('b.dbn', 150_000, 12)];
    const config = loadConfig(env);
    const queue = ingestQueue(config);
    queues.push(queue);
    worker();
    worker();
    const jobs = await Promise.all(files.map(async (source) => (await enqueueIngest(queue, { source })).job));
    await Promise.all(jobs.map((j) => done(j, 150_000)));
    // At the same time: each started before the other finished.
    const [a, b] = await Promise.all(jobs.map(async (j) => (await queue.getJob(j.id!))!));
    expect(a.processedOn!).toBeLessThan(b.finishedOn!);
    expect(b.processedOn!).toBeLessThan(a.finishedOn!);
    expect(await landed()).toEqual(await serial(files));
  }, 300_000);

  it('a worker killed (SIGKILL) mid-file: its job moves to another worker, the rows are those of a clean run, and the killed run is recorded and counted', async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    const store = await freshQuestDb();
    await store.close();
    const big = await synth('big.dbn', 600_000, 9);
    const config = loadConfig(env);
    const queue = ingestQueue(config);
    queues.push(queue);
    const first = worker();
    const { job } = await enqueueIngest(queue, { source: big });
    let killed: { records?: number; runId?: string } | undefined;
    for (const until = Date.now() + 120_000; ;) {
      killed = (await queue.getJob(job.id!))?.progress as typeof killed;
      if ((killed?.records ?? 0) > 100_000) break;
      if (Date.now() > until) throw new Error('no progress from the first worker');
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.on('exit', r));
    worker();
    await done(job, 240_000);
    expect(await landed()).toEqual(await serial([big]));
    // Two runs, each in ingest_runs: the killed one recorded by the run that took its job over.
    const jobs = new RedisIngestJobs(config);
    await jobs.queue.waitUntilReady();
    expect(await jobs.read(job.id!)).toMatchObject({ state: 'completed', attemptsMade: 2, attemptsStalled: 1, error: null });
    await jobs.close();
    const reader = new QuestDbStore(qdbConf!);
    const runs = await questdbRuns(reader);
    await reader.close();
    expect(runs.map((r) => [r.run_id === killed!.runId, r.status])).toEqual([[true, 'abandoned'], [false, 'succeeded']]);
    expect(runs[0].records).toBeGreaterThanOrEqual(killed!.records!);
    expect(runs[0].error).toMatch(/^\[WORKER_LOST\] /);
  }, 400_000);
});

describe.skipIf(!qdbConf)(`QuestDB outages (through a proxy to the real server)${NO_QDB}`, () => {
  const sym = (id: number) => (id === 432669 ? 'CLX5' : null);

  it('a write rides out a 3 s restart (connections dropped and refused) within retry_timeout', async () => {
    await (await freshQuestDb()).close();
    const proxy = await proxyTo(execEndpoint(qdbConf!).base);
    const logged: Array<[string, string, Record<string, unknown>]> = [];
    const log = { info: () => undefined, warn: (fields: Record<string, unknown>, msg: string) => logged.push(['warn', msg, fields]) };
    const store = new QuestDbStore(`${proxy.conf}retry_timeout=15000;request_timeout=2000;`, {}, log);
    await store.init();
    await proxy.refuse();
    const b = clx5FirstBatch();
    const written = store.writeSnapshots(b, sym);
    await new Promise((r) => setTimeout(r, 3000));
    await proxy.restore();
    await written;
    await store.flush();
    expect(await store.countSnapshots()).toBe(b.length);
    // Ridden out, and in the log: when writes stopped landing and why, and when they landed again.
    expect(logged[0]).toEqual(['warn', 'QuestDB does not take writes; retrying', expect.objectContaining({ cause: expect.stringMatching(/refused|dropped/) })]);
    expect(logged.filter(([, msg]) => msg === 'QuestDB does not take writes; retrying')).toHaveLength(1);
    expect(logged.at(-1)).toEqual(['warn', 'QuestDB takes writes again', expect.objectContaining({ cause: 'refused', down_ms: expect.any(Number) })]);
    expect(logged.at(-1)![2].down_ms).toBeGreaterThanOrEqual(2500);
    await store.close();
    await proxy.close();
  }, 60_000);

  it('a stopped server: the ingest fails STORE_UNAVAILABLE in bounded time, and its failed run is recorded once the server is back', async () => {
    await (await freshQuestDb()).close();
    const proxy = await proxyTo(execEndpoint(qdbConf!).base);
    const store = new QuestDbStore(`${proxy.conf}retry_timeout=1500;request_timeout=500;`, { timeoutMs: 1000 });
    await store.init();
    proxy.hold();
    const opts = {
      store, sourcePolicy: { dataRoots: [`${ROOT}data`], allowHosts: [], maxBytes: Infinity, timeoutMs: 10_000, maxRedirects: 0 },
      snapshotPolicy: { depth: 10, intervalNs: 0 },
    };
    const t0 = performance.now();
    // Stopped, not gone: it takes connections and answers nothing, and the error says so.
    await expect(ingest(`${ROOT}data/CLX5_mbo.dbn`, opts)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/did not answer within 500 ms \(UND_ERR_HEADERS_TIMEOUT\): the server is up but overloaded, stopped or hung/),
    });
    expect(performance.now() - t0).toBeLessThan(20_000);
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await proxy.restore();
    const summary = await ingest(`${ROOT}data/CLX5_mbo.dbn`, opts);
    expect(summary.snapshots).toBe(32_053);
    await store.flush();
    const runs = (await store.exec('SELECT status, error FROM ingest_runs ORDER BY finished_at')).dataset;
    expect(runs.map((r) => r[0])).toEqual(['failed', 'succeeded']);
    expect(String(runs[0][1])).toMatch(/STORE_UNAVAILABLE/);
    expect(await store.countSnapshots()).toBe(32_053);
    await store.close();
    await proxy.close();
  }, 90_000);

  it('a server that stops answering mid-replay (PostgreSQL wire): the read fails STORE_UNAVAILABLE at its deadline, and the next one reads again', async () => {
    const filled = await freshQuestDb();
    await filled.writeSnapshots(clx5FirstBatch(), sym);
    await filled.flush();
    await filled.close();
    const proxy = await proxyTo(`http://127.0.0.1:${PG_PORT}`);
    const store = new QuestDbStore(qdbConf!, { timeoutMs: 1000, pgAddr: proxy.addr });
    const rows = store.readRange({ symbols: ['CLX5'], pageSize: 100 });
    expect((await rows.next()).done).toBe(false);
    proxy.hold();
    const t0 = performance.now();
    await expect((async () => { for await (const _ of rows) { /* until it fails */ } })()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(performance.now() - t0).toBeLessThan(8_000);
    await proxy.restore();
    expect(await store.bookAt('CLX5')).not.toBeNull();
    await store.close();
    await proxy.close();
  }, 60_000);
});

describe('QuestDB configuration and failures (no QuestDB needed)', () => {
  it('derives the /exec endpoint and credentials from QDB_CLIENT_CONF', () => {
    expect(execEndpoint('http::addr=localhost:9000;')).toEqual({ base: 'http://localhost:9000', headers: {} });
    expect(execEndpoint('https::addr=db.example;username=admin;password=quest;').headers.authorization)
      .toBe(`Basic ${Buffer.from('admin:quest').toString('base64')}`);
    expect(execEndpoint('https::addr=db.example;').base).toBe('https://db.example:9000');
    expect(() => execEndpoint('tcp::addr=localhost:9009;')).toThrow(/http:: or https::/);
  });

  it('reads rows over the PostgreSQL wire at the same host, port 8812, as the same user, unless told otherwise', () => {
    expect(pgOptions('http::addr=db.example:9000;username=reader;password=s3cret;', undefined, 1000)).toMatchObject({ host: 'db.example', port: 8812, user: 'reader', password: 's3cret', tls: undefined });
    expect(pgOptions('https::addr=db.example;username=u;password=p;tls_verify=unsafe_off;', 'pg.example:5432', 1000)).toMatchObject({ host: 'pg.example', port: 5432, tls: { rejectUnauthorized: false } });
    expect(() => pgOptions('http::addr=db.example;token=abc;', undefined, 1000)).toThrow(/username and password/);
  });

  it('names the minimum version', () => {
    expect(versionProblem('Build Information: QuestDB 9.3.5, JDK 17.0.15, Commit Hash abc')).toBeNull();
    expect(versionProblem('Build Information: QuestDB 10.0.0, JDK 25')).toBeNull();
    expect(versionProblem('Build Information: QuestDB 9.0.3, JDK 17')).toMatch(/9\.0\.3 is too old; booktape needs QuestDB 9\.1\.0 or newer/);
    expect(versionProblem('Build Information: QuestDB 8.2.1, JDK 17')).toMatch(/too old/);
    expect(versionProblem('PostgreSQL 12.3, compiled by Visual C++')).toMatch(/no version|too old/);
  });

  it('writes and reads timestamps exactly to the ns', () => {
    for (const ns of [1758742200001385399n, 1758742200000000000n, 1n, 1758751199999903747n]) expect(nsOf(nsLiteral(ns).slice(1, -1))).toBe(ns);
    expect(nsOf('2025-09-24T19:30:00.001385Z')).toBe(1758742200001385000n);
    expect(nsOf('2025-09-24T19:30:00Z')).toBe(1758742200000000000n);
  });

  const servers: Array<Server | ReturnType<typeof createTcpServer>> = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  });
  const listen = async (s: Server | ReturnType<typeof createTcpServer>) => {
    servers.push(s);
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    return (s.address() as AddressInfo).port;
  };

  it('a server that accepts and never answers (a stopped QuestDB): every call fails STORE_UNAVAILABLE at its deadline', async () => {
    const port = await listen(createTcpServer((sock) => { sockets.push(sock); }));
    const store = new QuestDbStore(`http::addr=127.0.0.1:${port};retry_timeout=400;request_timeout=200;`, { timeoutMs: 300, pgAddr: `127.0.0.1:${port}` });
    const t0 = performance.now();
    const calls = [store.ping(), store.bookAt('CLX5'), store.countSnapshots(), store.listInstruments(), store.writeSnapshots(clx5FirstBatch(), () => 'CLX5')];
    const results = await Promise.allSettled(calls);
    const elapsed = performance.now() - t0;
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
      expect((r as PromiseRejectedResult).reason.code).toBe('STORE_UNAVAILABLE');
    }
    // The write says what it met: a server that takes the connection and does not answer.
    expect((results[4] as PromiseRejectedResult).reason.message).toMatch(/did not answer within 200 ms \(UND_ERR_HEADERS_TIMEOUT\): the server is up but overloaded, stopped or hung; the write was retried for retry_timeout=400 ms/);
    expect(elapsed).toBeLessThan(5_000);
    await store.close();
  });

  it('a refused connection is STORE_UNAVAILABLE, and a write the server answers 400 to is STORE_WRITE_FAILED (a rejection, not an outage)', async () => {
    const closed = await listen(createTcpServer());
    await new Promise((res) => servers.pop()!.close(res));
    const down = new QuestDbStore(`http::addr=127.0.0.1:${closed};retry_timeout=300;request_timeout=200;`, { timeoutMs: 300, pgAddr: `127.0.0.1:${closed}` });
    // A server that is not running, said as such (not as a timeout).
    const refused = /refused the connection \(ECONNREFUSED\): the server is down, or not listening at that address/;
    await expect(down.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(refused) });
    await expect(down.bookAt('CLX5')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/connection refused/) });
    const write = down.writeSnapshots(clx5FirstBatch(), () => 'CLX5');
    await expect(write).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(refused) });
    await expect(write).rejects.not.toMatchObject({ message: expect.stringMatching(/HTTP request timeout|did not answer/) });
    await down.close();
    const port = await listen(createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'invalid', message: 'cast error for line protocol' }));
      });
    }));
    const rejecting = new QuestDbStore(`http::addr=127.0.0.1:${port};retry_timeout=300;request_timeout=200;`, { timeoutMs: 300 });
    await expect(rejecting.writeSnapshots(clx5FirstBatch(), () => 'CLX5')).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED', message: expect.stringMatching(/rejected a write \(HTTP 400\)/) });
    await rejecting.close();
  });

  it('an outage its writes ride out is logged at warn when it starts and when it ends, once each, not per retry', async () => {
    // A port with nothing on it, then a server there that takes ILP: a QuestDB down, then started.
    const port = await listen(createTcpServer());
    await new Promise((res) => servers.pop()!.close(res));
    const logged: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const log = {
      info: (fields: Record<string, unknown>, msg: string) => logged.push({ level: 'info', msg, fields }),
      warn: (fields: Record<string, unknown>, msg: string) => logged.push({ level: 'warn', msg, fields }),
    };
    const store = new QuestDbStore(`http::addr=127.0.0.1:${port};retry_timeout=10000;request_timeout=500;`, { timeoutMs: 500 }, log);
    let taken = 0;
    const up = createServer((req, res) => { req.on('data', (c: Buffer) => { taken += c.length; }); req.on('end', () => res.writeHead(204).end()); });
    const written = store.writeSnapshots(clx5FirstBatch(), () => 'CLX5');
    await new Promise((res) => setTimeout(res, 1500));
    await new Promise<void>((res) => up.listen(port, '127.0.0.1', res));
    servers.push(up);
    await written;
    expect(taken).toBeGreaterThan(0);
    expect(logged.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'QuestDB does not take writes; retrying'],
      ['warn', 'QuestDB takes writes again'],
    ]);
    expect(logged[0].fields).toMatchObject({ cause: 'refused', retry_timeout_ms: 10_000, err: expect.stringContaining('the server is down') });
    expect(logged[1].fields.down_ms).toBeGreaterThanOrEqual(1000);
    await store.close();
  });

  it('bounds concurrent reads: 300 lookups at once open at most the configured connections, and all are answered', async () => {
    const pg = await fakePg({ delayMs: 2 });
    const store = new QuestDbStore('http::addr=127.0.0.1:1;', { readConnections: 4, timeoutMs: 10_000, pgAddr: `127.0.0.1:${pg.port}` });
    const got = await Promise.all(Array.from({ length: 300 }, () => store.bookAt('CLX5', 1n)));
    expect(got.every((r) => r === null)).toBe(true);
    expect(pg.stats.queries).toBe(300);
    expect(pg.stats.most).toBeLessThanOrEqual(4);
    expect(pg.stats.total).toBeLessThanOrEqual(4);
    await store.close();
    await pg.close();
  });

  it('replays cannot take every connection: a lookup queued behind 40 stream pages is answered first', async () => {
    const pg = await fakePg({ delayMs: 50 });
    const store = new QuestDbStore('http::addr=127.0.0.1:1;', { readConnections: 4, timeoutMs: 10_000, pgAddr: `127.0.0.1:${pg.port}` });
    // 40 one-page range reads at once: three run at a time (a quarter of the connections is kept for lookups).
    const t0 = performance.now();
    const streams = Promise.all(Array.from({ length: 40 }, async () => { for await (const _ of store.readRange({ symbols: ['CLX5'] })) { /* no rows */ } }));
    await new Promise((r) => setTimeout(r, 20));
    const lookup = store.bookAt('CLX5', 1n).then(() => performance.now() - t0);
    const [lookupMs] = await Promise.all([lookup, streams]);
    const streamsMs = performance.now() - t0;
    // The pages take ~40/3 x 50 ms; the lookup one round trip, not a place at the back of that queue.
    expect(streamsMs).toBeGreaterThan(500);
    expect(lookupMs).toBeLessThan(250);
    expect(pg.stats.most).toBeLessThanOrEqual(4);
    await store.close();
    await pg.close();
  });

  it('a wrong password on the PostgreSQL wire is STORE_UNAVAILABLE naming the refusal, not a hang', async () => {
    const pg = await fakePg({ password: 'right' });
    const store = new QuestDbStore('http::addr=127.0.0.1:1;username=admin;password=wrong;', { timeoutMs: 2000, pgAddr: `127.0.0.1:${pg.port}` });
    await expect(store.bookAt('CLX5')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/refused the connection: invalid username\/password/) });
    await store.close();
    await pg.close();
  });
});
