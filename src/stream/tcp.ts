import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import type { SnapshotStore } from '../store/port.js';
import type { ReplayMetrics } from './metrics.js';
import { ReplayQuery } from './requests.js';
import { streamReplay } from './replay.js';
import type { ActiveReads } from './active-reads.js';

/** The longest request line accepted: a request is a small JSON object. */
const MAX_REQUEST_BYTES = 16 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Replay over plain TCP: the client sends one JSON line with the same fields
 * as GET /v1/replay's query ({"symbols":"CLX5","rate":1000}) and receives the
 * same NDJSON lines, then the server closes. So `nc host port` works:
 *   echo '{"symbols":"CLX5"}' | nc localhost 7070
 * A bad request gets one {"type":"error",...} line; so does a replay the
 * store fails part-way, after its frames so far.
 */
export function createReplayServer(
  store: SnapshotStore, metrics: ReplayMetrics, log: Logger, reads: ActiveReads, requestTimeoutMs = REQUEST_TIMEOUT_MS,
): Server {
  // allowHalfOpen: `echo request | nc` closes its sending side at once; the
  // replay must still flow the other way.
  return createServer({ allowHalfOpen: true }, (socket: Socket) => {
    let buffered = '';
    let started = false;
    socket.setEncoding('utf8');
    const timer = setTimeout(() => fail('REQUEST_TIMEOUT', `send one JSON request line within ${requestTimeoutMs / 1000} s`), requestTimeoutMs);
    const controller = new AbortController();
    socket.on('close', () => controller.abort());
    socket.on('error', () => controller.abort());
    function fail(code: string, detail: string) {
      clearTimeout(timer);
      socket.end(JSON.stringify({ type: 'error', code, detail }) + '\n');
    }
    socket.on('data', (chunk: string) => {
      if (started) return;
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl === -1) {
        if (buffered.length > MAX_REQUEST_BYTES) fail('REQUEST_TOO_LARGE', `the request line exceeds ${MAX_REQUEST_BYTES} bytes`);
        return;
      }
      started = true;
      clearTimeout(timer);
      let query;
      try {
        const raw = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        // Same parameters as the HTTP query string, so values are taken as text.
        const asQuery = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
        query = ReplayQuery.parse(asQuery);
      } catch (err) {
        if (err instanceof ZodError) {
          const i = err.issues[0];
          return fail('INVALID_PARAMETER', `${i.path.join('.')}: ${i.message}`);
        }
        return fail('INVALID_JSON', 'the request line is not a JSON object');
      }
      metrics.activeStreams.inc({ transport: 'tcp' });
      reads.run(controller, (signal) => streamReplay(store, query, socket, signal, (frames, bytes) => {
        metrics.replayFrames.inc({ transport: 'tcp' }, frames);
        metrics.replayBytes.inc({ transport: 'tcp' }, bytes);
      }))
        .then((counts) => {
          if (counts.failure !== undefined) log.error({ err: counts.failure, frames: counts.frames }, 'tcp replay failed');
          socket.end();
        })
        .catch((err: unknown) => {
          log.error({ err: (err as Error).message }, 'tcp replay failed');
          socket.destroy();
        })
        .finally(() => metrics.activeStreams.dec({ transport: 'tcp' }));
    });
  });
}
