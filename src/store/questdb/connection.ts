import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { SenderOptions } from '@questdb/nodejs-client';
import { Agent } from 'undici';
import { SILENT_LOG, StoreError, type StoreLog } from '../port.js';
import type { PgOptions } from './pg-wire.js';

/** How the adapter talks to one QuestDB: bounds and deadlines (see docs/questdb.md). */
export interface QuestDbLimits {
  /** Concurrent /exec requests; more wait their turn (a queue, not a failure). */
  readConnections: number;
  /** Each query's deadline once sent; past it the call fails STORE_UNAVAILABLE. A queued query waits up to 6x this, then STORE_BUSY. */
  timeoutMs: number;
  /** How long a write is retried through an outage (the client's retry_timeout) unless QDB_CLIENT_CONF sets one. */
  retryTimeoutMs: number;
  /** The PostgreSQL-wire address rows are read through, host:port; undefined: the HTTP host, port 8812. */
  pgAddr?: string;
  /** Days of snapshots and trades to keep (QuestDB's TTL, set at init; 0 keeps all); undefined leaves the tables' TTL as it is. */
  ttlDays?: number;
  /** Bytes per ILP request: a batch goes as requests of about this size, each one transaction. */
  requestBytes: number;
  /** A flush fails once QuestDB has applied nothing of its WAL for this long (see wal.ts). */
  walStallMs: number;
}

/** Bytes per ILP request by default (BOOKTAPE_QDB_REQUEST_MB): a write batch of QUESTDB_WRITE_BATCH_ROWS in one WAL transaction. */
export const DEFAULT_REQUEST_BYTES = 64 << 20;

export const DEFAULT_LIMITS: QuestDbLimits = {
  readConnections: 16, timeoutMs: 10_000, retryTimeoutMs: 60_000, requestBytes: DEFAULT_REQUEST_BYTES, walStallMs: 300_000,
};

/** How many deadlines a query may wait in the queue before it is refused STORE_BUSY. */
export const QUEUE_WAITS = 6;

/** QuestDB's PostgreSQL-wire port, where QDB_CLIENT_CONF's host serves it unless pgAddr says otherwise. */
export const PG_PORT = 8812;

export interface ExecResult {
  columns: Array<{ name: string; type: string }>;
  dataset: unknown[][];
  count?: number;
}

/** QDB_CLIENT_CONF parsed by the official client: the address, credentials and TLS settings for reads too. */
export function parseConf(conf: string): SenderOptions {
  if (!/^https?::/.test(conf.trim())) {
    throw new StoreError('STORE_UNAVAILABLE', `QDB_CLIENT_CONF must use http:: or https:: (ILP over HTTP), got "${conf.replace(/(password|token)=[^;]*/g, '$1=***')}"`);
  }
  try {
    return new SenderOptions(conf.trim());
  } catch (err) {
    throw new StoreError('STORE_UNAVAILABLE', `QDB_CLIENT_CONF is invalid: ${(err as Error).message}`);
  }
}

/** The origin and Authorization header that /exec needs. */
export function execEndpoint(conf: string): { base: string; headers: Record<string, string> } {
  const o = parseConf(conf);
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  else if (o.username && o.password) headers.authorization = `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
  return { base: `${o.protocol}://${o.host}:${o.port ?? 9000}`, headers };
}

/**
 * Where and as whom rows are read over the PostgreSQL wire: QDB_CLIENT_CONF's
 * user and password (QuestDB's pg.user and pg.password, set to the same as
 * http.user and http.password) and TLS settings, at its host on port 8812
 * unless `pgAddr` names another.
 */
export function pgOptions(conf: string, pgAddr: string | undefined, connectTimeoutMs: number): PgOptions {
  const o = parseConf(conf);
  if (!o.username || !o.password) {
    if (o.token) throw new StoreError('STORE_UNAVAILABLE', 'QDB_CLIENT_CONF has a token but no username and password: booktape reads rows over QuestDB\'s PostgreSQL wire, which takes a user and password');
  }
  const [host, port] = pgAddr === undefined ? [o.host ?? 'localhost', PG_PORT] : [pgAddr.slice(0, pgAddr.lastIndexOf(':')), Number(pgAddr.slice(pgAddr.lastIndexOf(':') + 1))];
  return {
    host, port, connectTimeoutMs,
    // QuestDB's own defaults when QDB_CLIENT_CONF names no user.
    user: o.username ?? 'admin',
    password: o.password ?? 'quest',
    tls: o.protocol === 'https' ? { ca: o.tls_ca ? readFileSync(o.tls_ca) : undefined, rejectUnauthorized: o.tls_verify !== false } : undefined,
  };
}

/** Statuses that mean "not now" rather than "not these rows" (the official client retries the same). */
const RETRIED_STATUS = new Set([500, 503, 504, 507, 509, 523, 524, 529, 599]);

/** Backoff between write attempts through an outage: doubling from the first to the last. */
const FIRST_PAUSE_MS = 10;
const LAST_PAUSE_MS = 1_000;

const BODY_SLICE_BYTES = 256 << 10;

function* slices(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += BODY_SLICE_BYTES) yield bytes.subarray(at, at + BODY_SLICE_BYTES);
}

/**
 * Why QuestDB did not take a request, in the terms an operator acts on: a
 * refused connection is a server that is not running (or not there); no
 * answer is a server that is up but overloaded, stopped or hung; a dropped
 * connection is one that restarted or crashed.
 */
export interface Outage {
  cause: 'refused' | 'no-answer' | 'dropped' | 'unreachable' | 'server-error';
  /** Completes "QuestDB at <address> ...". */
  detail: string;
}

/** A request's failure as an Outage, or null when it is no outage (a bug, a TLS or configuration error). */
export function outageOf(err: unknown, waitedMs: number): Outage | null {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  switch (code) {
    case 'ECONNREFUSED':
      return { cause: 'refused', detail: 'refused the connection (ECONNREFUSED): the server is down, or not listening at that address' };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { cause: 'no-answer', detail: `did not answer within ${waitedMs} ms (${code}): the server is up but overloaded, stopped or hung` };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { cause: 'dropped', detail: `closed the connection mid-request (${code}): the server restarted or crashed` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return { cause: 'unreachable', detail: `could not be reached (${code}): check the host name, DNS and the network` };
    default:
      return null;
  }
}

/**
 * Turns a run of failed write attempts into one warn line when QuestDB
 * stops taking writes (and one if the reason changes), and one when it
 * takes them again, with how long it did not: an outage that writes ride
 * out still shows in the log.
 */
class WriteOutage {
  /** When writes stopped landing; null while they land. */
  since: number | null = null;
  /** The last failed attempt's outage, and when it ended. */
  last: Outage | null = null;
  lastAt = 0;
  private cause: Outage['cause'] | null = null;

  constructor(private readonly log: StoreLog, private readonly base: string, private readonly retryMs: number) {}

  /** The outage a write should fail with at once: past retry_timeout, with an attempt failed just now (the writes queued behind it). */
  spent(): Outage | null {
    const now = Date.now();
    return this.since !== null && now - this.since > this.retryMs && now - this.lastAt < LAST_PAUSE_MS ? this.last : null;
  }

  down(o: Outage): void {
    this.last = o;
    this.lastAt = Date.now();
    if (this.cause === o.cause) return;
    const first = this.since === null;
    this.since ??= Date.now();
    this.cause = o.cause;
    this.log.warn(
      { questdb: this.base, cause: o.cause, err: `QuestDB at ${this.base} ${o.detail}`, retry_timeout_ms: this.retryMs },
      first ? 'QuestDB does not take writes; retrying' : 'QuestDB still does not take writes, for another reason; retrying',
    );
  }

  up(): void {
    if (this.since === null) return;
    this.log.warn({ questdb: this.base, cause: this.cause, down_ms: Date.now() - this.since }, 'QuestDB takes writes again');
    this.since = null;
    this.cause = null;
    this.last = null;
  }
}

/**
 * The HTTP side of a QuestDB store: ILP writes over one keep-alive
 * connection, retried through outages for retry_timeout, and /exec reads
 * through a bounded pool of keep-alive connections, every call under a
 * deadline. QDB_CLIENT_CONF is read by the official client (address,
 * credentials, TLS, timeouts).
 */
export class QuestDbConnection {
  readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly options: SenderOptions;
  private readAgent: Agent;
  private writeAgent: Agent;
  private readonly outage: WriteOutage;
  /** Queries running, and those waiting for one to finish. */
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  /** How long writes (and the wait for the WAL) ride out an outage: QDB_CLIENT_CONF's retry_timeout, else limits.retryTimeoutMs. */
  get retryTimeoutMs(): number {
    return this.options.retry_timeout ?? 0;
  }

  constructor(conf: string, readonly limits: QuestDbLimits = DEFAULT_LIMITS, log: StoreLog = SILENT_LOG) {
    this.options = parseConf(conf);
    if (this.options.retry_timeout === undefined) this.options.retry_timeout = limits.retryTimeoutMs;
    ({ base: this.base, headers: this.headers } = execEndpoint(conf));
    this.readAgent = this.agent(limits.readConnections);
    this.writeAgent = this.agent(1);
    this.outage = new WriteOutage(log, this.base, this.options.retry_timeout);
  }

  private agent(connections: number): Agent {
    const tls = this.options.protocol === 'https'
      ? { ca: this.options.tls_ca ? readFileSync(this.options.tls_ca) : undefined, rejectUnauthorized: this.options.tls_verify !== false }
      : {};
    return new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { keepAlive: true, ...tls } });
  }

  /**
   * Drops the write connection and opens a new one for the next write.
   * QuestDB answers 204 to, then discards, the first ILP write on a kept-alive
   * connection after that connection's table was dropped and recreated: after
   * DDL the writer starts afresh.
   */
  async renewWriter(abandon = false): Promise<void> {
    const old = this.writeAgent;
    this.writeAgent = this.agent(1);
    await (abandon ? old.destroy() : old.close()).catch(() => undefined);
  }

  /**
   * Sends ILP bytes (protocol version 2): one request, one transaction. An
   * outage (a refused or dropped connection, no answer within
   * request_timeout, a 5xx) is retried with a backoff for retry_timeout
   * (DEDUP makes a request sent twice harmless), and logged once when it
   * starts and once when writes land again. Past retry_timeout the write
   * fails STORE_UNAVAILABLE saying which it was. retry_timeout counts from
   * the outage's start: a write queued behind one that failed fails with
   * it, and a later one tries once. A 4xx is QuestDB refusing the rows:
   * STORE_WRITE_FAILED at once.
   */
  async write(bytes: Buffer): Promise<void> {
    const retryMs = this.retryTimeoutMs;
    const started = this.outage.since ?? Date.now();
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LAST_PAUSE_MS)) {
      const spent = this.outage.spent();
      const outage = spent ?? await this.post(bytes);
      if (outage === null) {
        this.outage.up();
        return;
      }
      this.outage.down(outage);
      if (Date.now() - started + pause > retryMs) {
        throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.base} ${outage.detail}; the write was retried for retry_timeout=${retryMs} ms`);
      }
      await new Promise((res) => setTimeout(res, pause + Math.random() * pause * 0.2));
    }
  }

  /**
   * One POST of ILP bytes: null once QuestDB took them, else the outage that
   * kept it from them. The body goes in slices, so request_timeout counts
   * from the last slice the server took: a server still reading a large
   * request (slowly, under load) is not cut off as one that stopped.
   */
  private async post(bytes: Buffer): Promise<Outage | null> {
    const waitMs = this.options.request_timeout ?? 10_000;
    let status: number;
    let text: string;
    try {
      const res = await this.writeAgent.request({
        origin: this.base, method: 'POST', path: '/write?precision=n', headers: { ...this.headers, 'content-length': String(bytes.length) },
        body: Readable.from(slices(bytes), { objectMode: false }), headersTimeout: waitMs, bodyTimeout: waitMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const outage = outageOf(err, waitMs);
      if (outage === null) throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.base} could not be written to: ${(err as Error).message}`);
      return outage;
    }
    if (status >= 200 && status < 300) return null;
    if (RETRIED_STATUS.has(status)) return { cause: 'server-error', detail: `answered HTTP ${status}: ${text.slice(0, 300)}` };
    throw new StoreError('STORE_WRITE_FAILED', `QuestDB rejected a write (HTTP ${status}): ${text.slice(0, 500)}`);
  }

  /**
   * Waits for one of the readConnections slots: queued calls are answered in
   * turn, and one that waits longer than QUEUE_WAITS deadlines is refused
   * STORE_BUSY (the server is up but this process asks more than it answers).
   */
  private async slot(signal?: AbortSignal): Promise<() => void> {
    const release = () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    };
    if (this.busy < this.limits.readConnections) {
      this.busy++;
      return release;
    }
    return new Promise((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer);
        if (signal?.aborted) {
          release();
          reject(new StoreError('STORE_UNAVAILABLE', 'the read was cancelled'));
        } else resolve(release);
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(turn), 1);
        reject(new StoreError('STORE_BUSY', `QuestDB queries queued for over ${QUEUE_WAITS * this.limits.timeoutMs} ms behind ${this.limits.readConnections} running: too many at once`));
      }, QUEUE_WAITS * this.limits.timeoutMs);
      this.waiting.push(turn);
    });
  }

  /** Runs one SQL statement through /exec: in turn among readConnections, then under the store's deadline. */
  async exec(sql: string, signal?: AbortSignal): Promise<ExecResult> {
    const release = await this.slot(signal);
    try {
      return await this.request(sql, signal);
    } finally {
      release();
    }
  }

  private async request(sql: string, signal?: AbortSignal): Promise<ExecResult> {
    const deadline = AbortSignal.timeout(this.limits.timeoutMs);
    const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
    let status: number;
    let text: string;
    try {
      const res = await this.readAgent.request({
        origin: this.base, method: 'GET', path: `/exec?query=${encodeURIComponent(sql)}`, headers: this.headers, signal: abort,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      if (deadline.aborted) throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.base} did not answer within ${this.limits.timeoutMs} ms: the server is up but overloaded, stopped or hung`);
      if (signal?.aborted) throw new StoreError('STORE_UNAVAILABLE', 'the read was cancelled');
      const outage = outageOf(err, this.limits.timeoutMs);
      throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.base} ${outage?.detail ?? `did not answer: ${(err as Error).message}`}`);
    }
    let body: ExecResult & { error?: string };
    try {
      body = JSON.parse(text) as ExecResult & { error?: string };
    } catch {
      throw new StoreError(status >= 500 ? 'STORE_UNAVAILABLE' : 'STORE_READ_FAILED', `QuestDB answered HTTP ${status} with no JSON: ${text.slice(0, 200)}`);
    }
    if (status >= 500) throw new StoreError('STORE_UNAVAILABLE', `QuestDB failed a query (HTTP ${status}): ${body.error ?? text.slice(0, 200)}`);
    if (status !== 200 || body.error) throw new StoreError('STORE_READ_FAILED', `QuestDB rejected a query: ${body.error ?? status}`);
    return body;
  }

  async close(): Promise<void> {
    await Promise.all([this.readAgent.close(), this.writeAgent.close()]);
  }
}
