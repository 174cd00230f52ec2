import { isDbnError } from '../dbn/errors.js';

/** An error the user caused and can fix; printed without a stack. */
export class UsageError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** Prints an error the way a user should see it and returns the exit code. */
export function reportCliError(err: unknown): number {
  if (isDbnError(err)) {
    process.stderr.write(`booktape: error [${err.code}]: ${err.message}\n`);
    return 2;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`booktape: error [${err.code}]: ${err.message}\n`);
    return 2;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code === 'ENOENT') {
    process.stderr.write(`booktape: error [NOT_FOUND]: no such file: ${e.path ?? ''}\n`);
    return 2;
  }
  const code = e && typeof e === 'object' && typeof e.code === 'string' ? e.code : 'INTERNAL';
  process.stderr.write(`booktape: error [${code}]: ${e instanceof Error ? e.message : String(err)}\n`);
  return 1;
}
