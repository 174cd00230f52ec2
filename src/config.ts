import { z } from 'zod';
import { parseDuration } from './time.js';
import { BooktapeError } from './errors.js';
import { isUrl, refuseDisallowedUrl } from './url-policy.js';
import { STYPES_IN, databentoRequest, type DatabentoRequestError, type StypeIn } from './databento-request.js';

/**
 * Snapshot rows per store write. Larger batches amortise each write's fixed
 * cost, but DuckDB's appender flushes synchronously, on the thread that also
 * renews job locks and serves the API: a batch this size blocks it for a
 * noticeable fraction of a second.
 */
export const DEFAULT_WRITE_BATCH_ROWS = 8192;

/**
 * Snapshot rows per write to QuestDB: with BOOKTAPE_QDB_REQUEST_MB's 64 MiB,
 * one WAL transaction per batch (about 45 MB at depth 10). Fewer, larger
 * transactions make QuestDB's merges of a file into a day that holds rows
 * cheaper (measured in docs/operations.md); encoding is sliced, so the
 * event loop is not held for a batch.
 */
export const QUESTDB_WRITE_BATCH_ROWS = 65_536;

/** A comma-separated list. */
const list = (fallback = '') =>
  z
    .string()
    .default(fallback)
    .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));
const duration = (name: string) =>
  z.string().transform((s, ctx) => {
    const ns = parseDuration(s);
    if (ns === null) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a duration such as 100ms, 30s or 5m` });
      return z.NEVER;
    }
    return ns;
  });
const int = (min: number) => z.coerce.number().int().min(min);
/** An optional setting: an empty value (`NAME=` in a .env file, `${NAME:-}` in compose) counts as unset. */
const optional = <T extends z.ZodType>(inner: T) => z.preprocess((v) => (v === '' ? undefined : v), inner.optional());

/**
 * Every setting, from the environment only. README's configuration table
 * lists the same names; `.env.example` shows each with its default.
 */
const Env = z.object({
  BOOKTAPE_STORE: z.enum(['duckdb', 'questdb']).optional(),
  BOOKTAPE_DUCKDB_PATH: z.string().default('./var/booktape.duckdb'),
  BOOKTAPE_DUCKDB_MEMORY: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, 'BOOKTAPE_DUCKDB_MEMORY must be a size such as 256MB').default('256MB'),
  BOOKTAPE_DUCKDB_BOOK_CACHE_MB: int(0).default(256),
  QDB_CLIENT_CONF: z.string().optional(),
  BOOKTAPE_STORE_TIMEOUT_MS: int(100).default(10_000),
  BOOKTAPE_QDB_READ_CONNECTIONS: int(1).max(256).default(16),
  BOOKTAPE_QDB_TTL_DAYS: int(0).max(36_500).optional(),
  BOOKTAPE_QDB_PG_ADDR: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port, e.g. questdb:8812').optional(),
  BOOKTAPE_QDB_REQUEST_MB: int(1).max(64).default(64),
  BOOKTAPE_QDB_WAL_STALL_MS: int(1_000).default(300_000),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  BOOKTAPE_QUEUE_PREFIX: z.string().default('booktape'),
  BOOKTAPE_DATA_ROOTS: list('./data,./var/inbox'),
  BOOKTAPE_SOURCE_CHECK: z.enum(['file', 'path']).default('file'),
  BOOKTAPE_URL_ALLOW_HOSTS: list(),
  BOOKTAPE_URL_MAX_BYTES: int(1).default(10 * 1024 ** 3),
  BOOKTAPE_URL_TIMEOUT_MS: int(1).default(30_000),
  BOOKTAPE_URL_MAX_REDIRECTS: int(0).default(3),
  BOOKTAPE_DEPTH: int(1).max(50).default(10),
  BOOKTAPE_SNAPSHOT_EVERY: z.string().optional(),
  BOOKTAPE_STORE_MBO: z.enum(['true', 'false']).default('true'),
  BOOKTAPE_CHECKPOINT_EVERY: z.string().default('60s'),
  BOOKTAPE_CHECKPOINT_EVENTS: int(1).default(1000),
  BOOKTAPE_WRITE_BATCH_ROWS: optional(int(1).max(1_000_000)),
  BOOKTAPE_ENGINE_HEAP_MB: optional(int(16)),
  BOOKTAPE_WORKER_CONCURRENCY: int(1).default(1),
  BOOKTAPE_JOB_ATTEMPTS: int(1).default(3),
  BOOKTAPE_JOB_BACKOFF_MS: int(0).default(5_000),
  BOOKTAPE_JOB_LOCK_MS: int(1_000).default(30_000),
  BOOKTAPE_SHUTDOWN_MS: int(100).default(10_000),
  BOOKTAPE_PROGRESS_MS: int(100).default(5_000),
  BOOKTAPE_INBOX: z.string().default('./var/inbox'),
  BOOKTAPE_SCAN_EVERY: z.string().optional(),
  BOOKTAPE_SCAN_CRON: z.string().optional(),
  BOOKTAPE_SCAN_URLS: list(),
  DATABENTO_API_KEY: optional(z.string()),
  BOOKTAPE_DATABENTO_URL: z.string().default('https://hist.databento.com/v0/'),
  BOOKTAPE_DATABENTO_MAX_COST_USD: z.coerce.number().min(0).default(10),
  BOOKTAPE_DATABENTO_KEEP_DIR: optional(z.string()),
  BOOKTAPE_DATABENTO_DATASET: optional(z.string()),
  BOOKTAPE_DATABENTO_SYMBOLS: list(),
  BOOKTAPE_DATABENTO_STYPE_IN: z.enum(STYPES_IN).default('raw_symbol'),
  BOOKTAPE_DATABENTO_CRON: optional(z.string()),
  BOOKTAPE_DATABENTO_DAYS: int(1).max(366).default(1),
  PORT: int(0).default(8080),
  BOOKTAPE_TCP_PORT: int(0).default(7070),
  BOOKTAPE_METRICS_PORT: optional(int(0).max(65_535)),
  BOOKTAPE_WRITE_TOKEN: optional(z.string().min(16, 'BOOKTAPE_WRITE_TOKEN must be at least 16 characters')),
  BOOKTAPE_READ_TOKEN: optional(z.string()),
  BOOKTAPE_MAX_STREAMS: int(1).max(10_000).default(32),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/**
 * What each setting means, for people: docs/configuration.md is generated
 * from this table (`npm run docs:config`) and a test keeps the two equal.
 * Typed over Env's keys, so a setting without a description does not compile.
 */
export const SETTING_DOCS: { [K in keyof z.input<typeof Env>]-?: [group: string, meaning: string] } = {
  BOOKTAPE_STORE: ['Store', '`duckdb` or `questdb`; unset: `questdb` when `QDB_CLIENT_CONF` is set, else `duckdb`'],
  BOOKTAPE_DUCKDB_PATH: ['Store', 'the embedded store\'s file (one process may open it)'],
  BOOKTAPE_DUCKDB_MEMORY: ['Store', 'DuckDB\'s memory limit'],
  BOOKTAPE_DUCKDB_BOOK_CACHE_MB: ['Store', 'memory for the blocks of stored rows that book lookups keep (~0.7 MB per 1,024 instants at depth 10); `0` keeps only the last block'],
  QDB_CLIENT_CONF: ['Store', 'QuestDB client configuration, e.g. `http::addr=localhost:9000;` (with `username=...;password=...;` or `token=...;`, and `retry_timeout=...;` for how long a write rides out an outage, default 60 s)'],
  BOOKTAPE_STORE_TIMEOUT_MS: ['Store', 'deadline of each QuestDB query; past it the answer is 503 `STORE_UNAVAILABLE`'],
  BOOKTAPE_QDB_READ_CONNECTIONS: ['Store', 'QuestDB queries at once per process; more wait their turn (a quarter of them are kept for lookups while replays run)'],
  BOOKTAPE_QDB_TTL_DAYS: ['Store', 'Days of snapshots and trades QuestDB keeps (its TTL: whole partitions older than this before the newest row are dropped); 0 keeps all; unset leaves the tables\' TTL as it is'],
  BOOKTAPE_QDB_PG_ADDR: ['Store', 'QuestDB\'s PostgreSQL-wire address (`host:port`), which rows are read through; unset: the host of `QDB_CLIENT_CONF`, port 8812. Its user and password are `QDB_CLIENT_CONF`\'s'],
  BOOKTAPE_QDB_REQUEST_MB: ['Store', 'largest ILP request to QuestDB, in MiB (1-64); each request is one WAL transaction: fewer, larger ones make merging a file into a day that holds rows cheaper (docs/operations.md)'],
  BOOKTAPE_QDB_WAL_STALL_MS: ['Store', 'an ingest\'s final flush waits for QuestDB to apply its WAL for as long as QuestDB makes progress; it fails `STORE_WAL_STALLED` once QuestDB has applied nothing for this long'],
  REDIS_URL: ['Jobs', 'Redis for the job queues (`redis://:password@host:6379` with a password)'],
  BOOKTAPE_QUEUE_PREFIX: ['Jobs', 'BullMQ key prefix'],
  BOOKTAPE_WORKER_CONCURRENCY: ['Jobs', 'ingest jobs per worker at once'],
  BOOKTAPE_JOB_ATTEMPTS: ['Jobs', 'runs per job, counting failed runs and runs cut short by a worker that died'],
  BOOKTAPE_JOB_BACKOFF_MS: ['Jobs', 'first retry delay (doubles per attempt)'],
  BOOKTAPE_JOB_LOCK_MS: ['Jobs', 'a job whose worker dies goes to another worker within this plus 5 s; a worker whose event loop or Redis stalls for half of it loses its run (docs/operations.md weighs the two)'],
  BOOKTAPE_SHUTDOWN_MS: ['Jobs', 'how long SIGTERM or SIGINT may take before a command exits anyway (exit 1)'],
  BOOKTAPE_PROGRESS_MS: ['Jobs', 'interval of the CLI\'s progress lines when stderr is not a terminal'],
  BOOKTAPE_METRICS_PORT: ['Jobs', 'port on which `booktape worker` serves `GET /metrics` and `GET /readyz`; unset: none'],
  BOOKTAPE_DATA_ROOTS: ['Sources', 'directories local sources must be under'],
  BOOKTAPE_SOURCE_CHECK: ['Sources', 'what `POST /v1/ingest` and `enqueue` check of a local path before queueing it: `file`, where they see the workers\' data roots (one machine, compose): it must be a file under `BOOKTAPE_DATA_ROOTS`, symlinks and `..` resolved; `path`, where workers read files this process cannot see: the path as written, `..` removed, must be under a root (see docs/operations.md)'],
  BOOKTAPE_URL_ALLOW_HOSTS: ['Sources', 'hosts URL sources may name; empty: no URLs'],
  BOOKTAPE_URL_MAX_BYTES: ['Sources', 'size limit of a download'],
  BOOKTAPE_URL_TIMEOUT_MS: ['Sources', 'wait for headers, and the longest stall between chunks of a download'],
  BOOKTAPE_URL_MAX_REDIRECTS: ['Sources', 'redirects followed (each checked against the allow-list)'],
  BOOKTAPE_INBOX: ['Inbox scanner', 'directory the scanner watches'],
  BOOKTAPE_SCAN_EVERY: ['Inbox scanner', 'scan interval (e.g. `60s`); starts the scanner in `booktape worker`'],
  BOOKTAPE_SCAN_CRON: ['Inbox scanner', 'scan cron pattern, instead of an interval'],
  BOOKTAPE_SCAN_URLS: ['Inbox scanner', 'URLs the scanner queues too, each once: http(s) on an allowed host, or a `databento:` request ([databento.md](databento.md)); else the process refuses to start'],
  DATABENTO_API_KEY: ['Databento', 'your Databento API key (Databento\'s own variable), for the processes that download: `ingest`, `worker`, `serve` with the embedded store; never logged, printed or queued'],
  BOOKTAPE_DATABENTO_URL: ['Databento', 'base of Databento\'s historical HTTP API; the key is sent there and nowhere else (not subject to `BOOKTAPE_URL_ALLOW_HOSTS`)'],
  BOOKTAPE_DATABENTO_MAX_COST_USD: ['Databento', 'a request Databento quotes above this many US dollars is refused before download (`DATABENTO_COST_LIMIT`); `0`: free requests only'],
  BOOKTAPE_DATABENTO_KEEP_DIR: ['Databento', 'keep a copy of each complete download here (`.mbo.dbn.zst`, as Databento sent it); unset: downloads stream into the decoder and nothing is written to disk'],
  BOOKTAPE_DATABENTO_DATASET: ['Databento', 'dataset of the schedule and of `backfill`, e.g. `GLBX.MDP3`'],
  BOOKTAPE_DATABENTO_SYMBOLS: ['Databento', 'symbols of the schedule and of `backfill`, comma-separated'],
  BOOKTAPE_DATABENTO_STYPE_IN: ['Databento', 'their symbology: `raw_symbol`, `parent` (`ES.FUT`), `continuous` (`ES.c.0`) or `instrument_id`'],
  BOOKTAPE_DATABENTO_CRON: ['Databento', 'schedule cron pattern (UTC), e.g. `0 2 * * 2-6`; starts the schedule in `booktape worker`'],
  BOOKTAPE_DATABENTO_DAYS: ['Databento', 'each scheduled run queues the last N whole UTC days not yet ingested (1: yesterday)'],
  BOOKTAPE_DEPTH: ['Snapshots', 'levels per side in stored snapshots (1-50)'],
  BOOKTAPE_SNAPSHOT_EVERY: ['Snapshots', 'sample snapshots on a ts_recv interval (e.g. `100ms`); unset: one after every F_LAST'],
  BOOKTAPE_STORE_MBO: ['L3 (orders)', '`false` stores depth only: no MBO events (`mbo_events`) and no L3 checkpoints (`order_checkpoints`), so no orders lookups or MBO replay'],
  BOOKTAPE_CHECKPOINT_EVERY: ['L3 (orders)', 'a book\'s L3 checkpoint (its every order, in `order_checkpoints`) is taken at least this often in ts_recv while it has events: bounds the time range an orders lookup scans'],
  BOOKTAPE_CHECKPOINT_EVENTS: ['L3 (orders)', 'and after this many of its events (or as many as it has resting orders, if more): bounds the events an orders lookup replays'],
  BOOKTAPE_WRITE_BATCH_ROWS: ['Snapshots', `snapshot rows per store write (~0.5 KB each at depth 10 until written); unset: ${DEFAULT_WRITE_BATCH_ROWS} with DuckDB, ${QUESTDB_WRITE_BATCH_ROWS} with QuestDB (fewer, larger WAL transactions)`],
  BOOKTAPE_ENGINE_HEAP_MB: ['Snapshots', 'heap limit (MB) of each ingest\'s engine thread; a file whose books outgrow it fails as `ENGINE_CRASHED`; unset: Node\'s default'],
  PORT: ['API', 'HTTP port of `booktape serve`'],
  BOOKTAPE_TCP_PORT: ['API', 'TCP replay port'],
  BOOKTAPE_WRITE_TOKEN: ['API', 'token for `POST /v1/ingest` and Bull Board (16+ characters); unset: writes are off'],
  BOOKTAPE_READ_TOKEN: ['API', 'token for every read, HTTP and TCP; unset: reads are open'],
  BOOKTAPE_MAX_STREAMS: ['API', 'replays and exports open at once (HTTP and TCP together); past it, 503 `TOO_MANY_STREAMS`'],
  LOG_LEVEL: ['API', 'pino log level; logs are JSON lines on stderr'],
};

/** Each setting's default, as its text in the environment; undefined: none. */
export function settingDefaults(): Record<string, string | undefined> {
  const parsed = Env.parse({}) as Record<string, unknown>;
  return Object.fromEntries(Object.keys(Env.shape).map((k) => {
    const v = parsed[k];
    return [k, v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v)];
  }));
}

export interface Config {
  store: 'duckdb' | 'questdb';
  duckdbPath: string;
  /** DuckDB's memory_limit: bounds the embedded store's memory. */
  duckdbMemory: string;
  /** Blocks of stored rows the DuckDB store keeps for "the book at T" lookups, in MB (estimated). */
  duckdbBookCacheMb: number;
  /** ILP-over-HTTP client configuration; DDL and small reads use the same HTTP endpoint's /exec, rows the PostgreSQL wire. */
  questdbConf: string | undefined;
  /** Deadline of each QuestDB query once sent; queued ones wait up to 6x this. */
  storeTimeoutMs: number;
  /** Concurrent QuestDB queries; more wait their turn. */
  questdbReadConnections: number;
  /** QuestDB's TTL for snapshots and trades, in days (0: keep all); undefined: as the tables have it. */
  questdbTtlDays: number | undefined;
  /** QuestDB's PostgreSQL-wire address, host:port (rows are read through it); undefined: the HTTP host, port 8812. */
  questdbPgAddr: string | undefined;
  /** Bytes per ILP request to QuestDB: each is one WAL transaction. */
  questdbRequestBytes: number;
  /** A flush fails once QuestDB has applied nothing of its WAL for this long. */
  questdbWalStallMs: number;
  redisUrl: string;
  queuePrefix: string;
  dataRoots: string[];
  /** How much of a local source is checked before it is queued (see EnqueuePolicy). */
  sourceCheck: 'file' | 'path';
  url: { allowHosts: string[]; maxBytes: number; timeoutMs: number; maxRedirects: number };
  depth: number;
  /** 0: a snapshot after every F_LAST. */
  snapshotEveryNs: number;
  /** Store every MBO record and L3 checkpoints (CheckpointPolicy). */
  storeMbo: boolean;
  checkpointEveryNs: number;
  checkpointEvents: number;
  /** Snapshot rows per store write: each write has a fixed cost, each row ~0.5 KB of memory at depth 10. */
  writeBatchRows: number;
  /** Heap limit of each ingest's engine thread, in MB; unset: Node's default. */
  engineHeapMb: number | undefined;
  workerConcurrency: number;
  jobAttempts: number;
  /** First retry delay; doubles per attempt. */
  jobBackoffMs: number;
  /** A job whose worker stops renewing its lock for this long is handed to another worker. */
  jobLockMs: number;
  /** After SIGTERM/SIGINT, the longest a command takes to stop (then it exits 1 regardless of Redis or the store). */
  shutdownMs: number;
  inbox: string;
  scanEveryMs: number | undefined;
  scanCron: string | undefined;
  scanUrls: string[];
  databento: DatabentoConfig;
  port: number;
  tcpPort: number;
  /** Where `booktape worker` serves GET /metrics; unset: it serves none. */
  metricsPort: number | undefined;
  writeToken: string | undefined;
  readToken: string | undefined;
  /** Replays (HTTP and TCP) and exports streaming at once; past it they are refused (TOO_MANY_STREAMS). */
  maxStreams: number;
  logLevel: string;
}

export interface DatabentoConfig {
  /** DATABENTO_API_KEY: goes to the API's base only; never logged, printed or queued. */
  apiKey: string | undefined;
  baseUrl: string;
  maxCostUsd: number;
  /** Where to keep a copy of each download; unset: none. */
  keepDir: string | undefined;
  /** What the schedule and `backfill` ask for by default; null without a dataset and symbols. */
  request: { dataset: string; symbols: string[]; stype_in: StypeIn } | null;
  /** The schedule's cron pattern; unset: no schedule. */
  cron: string | undefined;
  /** The schedule's date rule: the last N whole UTC days. */
  days: number;
}

/** A setting is missing or wrong: the operator fixes the environment. */
export class ConfigError extends BooktapeError {
  constructor(message: string) {
    super('BAD_CONFIG', 'invalid', message);
  }
}

/**
 * How often a long CLI command prints a progress line when stderr is not a
 * terminal (BOOKTAPE_PROGRESS_MS). Read alone: the file commands (decode,
 * book, mbp, synth) need no other setting, and must not fail on one.
 */
export function progressEveryMs(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = Env.shape.BOOKTAPE_PROGRESS_MS.safeParse(env.BOOKTAPE_PROGRESS_MS);
  if (!parsed.success) throw new ConfigError(`invalid configuration: BOOKTAPE_PROGRESS_MS: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const every = e.BOOKTAPE_SNAPSHOT_EVERY ? duration('BOOKTAPE_SNAPSHOT_EVERY').safeParse(e.BOOKTAPE_SNAPSHOT_EVERY) : null;
  if (every && !every.success) throw new ConfigError(`invalid configuration: ${every.error.issues[0].message}`);
  const checkpointEvery = duration('BOOKTAPE_CHECKPOINT_EVERY').safeParse(e.BOOKTAPE_CHECKPOINT_EVERY);
  if (!checkpointEvery.success) throw new ConfigError(`invalid configuration: ${checkpointEvery.error.issues[0].message}`);
  const scan = e.BOOKTAPE_SCAN_EVERY ? duration('BOOKTAPE_SCAN_EVERY').safeParse(e.BOOKTAPE_SCAN_EVERY) : null;
  if (scan && !scan.success) throw new ConfigError(`invalid configuration: ${scan.error.issues[0].message}`);
  // Scanned URLs are fetched by workers under the same allow-list: refuse at start what they would refuse.
  for (const url of e.BOOKTAPE_SCAN_URLS) {
    try {
      if (!isUrl(url)) throw new Error(`${url} is not an http(s) URL or a databento: request`);
      refuseDisallowedUrl(url, { allowHosts: e.BOOKTAPE_URL_ALLOW_HOSTS });
    } catch (err) {
      throw new ConfigError(`invalid configuration: BOOKTAPE_SCAN_URLS: ${(err as Error).message}`);
    }
  }
  const databento = databentoConfig(e);
  const store = e.BOOKTAPE_STORE ?? (e.QDB_CLIENT_CONF ? 'questdb' : 'duckdb');
  if (store === 'questdb' && !e.QDB_CLIENT_CONF) {
    throw new ConfigError('invalid configuration: BOOKTAPE_STORE=questdb needs QDB_CLIENT_CONF (for example "http::addr=localhost:9000;")');
  }
  return {
    store,
    duckdbPath: e.BOOKTAPE_DUCKDB_PATH,
    duckdbMemory: e.BOOKTAPE_DUCKDB_MEMORY,
    duckdbBookCacheMb: e.BOOKTAPE_DUCKDB_BOOK_CACHE_MB,
    questdbConf: e.QDB_CLIENT_CONF,
    storeTimeoutMs: e.BOOKTAPE_STORE_TIMEOUT_MS,
    questdbReadConnections: e.BOOKTAPE_QDB_READ_CONNECTIONS,
    questdbPgAddr: e.BOOKTAPE_QDB_PG_ADDR,
    questdbTtlDays: e.BOOKTAPE_QDB_TTL_DAYS,
    questdbRequestBytes: e.BOOKTAPE_QDB_REQUEST_MB * 2 ** 20,
    questdbWalStallMs: e.BOOKTAPE_QDB_WAL_STALL_MS,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.BOOKTAPE_QUEUE_PREFIX,
    dataRoots: e.BOOKTAPE_DATA_ROOTS,
    sourceCheck: e.BOOKTAPE_SOURCE_CHECK,
    url: {
      allowHosts: e.BOOKTAPE_URL_ALLOW_HOSTS,
      maxBytes: e.BOOKTAPE_URL_MAX_BYTES,
      timeoutMs: e.BOOKTAPE_URL_TIMEOUT_MS,
      maxRedirects: e.BOOKTAPE_URL_MAX_REDIRECTS,
    },
    depth: e.BOOKTAPE_DEPTH,
    snapshotEveryNs: every?.success ? every.data : 0,
    storeMbo: e.BOOKTAPE_STORE_MBO === 'true',
    checkpointEveryNs: checkpointEvery.data,
    checkpointEvents: e.BOOKTAPE_CHECKPOINT_EVENTS,
    writeBatchRows: e.BOOKTAPE_WRITE_BATCH_ROWS ?? (store === 'questdb' ? QUESTDB_WRITE_BATCH_ROWS : DEFAULT_WRITE_BATCH_ROWS),
    engineHeapMb: e.BOOKTAPE_ENGINE_HEAP_MB,
    workerConcurrency: e.BOOKTAPE_WORKER_CONCURRENCY,
    jobAttempts: e.BOOKTAPE_JOB_ATTEMPTS,
    jobBackoffMs: e.BOOKTAPE_JOB_BACKOFF_MS,
    jobLockMs: e.BOOKTAPE_JOB_LOCK_MS,
    shutdownMs: e.BOOKTAPE_SHUTDOWN_MS,
    inbox: e.BOOKTAPE_INBOX,
    scanEveryMs: scan?.success ? scan.data / 1e6 : undefined,
    scanCron: e.BOOKTAPE_SCAN_CRON,
    scanUrls: e.BOOKTAPE_SCAN_URLS,
    databento,
    port: e.PORT,
    tcpPort: e.BOOKTAPE_TCP_PORT,
    metricsPort: e.BOOKTAPE_METRICS_PORT,
    writeToken: e.BOOKTAPE_WRITE_TOKEN,
    readToken: e.BOOKTAPE_READ_TOKEN,
    maxStreams: e.BOOKTAPE_MAX_STREAMS,
    logLevel: e.LOG_LEVEL,
  };
}

/**
 * The Databento settings, checked as the worker would use them: a base URL
 * without credentials (the key goes in a header, to that base only), a
 * schedule's request valid as Databento takes it, and a key where a schedule
 * runs.
 */
function databentoConfig(e: z.output<typeof Env>): DatabentoConfig {
  let base: URL;
  try {
    base = new URL(e.BOOKTAPE_DATABENTO_URL);
  } catch {
    throw new ConfigError(`invalid configuration: BOOKTAPE_DATABENTO_URL: ${e.BOOKTAPE_DATABENTO_URL} is not a URL`);
  }
  if ((base.protocol !== 'https:' && base.protocol !== 'http:') || base.username || base.password) {
    throw new ConfigError('invalid configuration: BOOKTAPE_DATABENTO_URL must be an http(s) URL without credentials (the key is DATABENTO_API_KEY)');
  }
  const named = e.BOOKTAPE_DATABENTO_DATASET !== undefined || e.BOOKTAPE_DATABENTO_SYMBOLS.length > 0;
  const request = named ? { dataset: e.BOOKTAPE_DATABENTO_DATASET ?? '', symbols: e.BOOKTAPE_DATABENTO_SYMBOLS, stype_in: e.BOOKTAPE_DATABENTO_STYPE_IN } : null;
  if (request !== null) {
    try {
      databentoRequest({ ...request, start: '2024-01-01', end: '2024-01-02' });
    } catch (err) {
      const setting = (err as DatabentoRequestError).field?.startsWith('symbols') ? 'BOOKTAPE_DATABENTO_SYMBOLS' : 'BOOKTAPE_DATABENTO_DATASET';
      throw new ConfigError(`invalid configuration: ${setting}: ${(err as Error).message}`);
    }
  }
  if (e.BOOKTAPE_DATABENTO_CRON !== undefined) {
    if (request === null) throw new ConfigError('invalid configuration: BOOKTAPE_DATABENTO_CRON needs BOOKTAPE_DATABENTO_DATASET and BOOKTAPE_DATABENTO_SYMBOLS: what to fetch');
    if (e.DATABENTO_API_KEY === undefined) throw new ConfigError('invalid configuration: BOOKTAPE_DATABENTO_CRON needs DATABENTO_API_KEY: the schedule downloads');
  }
  return {
    apiKey: e.DATABENTO_API_KEY,
    baseUrl: base.toString(),
    maxCostUsd: e.BOOKTAPE_DATABENTO_MAX_COST_USD,
    keepDir: e.BOOKTAPE_DATABENTO_KEEP_DIR,
    request,
    cron: e.BOOKTAPE_DATABENTO_CRON,
    days: e.BOOKTAPE_DATABENTO_DAYS,
  };
}
