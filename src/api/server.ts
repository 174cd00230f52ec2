import type { Server as HttpServer } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SnapshotStore } from '../store/port.js';
import { ingestQueue } from '../../jobs/queue.js';
import { startWorker, type RunningWorker } from '../../jobs/worker.js';
import { createReplayServer } from '../stream/tcp.js';
import { ActiveReads } from '../stream/active-reads.js';
import { InstrumentCatalog } from '../stream/symbols.js';
import { createApp } from './app.js';
import { createMetrics } from './metrics.js';

/**
 * How long an idle keep-alive connection stays open. Longer than clients and
 * proxies keep idle connections for reuse (undici ~4 s, load balancers
 * 60 s): a server that closes first races a client that has just picked the
 * connection for its next request, which then fails with ECONNRESET. Node's
 * default is 5 s.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface RunningServer {
  http: HttpServer;
  tcp: TcpServer;
  httpPort: number;
  tcpPort: number;
  worker: RunningWorker | null;
  close(): Promise<void>;
}

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * Starts the HTTP API and the TCP replay port. Without Redis the read side
 * still works and job routes answer 503. With the embedded DuckDB store the
 * ingest worker runs inside this process (DuckDB allows one process per file);
 * with QuestDB run `booktape worker` processes instead.
 */
export async function startServer(config: Config, store: SnapshotStore, log: Logger): Promise<RunningServer> {
  const hasRedis = await redisAnswers(config.redisUrl);
  if (!hasRedis) log.warn({ redis: config.redisUrl }, 'no Redis: serving reads only; ingest jobs and Bull Board are unavailable');
  const queue = hasRedis ? ingestQueue(config) : null;
  const metrics = createMetrics(queue, store);
  const worker = hasRedis && store.kind === 'duckdb' ? await startWorker(config, store, log, metrics.ingest) : null;
  const reads = new ActiveReads();
  const catalog = new InstrumentCatalog(store);
  const app = createApp({ config, store, queue, metrics, log, reads, catalog });
  const http = await new Promise<HttpServer>((resolve, reject) => {
    const s = app.listen(config.port, () => resolve(s));
    s.on('error', reject);
  });
  http.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Headers of a request on a reused connection must be allowed the idle time too.
  http.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  const tcp = createReplayServer(store, metrics, log, reads, undefined, catalog);
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(config.tcpPort, () => resolve());
  });
  const address = (s: HttpServer | TcpServer) => {
    const a = s.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  };
  return {
    http, tcp, worker,
    httpPort: address(http),
    tcpPort: address(tcp),
    /**
     * Stops taking connections, then stops the replays and exports in
     * flight and waits for their reads to end (a replay ends its response
     * without the end marker, so its client can tell it was cut), then
     * closes what is left. The store can be closed after this resolves.
     */
    async close() {
      tcp.close();
      const closed = new Promise((r) => http.close(r));
      await reads.stop();
      http.closeAllConnections();
      await closed;
      await worker?.close();
      await queue?.close();
    },
  };
}
