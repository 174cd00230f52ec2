import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Served } from './served.js';

/**
 * A server that closes an idle keep-alive connection races the client that
 * has just picked it for its next request: the request meets a closing
 * socket and fails with ECONNRESET. Clients (undici ~4 s) and proxies (60 s)
 * reuse idle connections for a while, so the server must keep them longer.
 * (test/api/api.test.ts flaked this way under load: its test process, which
 * also runs the server, was busy comparing frames for more than 5 s, then
 * both the server's and undici's idle timers were due at once.)
 */
let s: Served;
beforeAll(async () => { s = await serve({}); }, 60_000);
afterAll(async () => { await s?.close(); });

describe('keep-alive', () => {
  it('an idle keep-alive connection is still open after 6 s (longer than a client may wait to reuse it)', async () => {
    const socket = connect(s.server.httpPort, '127.0.0.1');
    let data = '';
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { data += d; });
    socket.on('close', () => { closed = true; });
    const get = `GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n`;
    const responses = async (n: number) => {
      for (let i = 0; i < 200 && (data.match(/HTTP\/1\.1 200/g) ?? []).length < n; i++) await new Promise((r) => setTimeout(r, 25));
      return (data.match(/HTTP\/1\.1 200/g) ?? []).length;
    };
    socket.write(get);
    expect(await responses(1)).toBe(1);
    await new Promise((r) => setTimeout(r, 6_000));
    expect(closed).toBe(false);
    socket.write(get);
    expect(await responses(2)).toBe(2);
    socket.destroy();
  }, 20_000);
});
