import type { Server as HttpServer } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SnapshotStore } from '../store/port.js';
import { createReplayServer } from '../stream/tcp.js';
import { ActiveReads } from '../stream/active-reads.js';
import { createApp } from './app.js';
import type { IngestJobs } from './jobs.js';
import type { Metrics } from './metrics.js';

export interface RunningServer {
  http: HttpServer;
  tcp: TcpServer;
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
  config: Pick<Config, 'port' | 'tcpPort' | 'writeToken' | 'readToken' | 'url'>;
  store: SnapshotStore;
  /** null: no Redis; the read side works and job routes answer 503. */
  jobs: IngestJobs | null;
  metrics: Metrics;
  log: Logger;
}

/** Starts the HTTP API (config.port) and the TCP replay port (config.tcpPort) over one store. */
export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { config, store, jobs, metrics, log } = deps;
  const reads = new ActiveReads();
  const app = createApp({ config, store, jobs, metrics, log, reads });
  const http = await new Promise<HttpServer>((resolve, reject) => {
    const s = app.listen(config.port, () => resolve(s));
    s.on('error', reject);
  });
  const tcp = createReplayServer(store, metrics, log, reads);
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(config.tcpPort, () => resolve());
  });
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
      http.closeAllConnections();
      await closed;
    },
  };
}
