import { pino, type Logger } from 'pino';

/** Structured logs, one JSON event per line, on stderr (stdout carries command output). */
export function createLogger(level: string, name = 'booktape'): Logger {
  return pino({ name, level }, pino.destination(2));
}
