import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import type { SnapshotStore } from '../../src/store/port.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { snapshotPolicy } from '../../src/pipeline/options.js';
import { startServices, type RunningServices } from '../../src/cli/services.js';
import { CLX5 } from '../helpers.js';

export const WRITE_TOKEN = 'test-write-token-0123456789';
export const READ_TOKEN = 'test-read-token-9876543210';

/**
 * The sample file as if another instrument or venue had sent it: the symbol
 * and instrument id renamed in the metadata (same lengths), and every
 * record's instrument and publisher ids rewritten. Same book, other keys.
 */
export function variantOfClx5(v: { symbol: string; instrumentId: number; publisherId: number }): Buffer {
  const bytes = Buffer.from(readFileSync(CLX5));
  const metaEnd = 8 + bytes.readUInt32LE(4);
  const replace = (from: string, to: string) => {
    if (from.length !== to.length) throw new Error('a variant keeps the lengths of names');
    for (let at = bytes.indexOf(from, 8); at !== -1 && at < metaEnd; at = bytes.indexOf(from, at + 1)) bytes.write(to, at, 'latin1');
  };
  replace('CLX5', v.symbol);
  replace('432669', String(v.instrumentId));
  for (let o = metaEnd; o < bytes.length; o += bytes[o] * 4) {
    bytes.writeUInt16LE(v.publisherId, o + 2);
    bytes.writeUInt32LE(v.instrumentId, o + 4);
  }
  return bytes;
}

export interface Served {
  server: RunningServices;
  store: SnapshotStore;
  base: string;
  dir: string;
  /** What the server logged at warn level and above, one JSON line each. */
  logged: string[];
  close(): Promise<void>;
}

/**
 * A real server (HTTP and TCP on free ports) on an embedded store holding
 * the given DBN files, with write and read tokens set and a queue prefix of
 * its own on the shared Redis.
 */
export async function serve(files: Record<string, Buffer | string>, env: Record<string, string> = {}): Promise<Served> {
  return serveOn((dir) => new DuckDbStore(join(dir, 'store.duckdb')), files, env);
}

/** As serve(), on the store `open` makes (given the server's own directory); the server closes it. */
export async function serveOn(open: (dir: string) => SnapshotStore, files: Record<string, Buffer | string>, env: Record<string, string> = {}): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-served-'));
  const config = loadConfig({
    PORT: '0', BOOKTAPE_TCP_PORT: '0', BOOKTAPE_DUCKDB_PATH: join(dir, 'store.duckdb'), BOOKTAPE_DATA_ROOTS: dir,
    BOOKTAPE_QUEUE_PREFIX: `bt-served-${randomBytes(6).toString('hex')}`, BOOKTAPE_WRITE_TOKEN: WRITE_TOKEN,
    BOOKTAPE_READ_TOKEN: READ_TOKEN, LOG_LEVEL: 'silent', ...env,
  });
  const store = open(dir);
  await store.init();
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? readFileSync(content) : content);
    await ingest(path, {
      store, snapshotPolicy: snapshotPolicy(config),
      sourcePolicy: { dataRoots: [dir], allowHosts: [], maxBytes: 1e12, timeoutMs: 5000, maxRedirects: 0 },
    });
  }
  const logged: string[] = [];
  const server = await startServices(config, store, pino({ level: 'warn' }, { write: (line: string) => { logged.push(line); } }));
  return {
    server, store, dir, logged, base: `http://127.0.0.1:${server.httpPort}`,
    async close() {
      await server.close();
      await store.close();
    },
  };
}
