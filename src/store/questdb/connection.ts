import { readFileSync } from 'node:fs';
import { SenderOptions, UndiciTransport } from '@questdb/nodejs-client';
import { Agent } from 'undici';
import { StoreError } from '../port.js';
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
}

export const DEFAULT_LIMITS: QuestDbLimits = { readConnections: 16, timeoutMs: 10_000, retryTimeoutMs: 60_000 };

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

/** A client error's status code from the official transport's message, or null for an outage (no answer, timeout, 5xx). */
export function rejectedStatus(err: unknown): number | null {
  const m = /statusCode=(\d+)/.exec(String((err as Error)?.message ?? err));
  const status = m === null ? null : Number(m[1]);
  return status !== null && status >= 400 && status < 500 ? status : null;
}

/**
 * The HTTP side of a QuestDB store: ILP writes through the official client's
 * transport (retries through outages for retry_timeout, authentication, TLS)
 * and /exec reads through a bounded pool of keep-alive connections, every
 * call under a deadline.
 */
export class QuestDbConnection {
  readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly options: SenderOptions;
  private readAgent: Agent;
  private writeAgent: Agent;
  private transport: UndiciTransport;
  /** Queries running, and those waiting for one to finish. */
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(conf: string, readonly limits: QuestDbLimits = DEFAULT_LIMITS) {
    this.options = parseConf(conf);
    // ILP v2 is what the encoder writes; the minimum server version (checked at init) accepts it.
    this.options.protocol_version = '2';
    if (this.options.retry_timeout === undefined) this.options.retry_timeout = limits.retryTimeoutMs;
    ({ base: this.base, headers: this.headers } = execEndpoint(conf));
    this.readAgent = this.agent(limits.readConnections);
    this.writeAgent = this.agent(1);
    this.transport = this.newTransport();
  }

  private agent(connections: number): Agent {
    const tls = this.options.protocol === 'https'
      ? { ca: this.options.tls_ca ? readFileSync(this.options.tls_ca) : undefined, rejectUnauthorized: this.options.tls_verify !== false }
      : {};
    return new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { keepAlive: true, ...tls } });
  }

  private newTransport(): UndiciTransport {
    return new UndiciTransport({ ...this.options, agent: this.writeAgent } as SenderOptions);
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
    this.transport = this.newTransport();
    await (abandon ? old.destroy() : old.close()).catch(() => undefined);
  }

  /**
   * Sends ILP bytes: one request, one transaction. Outages are retried for
   * retry_timeout; the client's retries do not end by themselves when the
   * connection is refused, so the request is cut off here once
   * retry_timeout and one request_timeout have passed.
   */
  async write(bytes: Buffer): Promise<void> {
    const limit = (this.options.retry_timeout ?? 0) + (this.options.request_timeout ?? 10_000);
    let timer: NodeJS.Timeout | undefined;
    const cutOff = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit);
    });
    const agent = this.writeAgent;
    try {
      await Promise.race([this.transport.send(bytes), cutOff]);
    } catch (err) {
      const status = rejectedStatus(err);
      const why = String((err as Error)?.message ?? err);
      if (status !== null) throw new StoreError('STORE_WRITE_FAILED', `QuestDB rejected a write (HTTP ${status}): ${why}`);
      // Whatever is still retrying on this connection stops with it.
      if (agent === this.writeAgent) await this.renewWriter(true);
      throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.base} did not take a write within retry_timeout=${this.options.retry_timeout} ms: ${why}`);
    } finally {
      clearTimeout(timer);
    }
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
      if (deadline.aborted) throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.base} did not answer within ${this.limits.timeoutMs} ms`);
      if (signal?.aborted) throw new StoreError('STORE_UNAVAILABLE', 'the read was cancelled');
      throw new StoreError('STORE_UNAVAILABLE', `QuestDB at ${this.base} did not answer: ${(err as Error).message}`);
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
