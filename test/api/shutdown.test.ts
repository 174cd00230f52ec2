import { copyFileSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startServices as startServer } from '../../src/cli/services.js';
import { loadConfig } from '../../src/config.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { CLX5 } from '../helpers.js';

/** Reads lines from a replay until `enough` have arrived; the rest arrive in `lines` as they come. */
function lineReader() {
  const lines: string[] = [];
  let partial = '';
  return {
    lines,
    push(text: string) {
      partial += text;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('serve shuts down cleanly under replays in flight', () => {
  it('close() stops HTTP and TCP replays (their streams end without the end marker), then the store closes with no failed reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-shutdown-'));
    copyFileSync(CLX5, join(dir, 'clx5.dbn'));
    const config = loadConfig({
      PORT: '0', BOOKTAPE_TCP_PORT: '0', BOOKTAPE_DUCKDB_PATH: join(dir, 's.duckdb'), BOOKTAPE_DATA_ROOTS: dir,
      REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent', // reads only
    });
    const store = new DuckDbStore(config.duckdbPath);
    await store.init();
    await ingest(join(dir, 'clx5.dbn'), {
      store, snapshotPolicy: { depth: 10, intervalNs: 0 },
      sourcePolicy: { dataRoots: [dir], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 0 },
    });
    const errors: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({
      write(line, _enc, done) {
        if (JSON.parse(String(line)).level >= 50) errors.push(String(line));
        done();
      },
    }));
    const server = await startServer(config, store, log);

    // A paced replay over each transport: 32k frames at 500/s would run for a minute.
    const http = lineReader();
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/v1/replay?symbols=CLX5&rate=500`);
    const body = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) http.push(decoder.decode(chunk, { stream: true }));
    })();
    const tcp = lineReader();
    const socket = connect(server.tcpPort, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.on('data', (t: string) => tcp.push(t));
    const tcpEnded = new Promise<boolean>((resolve) => {
      socket.on('end', () => resolve(true));
      socket.on('error', () => resolve(false));
    });
    socket.write('{"symbols":"CLX5","rate":500}\n');
    await until(() => http.lines.length > 10 && tcp.lines.length > 10, 'both replays to stream');

    const t0 = performance.now();
    await server.close();
    await store.close(); // no read is left in flight to fail
    expect(performance.now() - t0).toBeLessThan(10_000);

    await body; // the HTTP response ended properly: no "terminated" error
    expect(await tcpEnded).toBe(true);
    for (const lines of [http.lines, tcp.lines]) {
      const parsed = lines.map((l) => JSON.parse(l) as { type: string });
      expect(parsed[0].type).toBe('header');
      expect(parsed.length).toBeLessThan(32_053);
      // Cut: every line after the header is a snapshot, and there is no end marker.
      expect(parsed.slice(1).every((f) => f.type === 'snapshot')).toBe(true);
    }
    expect(errors).toEqual([]);
  }, 60_000);
});
