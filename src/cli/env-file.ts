import { statSync } from 'node:fs';
import { UsageError } from './errors.js';

/**
 * Reads `.env` in the working directory into process.env, as compose reads
 * the one beside docker-compose.yml, so one file configures both. Variables
 * already in the environment win (Node's loader does not overwrite them),
 * and no file is no error. Runs before any command reads its configuration.
 */
export function loadEnvFile(path = '.env'): void {
  const fail = (why: string) =>
    new UsageError('BAD_ENV_FILE', `cannot read ${path} (${why}): fix or remove it, or set the variables in the environment`);
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw fail(code ?? String(err));
  }
  if (!isFile) throw fail('not a file');
  try {
    process.loadEnvFile(path);
  } catch (err) {
    throw fail((err as NodeJS.ErrnoException).code ?? String(err));
  }
}
