import { UsageError } from './errors.js';

/**
 * Reads `.env` in the working directory into process.env, as compose reads
 * the one beside docker-compose.yml, so one file configures both. Variables
 * already in the environment win (Node's loader does not overwrite them),
 * and no file is no error. Runs before any command reads its configuration.
 */
export function loadEnvFile(path = '.env'): void {
  try {
    process.loadEnvFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new UsageError('BAD_ENV_FILE', `cannot read ${path} (${code ?? (err as Error).message}): fix or remove it, or set the variables in the environment`);
  }
}
