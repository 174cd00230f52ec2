import { pino, type Logger } from 'pino';
import { toBooktapeError } from './errors.js';

/** Structured logs, one JSON event per line, on stderr (stdout carries command output). */
export function createLogger(level: string, name = 'booktape'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/**
 * Logs a failure at its kind's level (FAILURE_KINDS): an outage or a
 * client's fault is one line with its code and message; only a defect is
 * an error, with its stack.
 */
export function logFailure(log: Logger, msg: string, err: unknown, fields: Record<string, unknown> = {}): void {
  const e = toBooktapeError(err);
  if (e.kind === 'internal') log.error({ ...fields, err: e.message, stack: (err as Error | null)?.stack }, msg);
  else log[e.traits.logLevel]({ ...fields, code: e.code, err: e.message }, msg);
}
