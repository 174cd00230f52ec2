import { CommanderError } from 'commander';

/** An error the user caused and can fix; printed without a stack. */
export class UsageError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** Exit codes: 0 done, 1 an unexpected failure, 2 a usage, input or configuration problem the user can fix. */
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 1;

function line(code: string, message: string): void {
  process.stderr.write(`booktape: error [${code}]: ${message}\n`);
}

/**
 * Prints an error the way a user should see it (one line, a code, no stack)
 * and returns the exit code: 2 for input and configuration problems the user
 * can fix, 1 for anything unexpected.
 */
export function reportCliError(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end parsing with exit code 0; help already printed.
    if (err.exitCode === 0) return 0;
    // `booktape` with no command printed the help itself: that is the answer.
    if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') return EXIT_USAGE;
    line('USAGE', `${err.message.replace(/^error: /, '')} (booktape --help lists commands, booktape <command> --help their options)`);
    return EXIT_USAGE;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code === 'ENOENT') {
    line('NOT_FOUND', `no such file or directory: ${e.path ?? ''}`);
    return EXIT_USAGE;
  }
  if (e && typeof e === 'object' && e.code === 'EISDIR') {
    line('IS_A_DIRECTORY', `${e.path ?? 'the path given'} is a directory: give a file`);
    return EXIT_USAGE;
  }
  if (e && typeof e === 'object' && (e.code === 'EACCES' || e.code === 'EPERM')) {
    line('PERMISSION_DENIED', `permission denied: ${e.path ?? ''}`);
    return EXIT_USAGE;
  }
  if (err instanceof Error && typeof e.code === 'string' && /^[A-Z][A-Z_]+$/.test(e.code) && !e.syscall) {
    // booktape's typed errors: DbnError, SourceError, StoreError, IngestError, ConfigError, UsageError.
    // (Node's system errors also have ALL_CAPS codes, but a syscall: they are not ours.)
    line(e.code, err.message);
    return EXIT_USAGE;
  }
  line('INTERNAL', err instanceof Error ? err.message : String(err));
  return EXIT_INTERNAL;
}
