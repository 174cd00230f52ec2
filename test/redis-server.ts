import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Whether a redis-server binary is installed, for the tests that run their own (else they skip, saying so). */
export function redisServerInstalled(): boolean {
  const ok = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!ok) console.warn('skipped: tests that stop and restart a Redis of their own (no redis-server binary on PATH)');
  return ok;
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A redis-server of the test's own, on a free port, that the test may stop,
 * kill, freeze (SIGSTOP: connections stay open, nothing answers) and start
 * again on the same port. The machine's shared Redis is never touched.
 */
export class OwnRedis {
  private child: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'booktape-redis-'));

  private constructor(readonly port: number, private readonly persist: boolean) {}

  /** `persist`: an append-only file synced on every write, so a restart (even after SIGKILL) keeps the queue. */
  static async start(port?: number, opts: { persist?: boolean } = {}): Promise<OwnRedis> {
    const r = new OwnRedis(port ?? (await freePort()), opts.persist ?? false);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again): without persistence (unless asked), a restart is also a Redis that lost its data. */
  async start(): Promise<void> {
    const persistence = this.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', this.dir], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await this.answers()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async answers(): Promise<boolean> {
    const c = new Redis(this.url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  }

  /** SIGKILL: the port refuses connections until start(). */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT'); // a frozen server must be able to die
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  /** SIGSTOP: connections stay open and nothing answers, as a hung server or a dead peer behind a live proxy. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }
}
