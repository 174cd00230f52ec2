import type { Logger } from 'pino';

/**
 * SIGTERM/SIGINT for a long-running command: the first aborts `signal`
 * (the command then stops in order); a second one exits at once.
 */
export function stopSignals(log: Logger): { signal: AbortSignal; stopped: Promise<string> } {
  const controller = new AbortController();
  const stopped = new Promise<string>((resolve) => {
    const on = (name: string) => {
      if (controller.signal.aborted) {
        log.warn({ signal: name }, 'second signal: exiting now');
        process.exit(130);
      }
      log.info({ signal: name }, 'shutting down');
      controller.abort();
      resolve(name);
    };
    process.on('SIGTERM', () => on('SIGTERM'));
    process.on('SIGINT', () => on('SIGINT'));
  });
  return { signal: controller.signal, stopped };
}

/**
 * Runs a command's shutdown, bounded by `ms` (BOOKTAPE_SHUTDOWN_MS): past
 * it, or when handles are left open after it, the process exits anyway, so
 * a stuck Redis or store never keeps a stopped command alive.
 */
export async function shutdownWithin(ms: number, log: Logger, close: () => Promise<void>): Promise<void> {
  const deadline = setTimeout(() => {
    log.error({ shutdown_ms: ms }, 'shutdown did not finish within BOOKTAPE_SHUTDOWN_MS; exiting');
    process.exit(1);
  }, ms);
  try {
    await close();
  } finally {
    clearTimeout(deadline);
  }
  // Connections that still retry (a Redis that went away) would keep the loop alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 1_000).unref();
}
