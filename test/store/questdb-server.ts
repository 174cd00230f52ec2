/**
 * The real QuestDB the suites run against (test/questdb.ts says where):
 * booktape's tables emptied for a test, and a proxy to take the server away
 * without stopping it (other suites share it).
 */
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { QuestDbStore, execEndpoint } from '../../src/store/questdb/store.js';
import type { QuestDbLimits } from '../../src/store/questdb/connection.js';
import type { StoreLog } from '../../src/store/port.js';
import { qdbConf } from '../questdb.js';

export const TABLES = ['book_snapshots', 'trades', 'ingest_runs', 'mbo_events', 'order_checkpoints'];

/** An initialised store on emptied tables. Emptied, not dropped: see the DDL test in questdb.test.ts. */
export async function freshQuestDb(limits: Partial<QuestDbLimits> = {}, log?: StoreLog): Promise<QuestDbStore> {
  const store = new QuestDbStore(qdbConf!, limits, log);
  await store.init();
  for (const t of TABLES) await store.exec(`TRUNCATE TABLE ${t}`);
  return store;
}

/**
 * A TCP proxy in front of the real server, to take it away without stopping
 * it (other suites share it): `refuse()` drops every connection and refuses
 * new ones, as a restarting server does; `hold()` accepts and never answers,
 * as a stopped (SIGSTOP) one does; `restore()` forwards again.
 */
export async function proxyTo(target: string = execEndpoint(qdbConf!).base) {
  const { hostname, port: targetPort } = new URL(target);
  const live = new Set<Socket>();
  let mode: 'forward' | 'hold' = 'forward';
  const server = createTcpServer((client) => {
    live.add(client);
    client.on('close', () => live.delete(client));
    client.on('error', () => undefined);
    if (mode === 'hold') return;
    const upstream = connect(Number(targetPort), hostname);
    live.add(upstream);
    upstream.on('close', () => { live.delete(upstream); client.destroy(); });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const drop = () => { for (const s of live) s.destroy(); };
  return {
    // The server's own configuration (credentials included), addressed to the proxy.
    conf: `${qdbConf!.replace(/addr=[^;]*;/, `addr=127.0.0.1:${port};`)}`,
    /** The proxy as host:port (for BOOKTAPE_QDB_PG_ADDR, when it fronts the PostgreSQL wire). */
    addr: `127.0.0.1:${port}`,
    async refuse() { drop(); await new Promise((r) => server.close(r)); },
    hold() { drop(); mode = 'hold'; },
    async restore() {
      drop();
      mode = 'forward';
      if (!server.listening) await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    async close() { drop(); if (server.listening) await new Promise((r) => server.close(r)); },
  };
}

