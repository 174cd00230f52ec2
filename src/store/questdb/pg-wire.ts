import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { serialize } from 'pg-protocol';

/**
 * The read side of QuestDB's PostgreSQL wire protocol, results in binary.
 *
 * Hand-written because the library cannot carry this load: `pg` decodes
 * every binary field as UTF-8 text before handing it on (pg-protocol's
 * DataRow parser), which corrupts doubles, and its text results make every
 * level array a string to parse again. Outgoing messages are pg-protocol's
 * own serializer; what is hand-written is the framing of the server's
 * messages and the reading of DataRow fields in place, with no copy or
 * object per field (test/store/pg-wire.test.ts checks it against `pg`'s
 * text results on the same rows).
 */

export interface PgOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** QuestDB ignores it; a PostgreSQL server (the wire tests' reference) needs one that exists. */
  database?: string;
  /** TLS (SSLRequest first), as the HTTP side uses when QDB_CLIENT_CONF is https. */
  tls?: { ca?: Buffer; rejectUnauthorized: boolean };
  connectTimeoutMs: number;
}

/** What went wrong, for the store to map: the server refused a statement, or could not be reached or authenticated against. */
export class PgError extends Error {
  constructor(readonly kind: 'rejected' | 'unavailable' | 'timeout' | 'cancelled', message: string, readonly sqlState?: string) {
    super(message);
  }
}

const MAX_FIELDS = 64;

const ONE_CHAR = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c));

/**
 * One DataRow message's fields, read where they lie in the received bytes.
 * Numbers are read through a DataView (big-endian, the wire's order): its
 * loads compile to single machine loads, where Buffer's readDoubleBE copies
 * byte by byte.
 */
export class DataRow {
  buf: Buffer = Buffer.alloc(0);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, 0);
  count = 0;
  private readonly at = new Int32Array(MAX_FIELDS);
  private readonly len = new Int32Array(MAX_FIELDS);

  /** Points at the DataRow whose body (after type and length) starts at `start`. */
  load(buf: Buffer, start: number): void {
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const v = this.view;
    const n = v.getInt16(start);
    if (n > MAX_FIELDS) throw new PgError('rejected', `a row of ${n} fields: at most ${MAX_FIELDS} are read`);
    this.count = n;
    let p = start + 2;
    for (let i = 0; i < n; i++) {
      const len = v.getInt32(p);
      p += 4;
      this.at[i] = p;
      this.len[i] = len;
      if (len > 0) p += len;
    }
  }

  isNull(i: number): boolean { return this.len[i] < 0; }
  int16(i: number): number { return this.view.getInt16(this.at[i]); }
  int32(i: number): number { return this.view.getInt32(this.at[i]); }
  int64(i: number): bigint { return this.view.getBigInt64(this.at[i]); }
  /** An int8 as a number: exact below 2^53, the range of every count and sequence stored. */
  int64Number(i: number): number {
    const p = this.at[i];
    return this.view.getInt32(p) * 4294967296 + this.view.getUint32(p + 4);
  }
  float64(i: number): number { return this.view.getFloat64(this.at[i]); }
  bool(i: number): boolean { return this.buf[this.at[i]] !== 0; }
  text(i: number): string {
    // One-character fields (an action, a side) are most of the text read: no decoder call for them.
    if (this.len[i] === 1 && this.buf[this.at[i]] < 0x80) return ONE_CHAR[this.buf[this.at[i]]];
    return this.buf.toString('utf8', this.at[i], this.at[i] + this.len[i]);
  }
  /** The field's raw bytes' offset and length in `buf`. */
  offset(i: number): number { return this.at[i]; }
  length(i: number): number { return this.len[i]; }

  /**
   * A binary float8 array (any number of dimensions), its elements row-major
   * into `into` (null elements as NaN). Returns its dimensions' lengths, or
   * null for a NULL field.
   */
  float64Array(i: number, into: Float64Array): number[] | null {
    if (this.len[i] < 0) return null;
    const v = this.view;
    let p = this.at[i];
    const ndim = v.getInt32(p);
    p += 12; // ndim, has-null flag, element type
    const dims: number[] = [];
    let n = ndim === 0 ? 0 : 1;
    for (let d = 0; d < ndim; d++, p += 8) {
      dims.push(v.getInt32(p));
      n *= dims[d];
    }
    if (n > into.length) throw new PgError('rejected', `an array of ${n} elements: at most ${into.length} are read`);
    for (let k = 0; k < n; k++) {
      const len = v.getInt32(p);
      p += 4;
      if (len < 0) into[k] = NaN;
      else {
        into[k] = v.getFloat64(p);
        p += len;
      }
    }
    return dims;
  }
}

/** What a query hands each row to, synchronously, as its bytes arrive. */
export type RowSink = (row: DataRow) => void;

interface Pending {
  sink: RowSink;
  rows: number;
  error: PgError | null;
  resolve: (rows: number) => void;
  reject: (err: PgError) => void;
}

/**
 * One connection: startup and password authentication, then one query at a
 * time (extended protocol: Parse, Bind with binary results, Execute, Sync).
 * A query's deadline or cancellation destroys the connection: the server
 * stops when it next writes, and the pool opens another.
 */
export class PgConnection {
  private pending: Pending | null = null;
  private rest: Buffer | null = null;
  private readonly row = new DataRow();
  private closedWith: PgError | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) => this.fail(new PgError('unavailable', err.message)));
    socket.on('close', () => this.fail(new PgError('unavailable', 'the connection closed')));
  }

  get usable(): boolean { return this.closedWith === null; }

  static async connect(o: PgOptions): Promise<PgConnection> {
    let socket = await openSocket(o);
    try {
      if (o.tls) socket = await upgradeToTls(socket, o);
      socket.setNoDelay(true);
      await authenticate(socket, o);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return new PgConnection(socket);
  }

  /**
   * Runs one statement; rows go to `sink` as they arrive. Resolves with the
   * row count once the server is ready again. `params` ($1, $2, ...) go as
   * text: a statement whose text does not change is compiled once by
   * QuestDB and then found in its cache.
   */
  query(sql: string, sink: RowSink, timeoutMs: number, signal?: AbortSignal, params: string[] = []): Promise<number> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.pending) return Promise.reject(new PgError('rejected', 'a query is already running on this connection'));
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => this.destroy(new PgError('timeout', `no answer within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => this.destroy(new PgError('cancelled', 'the read was cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending = {
        sink, rows: 0, error: null,
        resolve: (n) => { done(); resolve(n); },
        reject: (e) => { done(); reject(e); },
      };
      if (signal?.aborted) return onAbort();
      this.socket.write(Buffer.concat([
        serialize.parse({ text: sql }),
        serialize.bind({ binary: true, values: params }),
        serialize.execute({}),
        serialize.sync(),
      ]));
    });
  }

  destroy(why = new PgError('unavailable', 'the connection was closed')): void {
    this.fail(why);
    this.socket.destroy();
  }

  async close(): Promise<void> {
    if (this.closedWith === null && !this.socket.destroyed) this.socket.end(serialize.end());
    this.fail(new PgError('unavailable', 'the connection was closed'));
    this.socket.destroy();
  }

  private fail(err: PgError): void {
    this.closedWith ??= err;
    const p = this.pending;
    this.pending = null;
    p?.reject(p.error ?? err);
  }

  /** Frames messages out of the byte stream; a message cut across chunks waits for its rest. */
  private receive(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let p = 0;
    try {
      while (buf.length - p >= 5) {
        const len = buf.readInt32BE(p + 1);
        if (buf.length - p < len + 1) break;
        this.message(buf[p], buf, p + 5, p + 1 + len);
        p += len + 1;
      }
    } catch (err) {
      this.destroy(err instanceof PgError ? err : new PgError('rejected', `an unreadable message from the server: ${(err as Error).message}`));
      return;
    }
    if (p < buf.length) this.rest = buf.subarray(p);
  }

  private message(type: number, buf: Buffer, start: number, end: number): void {
    const q = this.pending;
    switch (type) {
      case 0x44: // D: DataRow
        if (q && q.error === null) {
          this.row.load(buf, start);
          q.rows++;
          try {
            q.sink(this.row);
          } catch (err) {
            q.error = err instanceof PgError ? err : new PgError('rejected', (err as Error).message);
          }
        }
        return;
      case 0x45: // E: ErrorResponse; the query ends at the ReadyForQuery that follows
        if (q) q.error ??= errorOf(buf, start, end);
        return;
      case 0x5a: // Z: ReadyForQuery
        if (q) {
          this.pending = null;
          if (q.error) q.reject(q.error);
          else q.resolve(q.rows);
        }
        return;
      default: // ParseComplete, BindComplete, CommandComplete, NoData, notices, parameter status
    }
  }
}

function errorOf(buf: Buffer, start: number, end: number): PgError {
  const fields: Record<string, string> = {};
  for (let p = start; p < end && buf[p] !== 0;) {
    const code = String.fromCharCode(buf[p]);
    const zero = buf.indexOf(0, p + 1);
    fields[code] = buf.toString('utf8', p + 1, zero);
    p = zero + 1;
  }
  return new PgError('rejected', fields.M ?? 'the server refused the statement', fields.C);
}

function openSocket(o: PgOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: o.host, port: o.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PgError('unavailable', `no connection to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`));
    }, o.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new PgError('unavailable', err.code === 'ECONNREFUSED' ? `connection refused by ${o.host}:${o.port} (is QuestDB's PostgreSQL port running?)` : err.message));
    });
  });
}

/** Reads whole messages from a socket until `handle` says it is done (before the connection's own reader takes over). */
function converse(socket: Socket, timeoutMs: number, handle: (type: number, body: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', finish);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onClose = () => finish(new PgError('unavailable', 'the server closed the connection during startup'));
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        while (buf.length >= 5) {
          const len = buf.readInt32BE(1);
          if (buf.length < len + 1) return;
          const type = buf[0];
          const body = buf.subarray(5, len + 1);
          buf = buf.subarray(len + 1);
          if (handle(type, body)) {
            if (buf.length > 0) socket.unshift(buf);
            return finish();
          }
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    const timer = setTimeout(() => finish(new PgError('unavailable', `no answer to startup within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.on('error', finish);
    socket.on('close', onClose);
  });
}

async function authenticate(socket: Socket, o: PgOptions): Promise<void> {
  socket.write(serialize.startup({ user: o.user, database: o.database ?? 'qdb', client_encoding: 'UTF8' }));
  await converse(socket, o.connectTimeoutMs, (type, body) => {
    if (type === 0x45) throw new PgError('unavailable', `QuestDB refused the connection: ${errorOf(body, 0, body.length).message}`);
    if (type === 0x52) { // R: authentication
      const method = body.readInt32BE(0);
      if (method === 3) socket.write(serialize.password(o.password));
      else if (method !== 0) throw new PgError('unavailable', `QuestDB asked for authentication method ${method}; booktape sends a password (method 3)`);
    }
    return type === 0x5a; // ReadyForQuery: logged in
  });
}

async function upgradeToTls(socket: Socket, o: PgOptions): Promise<Socket> {
  socket.write(serialize.requestSsl());
  const answer = await new Promise<number>((resolve, reject) => {
    socket.once('data', (b: Buffer) => resolve(b[0]));
    socket.once('error', reject);
  });
  if (answer !== 0x53) throw new PgError('unavailable', `QuestDB at ${o.host}:${o.port} does not take TLS on its PostgreSQL port`);
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername: o.host, ca: o.tls?.ca, rejectUnauthorized: o.tls?.rejectUnauthorized ?? true }, () => resolve(tls));
    tls.once('error', (err) => reject(new PgError('unavailable', `TLS to ${o.host}:${o.port}: ${err.message}`)));
  });
}
