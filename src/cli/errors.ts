import { CommanderError } from 'commander';
import { BooktapeError, FAILURE_KINDS, toBooktapeError } from '../errors.js';

/** An error the user caused and can fix; printed without a stack. */
export class UsageError extends BooktapeError {
  constructor(code: string, message: string) {
    super(code, 'invalid', message);
  }
}

/**
 * Commander's parse failures (an unknown option, a bad value, a missing
 * argument) as a usage error, or null for its way of ending after --help and
 * --version, and after printing the help when no command was given.
 * Commander puts its suggestion on a line of its own ("unknown option
 * '--depht'\n(Did you mean --depth?)"); the error is one line, so the
 * suggestion joins it.
 */
function fromCommander(err: CommanderError): UsageError | null {
  if (err.exitCode === 0 || err.code === 'commander.help') return null;
  const message = err.message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*\(Did you mean (.+?)\)\s*$/, ': did you mean $1')
    .replace(/\s*\n\s*/g, ' ');
  return new UsageError('USAGE', `${message} (booktape --help lists commands, booktape <command> --help their options)`);
}

/**
 * Prints an error the way a user should see it (one line, a code, no stack)
 * and returns the exit code its kind gives (FAILURE_KINDS): 2 for input and
 * configuration problems the user can fix, 3 for a service that did not
 * answer, 1 for anything unexpected.
 */
export function reportCliError(err: unknown): number {
  if (err instanceof CommanderError) {
    const usage = fromCommander(err);
    // Help was printed (to stdout for --help, to stderr when no command was given).
    if (usage === null) return err.exitCode === 0 ? 0 : FAILURE_KINDS.invalid.exitCode;
    err = usage;
  }
  const e = toBooktapeError(err);
  process.stderr.write(`booktape: error [${e.code}]: ${e.message}\n`);
  return e.traits.exitCode;
}
