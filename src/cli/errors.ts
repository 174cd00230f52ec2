import { BooktapeError, toBooktapeError } from '../errors.js';

/** An error the user caused and can fix; printed without a stack. */
export class UsageError extends BooktapeError {
  constructor(code: string, message: string) {
    super(code, 'invalid', message);
  }
}

/**
 * Prints an error the way a user should see it (one line, a code, no stack)
 * and returns the exit code its kind gives (FAILURE_KINDS): 2 for input and
 * configuration problems the user can fix, 3 for a service that did not
 * answer, 1 for anything unexpected.
 */
export function reportCliError(err: unknown): number {
  const e = toBooktapeError(err);
  process.stderr.write(`booktape: error [${e.code}]: ${e.message}\n`);
  return e.traits.exitCode;
}
