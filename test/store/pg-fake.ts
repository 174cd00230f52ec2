import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A PostgreSQL-wire server of the test's own, for what a real QuestDB cannot
 * be made to do on demand: answer slowly, count connections, refuse a
 * password. It takes any startup, asks for a cleartext password (as QuestDB
 * does), and answers every query with no rows after `delayMs`.
 */
export interface FakePg {
  port: number;
  /** Connections open now, the most at once, and in all. */
  stats: { open: number; most: number; total: number; queries: number };
  close(): Promise<void>;
}

const msg = (type: string, body: Buffer = Buffer.alloc(0)) => {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
};
const int32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const READY = msg('Z', Buffer.from('I'));

export async function fakePg(opts: { delayMs?: number; password?: string } = {}): Promise<FakePg> {
  const stats = { open: 0, most: 0, total: 0, queries: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    stats.open++;
    stats.total++;
    stats.most = Math.max(stats.most, stats.open);
    sock.on('close', () => { stats.open--; sockets.delete(sock); });
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!started) {
        if (buf.length < 4 || buf.length < buf.readInt32BE(0)) return;
        buf = buf.subarray(buf.readInt32BE(0));
        started = true;
        sock.write(msg('R', int32(3))); // cleartext password, please
      }
      while (buf.length >= 5 && buf.length >= buf.readInt32BE(1) + 1) {
        const type = String.fromCharCode(buf[0]);
        const body = buf.subarray(5, buf.readInt32BE(1) + 1);
        buf = buf.subarray(buf.readInt32BE(1) + 1);
        if (type === 'p') {
          const given = body.toString('utf8', 0, body.length - 1);
          if (opts.password !== undefined && given !== opts.password) {
            sock.end(msg('E', Buffer.from('SFATAL\0C28P01\0Minvalid username/password\0\0')));
          } else sock.write(Buffer.concat([msg('R', int32(0)), READY]));
        } else if (type === 'S') {
          stats.queries++;
          setTimeout(() => { if (!sock.destroyed) sock.write(Buffer.concat([msg('1'), msg('2'), msg('C', Buffer.from('SELECT 0\0')), READY])); }, opts.delayMs ?? 0);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    stats,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
