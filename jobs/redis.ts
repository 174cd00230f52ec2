/**
 * Redis reachability for the job side: a bounded ping, a wait with a
 * bounded backoff, and the one log line per change of state (not one per
 * reconnection attempt) that operators read.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BooktapeError } from '../src/errors.js';

/** Longest pause between reconnection attempts, for every booktape Redis client. */
export const REDIS_MAX_BACKOFF_MS = 5_000;

/** ioredis's retryStrategy: 250 ms, doubling, at most REDIS_MAX_BACKOFF_MS; never gives up. */
export function redisBackoff(attempt: number): number {
  return Math.min(250 * 2 ** Math.min(attempt - 1, 10), REDIS_MAX_BACKOFF_MS);
}

/** Jobs need Redis and it did not answer in time: 'unavailable' (a 503 for the API, retryable). */
export function jobsUnavailable(message: string): BooktapeError {
  return new BooktapeError('JOBS_UNAVAILABLE', 'unavailable', message);
}

/** Redis answers PING within `timeoutMs` (connection included). Never throws. */
export async function redisAnswers(url: string, timeoutMs = 1_500): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined); // the answer is the boolean; ioredis would print it otherwise
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** `url` without its password, for logs and messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/**
 * Waits until Redis answers, pinging with redisBackoff between attempts.
 * Logs once when it does not answer and once when it does, not per attempt.
 * Resolves false when `signal` aborts first (a shutdown), true otherwise.
 */
export async function waitForRedis(url: string, log: Logger, signal: AbortSignal): Promise<boolean> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    if (await redisAnswers(url)) {
      if (attempt > 1) log.info({ redis: redactedUrl(url), attempts: attempt }, 'redis answers');
      return true;
    }
    if (attempt === 1) {
      log.warn({ redis: redactedUrl(url), retry_max_ms: REDIS_MAX_BACKOFF_MS }, 'redis does not answer; retrying with backoff');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, redisBackoff(attempt));
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }
  return false;
}

/**
 * Turns a client's stream of connection errors (one per reconnection
 * attempt) into one log line when Redis is lost and one when it is back.
 */
export class RedisStateLog {
  private down = false;

  constructor(private readonly log: Logger, private readonly what: string) {}

  /** A connection error: logged only if Redis was up until now. */
  lost(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.log.warn({ component: this.what, err: err.message, retry_max_ms: REDIS_MAX_BACKOFF_MS }, 'redis connection lost; reconnecting with backoff');
  }

  /** The client is ready again: logged only after a loss. */
  back(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info({ component: this.what }, 'redis connection restored');
  }

  get isDown(): boolean {
    return this.down;
  }
}

/** Errors that mean "no connection to Redis" rather than a failed command. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'].includes(code)
    || /Connection is closed|connect ETIMEDOUT|Stream isn't writeable|enableOfflineQueue|Reached the max retries/i.test(message);
}

/** `work`, or JOBS_UNAVAILABLE once `ms` pass without an answer. */
export async function withinMs<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(jobsUnavailable(`${what}: Redis did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
