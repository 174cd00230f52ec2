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
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  BOOKTAPE_QUEUE_PREFIX: z.string().default('booktape'),
  BOOKTAPE_DATA_ROOTS: list('./data,./var/inbox'),
  BOOKTAPE_URL_ALLOW_HOSTS: list(),
  BOOKTAPE_URL_MAX_BYTES: int(1).default(10 * 1024 ** 3),
  BOOKTAPE_URL_TIMEOUT_MS: int(1).default(30_000),
  BOOKTAPE_URL_MAX_REDIRECTS: int(0).default(3),
  BOOKTAPE_DEPTH: int(1).max(50).default(10),
  BOOKTAPE_SNAPSHOT_EVERY: z.string().optional(),
  BOOKTAPE_WRITE_BATCH_ROWS: int(1).max(1_000_000).default(DEFAULT_WRITE_BATCH_ROWS),
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
    writeBatchRows: e.BOOKTAPE_WRITE_BATCH_ROWS,
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
