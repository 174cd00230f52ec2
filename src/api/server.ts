import { createServer, type Server as HttpServer } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SnapshotStore } from '../store/port.js';
import { IngestJobs } from '../../jobs/producer.js';
import { redactedUrl, waitForRedis } from '../../jobs/redis.js';
import { startWorker, type RunningWorker } from '../../jobs/worker.js';
import { createReplayServer } from '../stream/tcp.js';
import { ActiveReads } from '../stream/active-reads.js';
import { createApp } from './app.js';
import { createMetrics } from './metrics.js';

export interface RunningServer {
  http: HttpServer;
  tcp: TcpServer;
  httpPort: number;
  tcpPort: number;
  /** The in-process ingest worker (embedded store), once Redis has answered. */
  worker(): RunningWorker | null;
  close(): Promise<void>;
}

/** A port that could not be bound: the server does not start (exit 2, one line naming it). */
export class PortInUseError extends Error {
  readonly code = 'PORT_IN_USE';
}

/** Binds `server` to `port`, or rejects with PortInUseError (or the bind's own error). */
function bind(server: HttpServer | TcpServer, port: number, setting: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new PortInUseError(`port ${port} (${setting}) is already in use: stop what listens there, or set ${setting} to another port`));
      else if (err.code === 'EACCES') reject(new PortInUseError(`port ${port} (${setting}) may not be bound by this user: use a port above 1023`));
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
 * Starts the HTTP API and the TCP replay port. Both ports are bound before
 * anything else starts: a port in use stops the start with nothing served.
 * Without Redis the read side works and job routes answer 503 at once;
 * they recover when Redis does. With the embedded DuckDB store the ingest
 * worker runs inside this process (DuckDB allows one process per file),
 * started once Redis answers; with QuestDB run `booktape worker` processes.
 */
export async function startServer(config: Config, store: SnapshotStore, log: Logger): Promise<RunningServer> {
  const jobs = new IngestJobs(config);
  const metrics = createMetrics(jobs.queue, store);
  const reads = new ActiveReads();
  const app = createApp({ config, store, jobs, metrics, log, reads });
  const http = createServer(app);
  const tcp = createReplayServer(store, metrics, log, reads);
  try {
    await bind(http, config.port, 'PORT');
    await bind(tcp, config.tcpPort, 'BOOKTAPE_TCP_PORT');
  } catch (err) {
    await Promise.all([closed(http), closed(tcp), jobs.close()]);
    throw err;
  }

  const stopping = new AbortController();
  let worker: RunningWorker | null = null;
  const workerStarted = store.kind !== 'duckdb'
    ? Promise.resolve()
    : waitForRedis(config.redisUrl, log, stopping.signal).then(async (up) => {
      if (!up) return;
      worker = await startWorker(config, store, log, metrics.ingest);
      log.info({ redis: redactedUrl(config.redisUrl) }, 'ingest worker running in this process');
    }).catch((err: unknown) => log.error({ err: (err as Error).message }, 'the in-process ingest worker did not start'));

  const address = (s: HttpServer | TcpServer) => {
    const a = s.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  };
  return {
    http, tcp,
    worker: () => worker,
    httpPort: address(http),
    tcpPort: address(tcp),
    /**
     * Stops taking connections, then stops the replays and exports in
     * flight and waits for their reads to end (a replay ends its response
     * without the end marker, so its client can tell it was cut), then
     * closes what is left. The store can be closed after this resolves.
     */
    async close() {
      stopping.abort();
      tcp.close();
      const httpClosed = new Promise((r) => http.close(r));
      await reads.stop();
      http.closeAllConnections();
      await httpClosed;
      await workerStarted;
      await (worker as RunningWorker | null)?.close();
      await jobs.close();
    },
  };
}
