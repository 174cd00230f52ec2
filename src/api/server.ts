import { createServer, type Server as HttpServer } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { BooktapeError } from '../errors.js';
import type { SnapshotStore } from '../store/port.js';
import { createReplayServer, type ReplayServer } from '../stream/tcp.js';
import { ActiveReads } from '../stream/active-reads.js';
import { StreamSlots } from '../stream/stream-slots.js';
import { InstrumentCatalog } from '../stream/symbols.js';
import { createApp } from './app.js';
import { answerClientErrors } from './client-errors.js';
import type { IngestJobs } from './jobs.js';
import type { Metrics } from './metrics.js';

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
  tcp: ReplayServer;
  httpPort: number;
  tcpPort: number;
  /**
   * Stops taking connections, then stops the replays and exports in
   * flight and waits for their reads to end (a replay ends its response
   * without the end marker, so its client can tell it was cut), then
   * closes what is left. The store can be closed after this resolves.
   */
  close(): Promise<void>;
}

export interface ServerDeps {
  config: Pick<Config, 'port' | 'tcpPort' | 'writeToken' | 'readToken' | 'url' | 'dataRoots' | 'sourceCheck' | 'maxStreams'>;
  store: SnapshotStore;
  /** null: no Redis; the read side works and job routes answer 503. */
  jobs: IngestJobs | null;
  metrics: Metrics;
  log: Logger;
}

/**
 * Binds `server` to `port`, or rejects with PORT_IN_USE (a setting the
 * operator fixes: exit 2, one line naming the port and its setting).
 */
function bind(server: HttpServer | TcpServer, port: number, setting: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new BooktapeError('PORT_IN_USE', 'invalid', `port ${port} (${setting}) is already in use: stop what listens there, or set ${setting} to another port`));
      else if (err.code === 'EACCES') reject(new BooktapeError('PORT_IN_USE', 'invalid', `port ${port} (${setting}) may not be bound by this user: use a port above 1023`));
      else reject(err);
    };
    server.once('error', failed);
    server.listen(port, () => {
      server.removeListener('error', failed);
      resolve();
    });
  });
}

const closed = (s: HttpServer | TcpServer) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()));

/**
 * Starts the HTTP API (config.port) and the TCP replay port (config.tcpPort)
 * over one store. Both ports are bound before this resolves, and a port in
 * use closes the other: nothing is served by a half-started server.
 */
export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { config, store, jobs, metrics, log } = deps;
  const reads = new ActiveReads();
  const slots = new StreamSlots(config.maxStreams);
  const catalog = new InstrumentCatalog(store);
  const app = createApp({ config, store, jobs, metrics, log, reads, slots, catalog });
  const http = createServer(app);
  http.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Headers of a request on a reused connection must be allowed the idle time too.
  http.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  answerClientErrors(http);
  const tcp = createReplayServer(store, metrics, log, reads, { readToken: config.readToken, slots, catalog });
  try {
    await bind(http, config.port, 'PORT');
    await bind(tcp, config.tcpPort, 'BOOKTAPE_TCP_PORT');
  } catch (err) {
    await Promise.all([closed(http), closed(tcp)]);
    throw err;
  }
  const address = (s: HttpServer | TcpServer) => {
    const a = s.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  };
  return {
    http, tcp,
    httpPort: address(http),
    tcpPort: address(tcp),
    async close() {
      tcp.close();
      const closed = new Promise((r) => http.close(r));
      await reads.stop();
      tcp.dropConnections();
      http.closeAllConnections();
      await closed;
    },
  };
}
