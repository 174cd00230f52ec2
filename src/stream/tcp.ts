import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import type { SnapshotStore } from '../store/port.js';
import { isUnavailable } from '../errors.js';
import { logFailure } from '../log.js';
import type { ReplayMetrics } from './metrics.js';
import { REPLAY_DEPTH, ReplayQuery } from './requests.js';
import { streamReplay } from './replay.js';
import { streamMboReplay } from './mbo-replay.js';
import { openDbnReplay, streamDbnReplay } from './dbn-replay.js';
import { InstrumentCatalog, requireMboStored } from './symbols.js';
import { BooktapeError, INTERNAL } from '../errors.js';
import type { ActiveReads } from './active-reads.js';
import { StreamSlots, TOO_MANY_STREAMS, tooManyStreamsDetail } from './stream-slots.js';
import { tokenMatches } from '../tokens.js';

/** The longest request line accepted: a request is a small JSON object. */
const MAX_REQUEST_BYTES = 16 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * After its last byte is queued, how long a connection is left to deliver it
 * before it is closed whatever the client does: a client that never closes
 * its side must not keep the descriptor.
 */
const LINGER_MS = 5_000;

export interface ReplayServerOptions {
  /** BOOKTAPE_READ_TOKEN: when set, a request must carry it as "token". */
  readToken?: string;
  /** Shared with the HTTP streams; default: unbounded. */
  slots?: StreamSlots;
  requestTimeoutMs?: number;
  /** What the store holds, to check requests against; shared with the HTTP routes. */
  catalog?: InstrumentCatalog;
}

/** The TCP replay server; dropConnections() closes every connection it holds, for a shutdown. */
export interface ReplayServer extends Server {
  dropConnections(): void;
}

/**
 * Replay over plain TCP: the client sends one JSON line with the same fields
 * as GET /v1/replay's query ({"symbols":"CLX5","rate":1000}), plus "token"
 * when the server has a read token, and receives the same NDJSON lines (or,
 * with "format":"dbn", the same DBN stream), then the server closes. So
 * `nc host port` works:
 *   echo '{"symbols":"CLX5"}' | nc localhost 7070
 * A half-close ends the request line, as a newline does. A refused request
 * gets one {"type":"error",status,code,detail} line (status: the HTTP
 * status the same refusal gets); so does an NDJSON replay the
 * store fails part-way, after its frames so far (a DBN one is cut: fewer
 * records than its metadata's limit).
 */
export function createReplayServer(
  store: SnapshotStore, metrics: ReplayMetrics, log: Logger, reads: ActiveReads, opts: ReplayServerOptions = {},
): ReplayServer {
  const requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const slots = opts.slots ?? new StreamSlots(Infinity);
  const catalog = opts.catalog ?? new InstrumentCatalog(store);
  const sockets = new Set<Socket>();
  // allowHalfOpen: `echo request | nc` closes its sending side at once; the
  // replay must still flow the other way.
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    sockets.add(socket);
    let buffered = '';
    let started = false;
    socket.setEncoding('utf8');
    const timer = setTimeout(() => fail(new BooktapeError('REQUEST_TIMEOUT', 'invalid', `send one JSON request line within ${requestTimeoutMs / 1000} s`)), requestTimeoutMs);
    const controller = new AbortController();
    socket.on('close', () => {
      clearTimeout(timer);
      sockets.delete(socket);
      controller.abort();
    });
    socket.on('error', () => controller.abort());

    /** Sends what is left, then closes both sides: at once once delivered, or after LINGER_MS regardless. */
    function finish(last?: string) {
      if (last === undefined) socket.end();
      else socket.end(last);
      const linger = setTimeout(() => socket.destroy(), LINGER_MS);
      linger.unref();
      socket.once('finish', () => {
        clearTimeout(linger);
        socket.destroy();
      });
    }
    /** One error line, as an HTTP answer's problem+json would say it (its status, code and detail), then close. */
    function fail(err: BooktapeError) {
      if (socket.writableEnded) return;
      started = true;
      clearTimeout(timer);
      finish(JSON.stringify({ type: 'error', status: err.traits.httpStatus, code: err.code, detail: err.message }) + '\n');
    }
    function onLine(line: string) {
      if (started) return;
      started = true;
      clearTimeout(timer);
      void serve(line).catch((err: unknown) => {
        logFailure(log, 'tcp replay failed', err);
        // Before the stream began (the symbols' check, a DBN replay's count): one error line says why.
        if (socket.destroyed) return;
        if (isUnavailable(err)) fail(err);
        else fail(new BooktapeError(INTERNAL, 'internal', 'an unexpected error stopped the replay; it has been logged'));
      });
    }
    socket.on('data', (chunk: string) => {
      if (started) return;
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl !== -1) return onLine(buffered.slice(0, nl));
      if (buffered.length > MAX_REQUEST_BYTES) fail(new BooktapeError('REQUEST_TOO_LARGE', 'too-large', `the request line exceeds ${MAX_REQUEST_BYTES} bytes`));
    });
    // A half-close ends the request line, as a newline would.
    socket.on('end', () => {
      if (started) return;
      if (buffered.trim() === '') fail(new BooktapeError('INVALID_JSON', 'invalid', 'the connection closed before a request line: send one JSON object and a newline'));
      else onLine(buffered);
    });

    async function serve(line: string) {
      const parsed = parseRequest(line, opts.readToken);
      if (parsed instanceof BooktapeError) return fail(parsed);
      let depth: number;
      try {
        ({ depth } = await catalog.scope({
          symbols: parsed.query.symbols, publisherId: parsed.query.publisher_id, depth: parsed.query.depth ?? REPLAY_DEPTH, depthGiven: parsed.query.depth !== undefined, symbolField: 'symbols',
        }));
        if (parsed.query.schema === 'mbo') await requireMboStored(store, parsed.query.symbols, parsed.query.publisher_id, 'symbols');
      } catch (err) {
        // The request's fault (an unknown symbol, publisher or depth): its code and why.
        if (err instanceof BooktapeError && (err.kind === 'invalid' || err.kind === 'not-found')) return fail(err);
        throw err;
      }
      const query = { ...parsed.query, depth, publisherId: parsed.query.publisher_id };
      if (socket.destroyed) return;
      const release = slots.take();
      if (release === null) return fail(new BooktapeError(TOO_MANY_STREAMS, 'unavailable', tooManyStreamsDetail(slots.max)));
      metrics.activeStreams.inc({ transport: 'tcp' });
      const onChunk = (frames: number, bytes: number) => {
        metrics.replayFrames.inc({ transport: 'tcp' }, frames);
        metrics.replayBytes.inc({ transport: 'tcp' }, bytes);
      };
      try {
        const range = { symbols: query.symbols, from: query.from, to: query.to, after: query.after, publisherId: query.publisherId };
        const mbo = query.schema === 'mbo';
        const counts = await reads.run(controller, async (signal) => query.format === 'dbn'
          ? streamDbnReplay(store, await openDbnReplay(store, range, mbo ? 'mbo' : query.depth === 1 ? 1 : 10), query, socket, signal, onChunk)
          : mbo ? streamMboReplay(store, query, socket, signal, onChunk) : streamReplay(store, query, socket, signal, onChunk));
        if (counts.failure !== undefined) logFailure(log, 'tcp replay failed', counts.failure, { frames: counts.frames });
        // A DBN stream that failed part-way is cut, not ended: the count tells.
        if (query.format === 'dbn' && counts.failure !== undefined) socket.destroy();
        else finish();
      } finally {
        release();
        metrics.activeStreams.dec({ transport: 'tcp' });
      }
    }
  });
  return Object.assign(server, {
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
  });
}

type Parsed = { query: ReplayQuery } | BooktapeError;
type ReplayQuery = ReturnType<typeof ReplayQuery.parse>;

/** A request line as a replay query, its token checked, or the error its line says. */
function parseRequest(line: string, readToken: string | undefined): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return new BooktapeError('INVALID_JSON', 'invalid', 'the request line is not a JSON object');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return new BooktapeError('INVALID_JSON', 'invalid', 'the request line is not a JSON object');
  const { token, ...fields } = raw as Record<string, unknown>;
  if (readToken !== undefined && !(typeof token === 'string' && tokenMatches(token, readToken))) {
    return new BooktapeError('UNAUTHORIZED', 'unauthorized', 'this server needs its read token: send it as "token" in the request line');
  }
  // Same parameters as the HTTP query string, so values are taken as text.
  const asQuery = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
  try {
    return { query: ReplayQuery.parse(asQuery) };
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    const issue = err.issues[0];
    const field = issue.path.join('.');
    return new BooktapeError('INVALID_PARAMETER', 'invalid', field ? `${field}: ${issue.message}` : issue.message);
  }
}
