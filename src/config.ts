import { z } from 'zod';
import { parseDuration } from './time.js';
import { BooktapeError } from './errors.js';
import { isUrl, refuseDisallowedUrl } from './url-policy.js';

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
  BOOKTAPE_QDB_REQUEST_MB: int(1).max(64).default(64),
  BOOKTAPE_QDB_WAL_STALL_MS: int(1_000).default(300_000),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  BOOKTAPE_QUEUE_PREFIX: z.string().default('booktape'),
  BOOKTAPE_DATA_ROOTS: list('./data,./var/inbox'),
  BOOKTAPE_URL_ALLOW_HOSTS: list(),
  BOOKTAPE_URL_MAX_BYTES: int(1).default(10 * 1024 ** 3),
  BOOKTAPE_URL_TIMEOUT_MS: int(1).default(30_000),
  BOOKTAPE_URL_MAX_REDIRECTS: int(0).default(3),
  BOOKTAPE_DEPTH: int(1).max(50).default(10),
  BOOKTAPE_SNAPSHOT_EVERY: z.string().optional(),
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
  BOOKTAPE_QDB_READ_CONNECTIONS: ['Store', 'QuestDB queries at once per process; more wait their turn'],
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
  BOOKTAPE_URL_ALLOW_HOSTS: ['Sources', 'hosts URL sources may name; empty: no URLs'],
  BOOKTAPE_URL_MAX_BYTES: ['Sources', 'size limit of a download'],
  BOOKTAPE_URL_TIMEOUT_MS: ['Sources', 'wait for headers, and the longest stall between chunks of a download'],
  BOOKTAPE_URL_MAX_REDIRECTS: ['Sources', 'redirects followed (each checked against the allow-list)'],
  BOOKTAPE_INBOX: ['Inbox scanner', 'directory the scanner watches'],
  BOOKTAPE_SCAN_EVERY: ['Inbox scanner', 'scan interval (e.g. `60s`); starts the scanner in `booktape worker`'],
  BOOKTAPE_SCAN_CRON: ['Inbox scanner', 'scan cron pattern, instead of an interval'],
  BOOKTAPE_SCAN_URLS: ['Inbox scanner', 'URLs the scanner queues too; each must be http(s) on an allowed host, or the process refuses to start'],
  BOOKTAPE_DEPTH: ['Snapshots', 'levels per side in stored snapshots (1-50)'],
  BOOKTAPE_SNAPSHOT_EVERY: ['Snapshots', 'sample snapshots on a ts_recv interval (e.g. `100ms`); unset: one after every F_LAST'],
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
  /** ILP-over-HTTP client configuration; reads and DDL use the same HTTP endpoint's /exec. */
  questdbConf: string | undefined;
  /** Deadline of each QuestDB query once sent; queued ones wait up to 6x this. */
  storeTimeoutMs: number;
  /** Concurrent QuestDB queries; more wait their turn. */
  questdbReadConnections: number;
  /** Bytes per ILP request to QuestDB: each is one WAL transaction. */
  questdbRequestBytes: number;
  /** A flush fails once QuestDB has applied nothing of its WAL for this long. */
  questdbWalStallMs: number;
  redisUrl: string;
  queuePrefix: string;
  dataRoots: string[];
  url: { allowHosts: string[]; maxBytes: number; timeoutMs: number; maxRedirects: number };
  depth: number;
  /** 0: a snapshot after every F_LAST. */
  snapshotEveryNs: number;
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
  const scan = e.BOOKTAPE_SCAN_EVERY ? duration('BOOKTAPE_SCAN_EVERY').safeParse(e.BOOKTAPE_SCAN_EVERY) : null;
  if (scan && !scan.success) throw new ConfigError(`invalid configuration: ${scan.error.issues[0].message}`);
  // Scanned URLs are fetched by workers under the same allow-list: refuse at start what they would refuse.
  for (const url of e.BOOKTAPE_SCAN_URLS) {
    try {
      if (!isUrl(url)) throw new Error(`${url} is not an http(s) URL`);
      refuseDisallowedUrl(url, { allowHosts: e.BOOKTAPE_URL_ALLOW_HOSTS });
    } catch (err) {
      throw new ConfigError(`invalid configuration: BOOKTAPE_SCAN_URLS: ${(err as Error).message}`);
    }
  }
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
    questdbRequestBytes: e.BOOKTAPE_QDB_REQUEST_MB * 2 ** 20,
    questdbWalStallMs: e.BOOKTAPE_QDB_WAL_STALL_MS,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.BOOKTAPE_QUEUE_PREFIX,
    dataRoots: e.BOOKTAPE_DATA_ROOTS,
    url: {
      allowHosts: e.BOOKTAPE_URL_ALLOW_HOSTS,
      maxBytes: e.BOOKTAPE_URL_MAX_BYTES,
      timeoutMs: e.BOOKTAPE_URL_TIMEOUT_MS,
      maxRedirects: e.BOOKTAPE_URL_MAX_REDIRECTS,
    },
    depth: e.BOOKTAPE_DEPTH,
    snapshotEveryNs: every?.success ? every.data : 0,
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
    port: e.PORT,
    tcpPort: e.BOOKTAPE_TCP_PORT,
    metricsPort: e.BOOKTAPE_METRICS_PORT,
    writeToken: e.BOOKTAPE_WRITE_TOKEN,
    readToken: e.BOOKTAPE_READ_TOKEN,
    maxStreams: e.BOOKTAPE_MAX_STREAMS,
    logLevel: e.LOG_LEVEL,
  };
}
