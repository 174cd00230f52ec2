import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CLI } from '../helpers.js';

/** A `booktape serve` process and the base URL it printed. */
export interface Served {
  url: string;
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts `booktape serve` on free ports over the DuckDB file at `duckdbPath`; resolves when it prints its URLs. */
export async function serve(duckdbPath: string, env: Record<string, string> = {}): Promise<Served> {
  const child = spawn('node', [CLI, 'serve'], {
    env: {
      ...process.env, BOOKTAPE_DUCKDB_PATH: duckdbPath, PORT: '0', BOOKTAPE_TCP_PORT: '0', LOG_LEVEL: 'silent',
      BOOKTAPE_QUEUE_PREFIX: `bt-web-${randomBytes(6).toString('hex')}`, ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /books\s+(http:\/\/localhost:\d+)\/v1\/instruments/.exec(stderr);
      if (m) resolve(m[1].replace('localhost', '127.0.0.1'));
    });
    child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
  });
  return {
    url, child, exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
