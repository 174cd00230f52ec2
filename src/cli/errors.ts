/** An error the user caused and can fix; printed without a stack. */
export class UsageError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * Prints an error the way a user should see it (one line, a code, no stack)
 * and returns the exit code: 2 for input and configuration problems the user
 * can fix, 1 for anything unexpected.
 */
export function reportCliError(err: unknown): number {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code === 'ENOENT') {
    process.stderr.write(`booktape: error [NOT_FOUND]: no such file: ${e.path ?? ''}\n`);
    return 2;
  }
  if (err instanceof Error && typeof e.code === 'string' && /^[A-Z][A-Z_]+$/.test(e.code)) {
    // booktape's typed errors: DbnError, SourceError, StoreError, IngestError, ConfigError, UsageError.
    process.stderr.write(`booktape: error [${e.code}]: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`booktape: error [INTERNAL]: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
